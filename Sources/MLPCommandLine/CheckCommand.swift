import ArgumentParser
import Foundation
import MLPKit

/// `mlp check`: the seed notebook's sanity procedure (predict, compile, evaluate, fit) on random and real data.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "The sanity procedure: predict on a random tensor, compile, evaluate and fit on random data (then on real data, with --data), and report whether the loss went down.")

    @OptionGroup var model: ModelOptions
    @Option(help: "Real data to repeat the procedure on (a labelled CSV file); also infers --input-dim and --output.")
    var data: String?
    @OptionGroup var labels: LabelOptions
    @Option(help: "Loss name (default from the output layer).")
    var loss: String?
    @OptionGroup var optimizerOptions: OptimizerOptions
    @Option(parsing: .unconditional, help: "Epochs of fitting on each data set.")
    var epochs: Int = 20
    @OptionGroup var runOptions: RunOptions

    func validate() throws {
        try FlagCheck.count(epochs, "--epochs", 1...FlagCheck.maxCount)
    }

    /// The optimizer flags' optimizer; without --learning-rate the check steps at 0.01 (for a quick verdict).
    func makeOptimizer() throws -> Optimizer {
        var options = optimizerOptions
        if options.learningRate == nil { options.learningRate = 0.01 }
        return try options.makeOptimizer()
    }

    func run() throws {
        try reportingErrors {
            _ = try runOptions.selectedDevice()
            let optimizer = try makeOptimizer()
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
            try checkFits(try model.size(inputDim: inputDim, output: output), optimizer: optimizer, batchSize: 64, on: backend)
            print(announcement, terminator: "")

            let network = try model.makeModel(inputDim: inputDim, output: output, seed: runOptions.seed, backend: backend)
            print("1. predict on a random tensor of shape [64, \(inputDim)]")
            let report = try network.sanityCheck(loss: lossKind, optimizer: optimizer, epochs: epochs)
            print("   output shape: \(report.predictionShape) (expected [64, \(output.units)])")
            print("2. compile: loss \(lossKind.kerasName), optimizer \(optimizer.kerasClassName)(learning_rate=\(optimizer.learningRate))")
            print("3. evaluate on random data: " + formatLogs(report.initialLogs))
            var passed = report.lossWentDown && report.predictionShape == [64, output.units]
            print("4. fit \(epochs) epochs on random data: loss \(fourDigits(report.initialLogs[0].1)) -> \(fourDigits(report.losses.last ?? .nan)): " + (report.lossWentDown ? "went down" : "did NOT go down"))
            if let real {
                let count = min(real.x.rowCount, 256)
                let fresh = try model.makeModel(inputDim: inputDim, output: output, seed: runOptions.seed, backend: backend)
                try fresh.compile(optimizer: try makeOptimizer(), loss: lossKind, metrics: defaultMetrics(for: lossKind))
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

func fourDigits(_ value: Float) -> String { String(format: "%.4f", Double(value)) }
