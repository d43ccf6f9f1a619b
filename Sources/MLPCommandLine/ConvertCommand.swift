import ArgumentParser
import MLPKit

/// `mlp convert`: one model file format to another.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a model file between formats: .h5 (Keras legacy layout), .keras (Keras 3), .weights.h5, .json.")

    @Argument(help: "The model file to read (.h5, .keras, .json).")
    var input: String
    @Argument(help: "The file to write; its extension picks the format.")
    var output: String

    func run() throws {
        try reportingErrors {
            let model = try Sequential.load(from: input, backend: CPUBackend(threadCount: 1))
            try model.save(to: output)
            print("Wrote \(output) (\(model.layers.count) layers, \(model.parameterCount) parameters)")
        }
    }
}
