import ArgumentParser
import Foundation
import MLPKit

/// `mlp evaluate`: a saved model's loss and metrics on a labelled CSV file.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "evaluate", abstract: "Evaluate a saved model on a labelled CSV file.")

    @Option(help: "A model file saved by `mlp train --save` or by Keras (.h5, .keras, .json).")
    var model: String
    @Option(help: "Labelled data: a CSV file with a header row.")
    var data: String
    @OptionGroup var labels: LabelOptions
    @Option(help: "Evaluate with this loss (and its default metrics) instead of the file's; the file's training config is then not read, so a model compiled with a loss MLPKit does not know can still be evaluated.")
    var loss: String?
    @Option(parsing: .unconditional, help: "Samples per batch.")
    var batchSize: Int = 32
    @Flag(help: "Print {\"loss\": …, \"accuracy\": …} instead of text.")
    var json = false
    @OptionGroup var deviceOptions: DeviceOptions
    @Option(name: .customLong("verbose"), parsing: .unconditional, help: "0 prints only the results; 1 also says on standard error which device runs the model (and why, for auto).")
    var verbosity: Int = 0

    func validate() throws {
        try FlagCheck.count(batchSize, "--batch-size", 1...FlagCheck.maxCount)
        try FlagCheck.count(verbosity, "--verbose", 0...1)
        if let loss { _ = try Loss(keras: loss) }
    }

    func run() throws {
        try reportingErrors {
            let (backend, announcement) = try deviceOptions.backend(work: nil)
            let network = try loadModel(backend: backend)
            guard let lossKind = network.loss else {
                throw MLPError.notReady("\(model): the model was saved without a loss (not compiled), so it cannot be evaluated; give --loss NAME")
            }
            let loaded = try LabeledData(path: data, labelColumn: labels.labelColumn, labelColumns: labels.labelColumns,
                                         requireLabels: true)
            try checkFeatureCount(loaded.x, model: network, path: data)
            try loaded.checkLabels(loss: lossKind, outputUnits: network.outputUnits)
            let logs = try network.evaluate(x: loaded.x, y: loaded.y!, batchSize: batchSize)
            if verbosity > 0 { printToStandardError(announcement) }
            print(json ? jsonLogs(logs) : formatLogs(logs))
        }
    }

    /// The model compiled as its file says, or (with `--loss`) its architecture and weights compiled with
    /// that loss. A training config that cannot be read is an error that points at `--loss`.
    func loadModel(backend: any Backend) throws -> Sequential {
        if let loss {
            let network = try Sequential.load(from: model, backend: backend, compile: false)
            let lossKind = try Loss(keras: loss)
            try network.compile(optimizer: Adam(), loss: lossKind, metrics: defaultMetrics(for: lossKind))
            return network
        }
        do {
            return try Sequential.load(from: model, backend: backend)
        } catch let error as MLPError {
            // Readable without its training config: only the loss or optimizer is the problem.
            guard (try? Sequential.load(from: model, backend: CPUBackend(threadCount: 1), compile: false)) != nil else { throw error }
            throw MLPError.invalidArgument("\(error); give --loss NAME to evaluate with a loss of your choice")
        }
    }
}

/// The model's input width must match the data's feature columns.
func checkFeatureCount(_ x: Tensor, model: Sequential, path: String) throws {
    guard x.columnCount == model.inputDim else {
        throw MLPError.shapeMismatch("\(path) has \(x.columnCount) feature columns but the model expects \(model.inputDim)")
    }
}
