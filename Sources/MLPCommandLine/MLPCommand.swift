import ArgumentParser

/// `mlp`: build, train, evaluate and run Keras-style multilayer perceptrons.
public struct MLPCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "mlp",
        abstract: "Build, train, evaluate and run Keras-style multilayer perceptrons.",
        version: "0.1.0",
        subcommands: [Train.self, Evaluate.self, Predict.self, Summary.self, Check.self, Diagnose.self, Convert.self, Devices.self])

    public init() {}
}
