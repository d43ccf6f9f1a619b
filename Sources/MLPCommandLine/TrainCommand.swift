import ArgumentParser
import Foundation
import MLPKit

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model on a CSV file, or on the embedded digits data set when no --data is given.")

    @Option(help: "Training data: a CSV file with a header row.")
    var data: String?
    @Option(name: .customLong("model"), help: "Continue training a saved model (.h5, .keras, .json): architecture, loss, metrics and optimizer state come from the file.")
    var startModel: String?
    @OptionGroup var labels: LabelOptions
    @OptionGroup var model: ModelOptions
    @Option(help: "Loss name (default from the output layer: softmax → sparse_categorical_crossentropy, sigmoid → binary_crossentropy, else mean_squared_error).")
    var loss: String?
    @OptionGroup var training: TrainingOptions
    @Option(help: "Metrics, comma-separated (accuracy, precision, recall, auc, top_k_categorical_accuracy, mse, …); default accuracy for classification.")
    var metrics: String?
    @Option(help: "Class weights as CLASS=WEIGHT pairs, e.g. 0=1,1=5 (classes not named weigh 1).")
    var classWeight: String?
    @Option(help: "Passes over the training data.")
    var epochs: Int = 20
    @Option(help: "Samples per gradient step.")
    var batchSize: Int = 32
    @Option(help: "Fraction of the training data (the last samples) held out for validation.")
    var validationSplit: Float = 0
    @Option(help: "A CSV file to validate on after each epoch (overrides --validation-split).")
    var validationData: String?
    @Option(help: "A CSV file to evaluate on after training.")
    var testData: String?
    @OptionGroup var runOptions: RunOptions
    @Option(help: "0 silent, 1 progress bar, 2 one line per epoch.")
    var verbose: Int = 1
    @Option(help: "Write Keras' History.history as JSON to this file.")
    var historyJson: String?
    @Option(help: "Save the trained model to this file.")
    var save: String?

    func validate() throws {
        guard [0, 1, 2].contains(verbose) else { throw ValidationError("--verbose must be 0, 1 or 2, got \(verbose)") }
        guard epochs >= 0 else { throw ValidationError("--epochs must be 0 or more, got \(epochs)") }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive, got \(batchSize)") }
        guard validationSplit >= 0 && validationSplit < 1 else {
            throw ValidationError("--validation-split must be in [0, 1), got \(validationSplit)")
        }
    }

    func run() throws {
        try reportingErrors {
            if startModel != nil {
                let conflicting = [("--layers", model.layers != nil), ("--output", model.output != nil), ("--loss", loss != nil),
                                   ("--optimizer", training.optimizer != nil), ("--metrics", metrics != nil),
                                   ("--input-dim", model.inputDim != nil)].filter(\.1).map(\.0)
                if !conflicting.isEmpty {
                    throw MLPError.invalidArgument("--model takes the architecture, loss, metrics and optimizer from the file; drop \(conflicting.joined(separator: ", "))")
                }
            } else {
                _ = try training.makeOptimizer()
            }
            var callbacks = try training.makeCallbacks()
            _ = try runOptions.selectedDevice()
            var train: (x: Tensor, y: Tensor)
            var test: (x: Tensor, y: Tensor)?
            var outputSpec = try model.outputSpec()
            var oneHot = false
            var source: LabeledData?
            if let data {
                let loaded = try LabeledData(path: data, labelColumn: labels.labelColumn, labelColumns: labels.labelColumns,
                                             requireLabels: true)
                train = (loaded.x, loaded.y!)
                outputSpec = outputSpec ?? loaded.inferredOutput()
                oneHot = loaded.oneHot
                source = loaded
            } else {
                let digits = Datasets.digits()
                let split = Datasets.trainTestSplit(x: digits.x, y: digits.y, testFraction: 0.2, seed: 0)
                train = split.train
                test = split.test
                outputSpec = outputSpec ?? LayerSpec(units: 10, activation: .softmax)
                if verbose > 0 {
                    print("No --data: training on the embedded UCI digits data set (\(train.x.rowCount) training, \(split.test.x.rowCount) test samples, 64 features, 10 classes).")
                }
            }
            let inputDim = train.x.columnCount
            if let declared = model.inputDim, declared != inputDim {
                throw MLPError.shapeMismatch("the data has \(inputDim) feature columns but --input-dim is \(declared)")
            }
            var started: Sequential?
            if let startModel {
                // Read once on the CPU to size the work for `auto`, then onto the chosen device.
                let probe = try Sequential.load(from: startModel, backend: CPUBackend(threadCount: 1))
                guard probe.inputDim == inputDim else {
                    throw MLPError.shapeMismatch("the data has \(inputDim) feature columns but the model in \(startModel) expects \(probe.inputDim)")
                }
                guard probe.loss != nil else {
                    throw MLPError.notReady("\(startModel) was saved without a training configuration (not compiled), so training cannot continue")
                }
                outputSpec = LayerSpec(units: probe.outputUnits, activation: probe.layers.last?.outputActivation ?? .linear)
                started = probe
            }
            let output = outputSpec!
            let lossKind = try started?.loss ?? loss.map { try Loss(keras: $0) } ?? defaultLoss(for: output, oneHotTargets: oneHot)
            try source?.checkLabels(loss: lossKind, outputUnits: output.units)
            let flops = try started.map { Device.trainingFlopsPerStep(parameters: $0.parameterCount, batchSize: batchSize) }
                ?? model.flopsPerStep(inputDim: inputDim, output: output, batchSize: batchSize)
            let (backend, announcement) = try runOptions.backend(flopsPerStep: flops)
            if verbose > 0 { print(announcement, terminator: "") }
            if let startModel, !(backend is CPUBackend) {
                started = try Sequential.load(from: startModel, backend: backend)
            }
            if let started, let rate = training.learningRate { started.optimizer?.learningRate = rate }

            let network: Sequential
            if let started {
                network = started
            } else {
                network = try model.makeModel(inputDim: inputDim, output: output, seed: runOptions.seed, backend: backend)
                var chosenMetrics = try metrics.map { try $0.split(separator: ",").map { try Metric(keras: $0.trimmingCharacters(in: .whitespaces)) } }
                    ?? defaultMetrics(for: lossKind)
                // With weight penalties `loss` includes them; report the data loss too, under the loss's name.
                let plainLoss = Metric.loss(lossKind)
                if network.layers.contains(where: { !$0.regularizedParameters.isEmpty }) && !chosenMetrics.contains(plainLoss) {
                    chosenMetrics.append(plainLoss)
                }
                try network.compile(optimizer: try training.makeOptimizer(), loss: lossKind, metrics: chosenMetrics)
            }
            if verbose > 0 { network.printSummary() }

            var validation: (x: Tensor, y: Tensor)?
            if let validationData {
                let loaded = try LabeledData(path: validationData, labelColumn: labels.labelColumn,
                                             labelColumns: labels.labelColumns, requireLabels: true)
                try loaded.checkLabels(loss: lossKind, outputUnits: output.units)
                validation = (loaded.x, loaded.y!)
            }
            if let testData {
                let loaded = try LabeledData(path: testData, labelColumn: labels.labelColumn,
                                             labelColumns: labels.labelColumns, requireLabels: true)
                try loaded.checkLabels(loss: lossKind, outputUnits: output.units)
                test = (loaded.x, loaded.y!)
            }
            let weights = try classWeight.map(Train.parseClassWeights)

            if let board = try training.makeTensorBoard(x: validation?.x ?? test?.x ?? train.x, labels: validation?.y ?? test?.y ?? train.y) {
                callbacks.insert(board, at: 0)
            }
            let history = try network.fit(x: train.x, y: train.y, batchSize: batchSize, epochs: epochs, verbose: verbose,
                                          validationSplit: validationSplit, validationData: validation, callbacks: callbacks,
                                          classWeight: weights)
            if let test {
                let logs = try network.evaluate(x: test.x, y: test.y, batchSize: batchSize)
                print("Test " + formatLogs(logs).replacingOccurrences(of: " - ", with: " - test "))
            }
            if let historyJson { try writeAtomically(history.jsonString() + "\n", to: historyJson) }
            if let save {
                try network.save(to: save)
                if verbose > 0 { print("Saved the model to \(save)") }
            }
        }
    }

    /// `0=1,1=5` → [0: 1, 1: 5].
    static func parseClassWeights(_ text: String) throws -> [Int: Float] {
        var weights: [Int: Float] = [:]
        for item in text.split(separator: ",") {
            let pair = item.split(separator: "=").map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, let label = Int(pair[0]), let weight = Float(pair[1]), weight >= 0 else {
                throw MLPError.invalidArgument("--class-weight: '\(item)' is not CLASS=WEIGHT (for example 0=1,1=5)")
            }
            weights[label] = weight
        }
        return weights
    }
}
