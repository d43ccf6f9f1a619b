import ArgumentParser
import Foundation
import MLPKit

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Evaluate a saved model on a labelled CSV file.")

    @Option(help: "A model file saved by `mlp train --save`.")
    var model: String
    @Option(help: "Labelled data: a CSV file with a header row.")
    var data: String
    @OptionGroup var labels: LabelOptions
    @Option(parsing: .unconditional, help: "Samples per batch.")
    var batchSize: Int = 32
    @Flag(help: "Print {\"loss\": …, \"accuracy\": …} instead of text.")
    var json = false
    @OptionGroup var runOptions: RunOptions

    func validate() throws {
        try FlagCheck.count(batchSize, "--batch-size", 1...FlagCheck.maxCount)
    }

    func run() throws {
        try reportingErrors {
            let (backend, announcement) = try runOptions.backend(work: nil)
            let network = try Sequential.load(from: model, backend: backend)
            guard let loss = network.loss else {
                throw MLPError.notReady("\(model): the model was saved without a loss (not compiled), so it cannot be evaluated")
            }
            let loaded = try LabeledData(path: data, labelColumn: labels.labelColumn, labelColumns: labels.labelColumns,
                                         requireLabels: true)
            try checkFeatureCount(loaded.x, model: network, path: data)
            try loaded.checkLabels(loss: loss, outputUnits: network.outputUnits)
            let logs = try network.evaluate(x: loaded.x, y: loaded.y!, batchSize: batchSize)
            printToStandardError(announcement)
            print(json ? jsonLogs(logs) : formatLogs(logs))
        }
    }
}

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a saved model on a CSV file: one output row per sample, values as %.8g, no header.")

    @Option(help: "A model file saved by `mlp train --save`.")
    var model: String
    @Option(help: "Input data: a CSV file with a header row; a column named 'label' is ignored.")
    var data: String
    @Option(help: "Write the predictions to this file instead of standard output.")
    var output: String?
    @Option(parsing: .unconditional, help: "Samples per batch.")
    var batchSize: Int = 32
    @OptionGroup var runOptions: RunOptions

    func validate() throws {
        try FlagCheck.count(batchSize, "--batch-size", 1...FlagCheck.maxCount)
    }

    func run() throws {
        try reportingErrors {
            let (backend, announcement) = try runOptions.backend(work: nil)
            let network = try Sequential.load(from: model, backend: backend)
            let loaded = try LabeledData(path: data, labelColumn: nil, labelColumns: nil, requireLabels: false)
            try checkFeatureCount(loaded.x, model: network, path: data)
            let predictions = try network.predict(loaded.x, batchSize: batchSize)
            printToStandardError(announcement)
            var text = ""
            for row in 0..<predictions.rowCount {
                text += predictions.row(row).map { String(format: "%.8g", Double($0)) }.joined(separator: ",") + "\n"
            }
            if let output { try writeAtomically(text, to: output) } else { try StandardOutput.write(text) }
        }
    }
}

/// The model's input width must match the data's feature columns.
func checkFeatureCount(_ x: Tensor, model: Sequential, path: String) throws {
    guard x.columnCount == model.inputDim else {
        throw MLPError.shapeMismatch("\(path) has \(x.columnCount) feature columns but the model expects \(model.inputDim)")
    }
}

struct Summary: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the Keras summary of a model file or of the model flags.")

    @Argument(help: "A model file saved by `mlp train --save` (instead of model flags).")
    var file: String?
    @OptionGroup var model: ModelOptions
    @Option(help: "keras2 (tf-keras text, default) | keras3 (box-drawn table).",
            transform: { text in
                guard let style = SummaryStyle(rawValue: text.lowercased()) else {
                    throw MLPError.unknownName(kind: "summary style", received: text, valid: SummaryStyle.allCases.map(\.rawValue))
                }
                return style
            })
    var style: SummaryStyle = .keras2

    /// A model from flags is sized from its shapes, never allocated: a model too large to train still gets its
    /// table (Keras users size models with summary).
    func run() throws {
        try reportingErrors {
            if let file {
                print(try Sequential.load(from: file).summary(style: style), terminator: "")
            } else {
                guard let inputDim = model.inputDim else {
                    throw MLPError.invalidArgument("summary needs --input-dim (or a model file)")
                }
                guard let output = try model.outputSpec() else {
                    throw MLPError.invalidArgument("summary needs --output UNITS:ACTIVATION (or a model file)")
                }
                print(Sequential.summary(of: try model.size(inputDim: inputDim, output: output), style: style), terminator: "")
            }
        }
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The sanity procedure: predict on a random tensor, compile, evaluate and fit on random data (then on real data, with --data), and report whether the loss went down.")

    @OptionGroup var model: ModelOptions
    @Option(help: "Real data to repeat the procedure on (a labelled CSV file); also infers --input-dim and --output.")
    var data: String?
    @OptionGroup var labels: LabelOptions
    @Option(help: "Loss name (default from the output layer).")
    var loss: String?
    @Option(parsing: .unconditional, help: "Epochs of fitting on each data set.")
    var epochs: Int = 20
    @OptionGroup var runOptions: RunOptions

    func validate() throws {
        try FlagCheck.count(epochs, "--epochs", 1...FlagCheck.maxCount)
    }

    func run() throws {
        try reportingErrors {
            _ = try runOptions.selectedDevice()
            let real = try data.map { try LabeledData(path: $0, labelColumn: labels.labelColumn, labelColumns: labels.labelColumns, requireLabels: true) }
            guard let inputDim = real?.x.columnCount ?? model.inputDim else {
                throw MLPError.invalidArgument("check needs --input-dim (or --data to infer it)")
            }
            if let declared = model.inputDim, declared != inputDim {
                throw MLPError.shapeMismatch("the data has \(inputDim) feature columns but --input-dim is \(declared)")
            }
            let chosenLoss = try loss.map { try Loss(keras: $0) }
            guard let output = try model.outputSpec() ?? real?.inferredOutput(loss: chosenLoss) else {
                throw MLPError.invalidArgument("check needs --output UNITS:ACTIVATION (or --data to infer it)")
            }
            let lossKind = chosenLoss ?? defaultLoss(for: output, oneHotTargets: real?.oneHot ?? false)
            try real?.checkLabels(loss: lossKind, outputUnits: output.units)
            let (backend, announcement) = try runOptions.backend(
                work: model.stepWork(inputDim: inputDim, output: output, batchSize: 16))
            try checkFits(try model.size(inputDim: inputDim, output: output), optimizer: Adam(), batchSize: 64, on: backend)
            print(announcement, terminator: "")

            let network = try model.makeModel(inputDim: inputDim, output: output, seed: runOptions.seed, backend: backend)
            print("1. predict on a random tensor of shape [64, \(inputDim)]")
            let report = try network.sanityCheck(loss: lossKind, epochs: epochs)
            print("   output shape: \(report.predictionShape) (expected [64, \(output.units)])")
            print("2. compile: loss \(lossKind.kerasName), optimizer Adam(learning_rate=0.01)")
            print("3. evaluate on random data: " + formatLogs(report.initialLogs))
            var passed = report.lossWentDown && report.predictionShape == [64, output.units]
            print("4. fit \(epochs) epochs on random data: loss \(fourDigits(report.initialLogs[0].1)) -> \(fourDigits(report.losses.last ?? .nan)): " + (report.lossWentDown ? "went down" : "did NOT go down"))
            if let real {
                let count = min(real.x.rowCount, 256)
                let fresh = try model.makeModel(inputDim: inputDim, output: output, seed: runOptions.seed, backend: backend)
                try fresh.compile(optimizer: Adam(learningRate: 0.01), loss: lossKind, metrics: defaultMetrics(for: lossKind))
                let x = real.x.rows(0..<count), y = real.y!.rows(0..<count)
                let before = try fresh.evaluate(x: x, y: y)
                let history = try fresh.fit(x: x, y: y, batchSize: 16, epochs: epochs, verbose: 0)
                let after = history.history["loss"]?.last ?? .nan
                let down = after < before[0].1
                passed = passed && down
                print("5. real data (\(count) samples of \(real.table.path)): evaluate " + formatLogs(before)
                      + "; after \(epochs) epochs loss \(fourDigits(after)): " + (down ? "went down" : "did NOT go down"))
            }
            print(passed ? "check passed: the model is ready for real training" : "check FAILED: see the steps above")
            if !passed { throw ExitCode(1) }
        }
    }
}

struct Devices: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the devices this build can train on.")

    func run() {
        for line in Device.inventory() { print(line) }
    }
}

func fourDigits(_ value: Float) -> String { String(format: "%.4f", Double(value)) }

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
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
