import ArgumentParser
import Foundation
import MLPKit

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model on a CSV file, or on the embedded digits data set when no --data is given.")

    @Option(help: "Training data: a CSV file with a header row.")
    var data: String?
    @Option(help: "Train on MNIST IDX files in this folder (train-*-idx?-ubyte[.gz]) and report on its t10k-* files.")
    var idx: String?
    @Flag(help: "Stream --data from disk in batches (never loading the whole file); shuffling then permutes the batch order.")
    var stream = false
    @Option(help: "Shuffle the training data every epoch: true or false.")
    var shuffle: Bool = true
    @Option(parsing: .unconditional, help: "Threads preparing batches ahead when streaming.")
    var workers: Int = 1
    @Option(parsing: .unconditional, help: "Batches prepared ahead when streaming.")
    var prefetch: Int = 4
    @Flag(help: "Standardize the features ((x − mean)/std, fitted on the training data and saved with the model).")
    var standardize = false
    @Option(help: "Missing cells (empty, NA, NaN, null, ?): error | skip | fill=VALUE.")
    var missing: String = "error"
    @Option(name: .customLong("model"), help: "Continue training a saved model (.h5, .keras, .json): architecture, loss, metrics and optimizer state come from the file.")
    var startModel: String?
    @OptionGroup var labels: LabelOptions
    @OptionGroup var model: ModelOptions
    @Option(help: "Loss name (default from the output layer: softmax → sparse_categorical_crossentropy, sigmoid → binary_crossentropy, else mean_squared_error).")
    var loss: String?
    @OptionGroup var training: TrainingOptions
    @Option(help: "Metrics, comma-separated (accuracy, precision, recall, auc, top_k_categorical_accuracy, mse, …); default accuracy for classification.")
    var metrics: String?
    @Option(parsing: .unconditional, help: "Class weights as CLASS=WEIGHT pairs, e.g. 0=1,1=5 (classes not named weigh 1).")
    var classWeight: String?
    @Option(parsing: .unconditional, help: "Passes over the training data.")
    var epochs: Int = 20
    @Option(parsing: .unconditional, help: "Samples per gradient step.")
    var batchSize: Int = 32
    @Option(parsing: .unconditional, help: "Fraction of the training data (the last samples) held out for validation.")
    var validationSplit: Float = 0
    @Option(help: "A CSV file to validate on after each epoch (overrides --validation-split).")
    var validationData: String?
    @Option(help: "A CSV file to evaluate on after training.")
    var testData: String?
    @OptionGroup var runOptions: RunOptions
    @Option(name: .customLong("verbose"), parsing: .unconditional, help: "0 silent, 1 progress bar, 2 one line per epoch.")
    var verbosity: Verbosity = .progressBar
    var verbose: Int { verbosity.rawValue }
    @Option(help: "Write Keras' History.history as JSON to this file.")
    var historyJson: String?
    @Option(help: "Save the trained model to this file.")
    var save: String?

    func validate() throws {
        try FlagCheck.count(workers, "--workers", 0...256)
        try FlagCheck.count(prefetch, "--prefetch", 1...1024)
        try FlagCheck.count(epochs, "--epochs", 0...FlagCheck.maxCount)
        try FlagCheck.count(batchSize, "--batch-size", 1...FlagCheck.maxCount)
        try FlagCheck.number(validationSplit, "--validation-split", atLeast: 0, atMost: 1, openAbove: true)
        if let classWeight { _ = try Train.parseClassWeights(classWeight) }
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
            // Files written after training are checked now, not after the epochs.
            if let save {
                _ = try KerasFile.Format(path: save)
                try AtomicFile.checkWritable(save)
            }
            if let historyJson { try AtomicFile.checkWritable(historyJson) }
            var train: (x: Tensor, y: Tensor)
            var test: (x: Tensor, y: Tensor)?
            var outputSpec = try model.outputSpec()
            var oneHot = false
            var source: LabeledData?
            var streamed: StreamingCSVSource?
            let policy = try Train.missingPolicy(missing)
            // Without --output the loss chooses regression (mse, mae); otherwise the labels must be class indices.
            let chosenLoss = try loss.map { try Loss(keras: $0) }
            let inferOutput = outputSpec == nil && startModel == nil
            if stream && data == nil { throw MLPError.invalidArgument("--stream needs --data FILE") }
            if stream && validationSplit > 0 { throw MLPError.invalidArgument("--stream cannot take --validation-split; give --validation-data") }
            if let idx {
                guard data == nil else { throw MLPError.invalidArgument("give --data or --idx, not both") }
                let mnist = try IDX.mnist(directory: idx)
                train = mnist.train
                test = mnist.test
                if inferOutput {
                    outputSpec = try LabeledData.inferredOutput(labels: LabelSummary(values: train.y.scalars), columns: 1, oneHot: false,
                                                                loss: chosenLoss, path: idx)
                }
            } else if let data, stream {
                let streaming = try StreamingCSVSource(path: data, labelColumn: labels.labelColumn,
                                                       labelColumns: labels.labelColumns.map { $0.split(separator: ",").map(String.init) },
                                                       batchSize: batchSize, missing: policy)
                streamed = streaming
                let first = try streaming.batch(0)
                train = (first.x, first.y!)
                oneHot = streaming.columns.oneHot
                if inferOutput {
                    outputSpec = try LabeledData.inferredOutput(labels: streaming.labelSummary, columns: streaming.columns.labels.count,
                                                                oneHot: oneHot, loss: chosenLoss, path: data)
                }
            } else if let data {
                let loaded = try LabeledData(path: data, labelColumn: labels.labelColumn, labelColumns: labels.labelColumns,
                                             requireLabels: true, missing: policy)
                train = (loaded.x, loaded.y!)
                if inferOutput { outputSpec = try loaded.inferredOutput(loss: chosenLoss) }
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
            let lossKind = started?.loss ?? chosenLoss ?? defaultLoss(for: output, oneHotTargets: oneHot)
            try source?.checkLabels(loss: lossKind, outputUnits: output.units)
            if let streamed { try LabeledData.checkLabels(streamed, loss: lossKind, outputUnits: output.units) }
            let work = try started.map { StepWork(parameters: $0.parameterCount, batchSize: batchSize) }
                ?? model.stepWork(inputDim: inputDim, output: output, batchSize: batchSize)
            let (backend, announcement) = try runOptions.backend(work: work)
            try checkFits(started?.size ?? model.size(inputDim: inputDim, output: output),
                          optimizer: try started?.optimizer ?? training.makeOptimizer(), batchSize: batchSize, on: backend)
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
            if standardize {
                network.inputScaler = try streamed.map { try FeatureScaler.fit(.standardize, to: $0) } ?? FeatureScaler.fit(.standardize, to: train.x)
            }
            if verbose > 0 { network.printSummary() }

            var validation: (x: Tensor, y: Tensor)?
            if let validationData {
                let loaded = try LabeledData(path: validationData, labelColumn: labels.labelColumn,
                                             labelColumns: labels.labelColumns, requireLabels: true, missing: policy)
                try loaded.checkLabels(loss: lossKind, outputUnits: output.units)
                validation = (loaded.x, loaded.y!)
            }
            if let testData {
                let loaded = try LabeledData(path: testData, labelColumn: labels.labelColumn,
                                             labelColumns: labels.labelColumns, requireLabels: true, missing: policy)
                try loaded.checkLabels(loss: lossKind, outputUnits: output.units)
                test = (loaded.x, loaded.y!)
            }
            let weights = try classWeight.map(Train.parseClassWeights)

            if let board = try training.makeTensorBoard(x: validation?.x ?? test?.x ?? train.x, labels: validation?.y ?? test?.y ?? train.y) {
                callbacks.insert(board, at: 0)
            }
            let history: History
            if let streamed {
                guard weights == nil else { throw MLPError.invalidArgument("--class-weight is not supported with --stream") }
                history = try network.fit(streamed, epochs: epochs, verbose: verbose,
                                          validationData: validation.map { ArraySource(x: $0.x, y: $0.y, batchSize: batchSize) },
                                          shuffle: shuffle, workers: workers, prefetch: prefetch, callbacks: callbacks)
            } else {
                history = try network.fit(x: train.x, y: train.y, batchSize: batchSize, epochs: epochs, verbose: verbose,
                                          validationSplit: validationSplit, validationData: validation, shuffle: shuffle,
                                          callbacks: callbacks, classWeight: weights)
            }
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

    /// `error`, `skip`, `fill=0`.
    static func missingPolicy(_ text: String) throws -> MissingValuePolicy {
        switch text.lowercased() {
        case "error": return .error
        case "skip": return .skipRow
        default:
            guard text.lowercased().hasPrefix("fill=") else {
                throw MLPError.invalidArgument("--missing must be error, skip or fill=VALUE, got '\(text)'")
            }
            guard let value = CSVNumber.finiteValue(text.dropFirst(5)) else {
                throw MLPError.invalidArgument("--missing fill=VALUE needs a finite decimal number, got '\(text.dropFirst(5))'")
            }
            return .fill(value)
        }
    }

    /// `0=1,1=5` → [0: 1, 1: 5].
    static func parseClassWeights(_ text: String) throws -> [Int: Float] {
        var weights: [Int: Float] = [:]
        for item in text.split(separator: ",") {
            let pair = item.split(separator: "=").map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, let label = Int(pair[0]), let weight = Float(pair[1]), weight.isFinite, weight >= 0 else {
                throw MLPError.invalidArgument("--class-weight: '\(item)' is not CLASS=WEIGHT (for example 0=1,1=5)")
            }
            weights[label] = weight
        }
        return weights
    }
}
