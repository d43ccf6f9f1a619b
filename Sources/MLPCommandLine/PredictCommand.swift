import ArgumentParser
import Foundation
import MLPKit

/// `mlp predict`: a saved model's outputs for each row of a CSV file.
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Run a saved model on a CSV file: one output row per sample, values as %.8g, no header.")

    @Option(help: "A model file saved by `mlp train --save` or by Keras (.h5, .keras, .json); its training config (loss, optimizer) is not read.")
    var model: String
    @Option(help: "Input data: a CSV file with a header row; a column named 'label' is ignored.")
    var data: String
    @Option(help: "Write the predictions to this file instead of standard output.")
    var output: String?
    @Option(parsing: .unconditional, help: "Samples per batch.")
    var batchSize: Int = 32
    @OptionGroup var deviceOptions: DeviceOptions
    @Option(name: .customLong("verbose"), parsing: .unconditional, help: "0 prints only the predictions; 1 also says on standard error which device runs the model (and why, for auto).")
    var verbosity: Int = 0

    func validate() throws {
        try FlagCheck.count(batchSize, "--batch-size", 1...FlagCheck.maxCount)
        try FlagCheck.count(verbosity, "--verbose", 0...1)
    }

    func run() throws {
        try reportingErrors {
            let (backend, announcement) = try deviceOptions.backend(work: nil)
            // Keras' load_model(compile=False): predicting needs no loss, so one MLPKit does not know is no obstacle.
            let network = try Sequential.load(from: model, backend: backend, compile: false)
            let loaded = try LabeledData(path: data, labelColumn: nil, labelColumns: nil, requireLabels: false)
            try checkFeatureCount(loaded.x, model: network, path: data)
            let predictions = try network.predict(loaded.x, batchSize: batchSize)
            if verbosity > 0 { printToStandardError(announcement) }
            var text = ""
            for row in 0..<predictions.rowCount {
                text += predictions.row(row).map { String(format: "%.8g", Double($0)) }.joined(separator: ",") + "\n"
            }
            if let output { try writeAtomically(text, to: output) } else { try StandardOutput.write(text) }
        }
    }
}
