import ArgumentParser
import Foundation
import MLPKit

/// The training data `mlp train` read, and what it decided from it.
struct TrainingData {
    var train: (x: Tensor, y: Tensor)
    /// The embedded digits' or the IDX folder's test split (a `--test-data` file replaces it).
    var test: (x: Tensor, y: Tensor)?
    /// The output layer: from `--output`, inferred from the labels, or (with `--model`) the file's.
    var outputSpec: LayerSpec?
    var oneHot = false
    /// The CSV file read into memory, for its label checks.
    var source: LabeledData?
    /// The CSV file streamed from disk (`--stream`).
    var streamed: StreamingCSVSource?
    /// The uncompressed IDX training files streamed from disk (`--stream --idx`).
    var streamedIDX: StreamingIDXSource?
    /// The loss, once the model is known.
    var lossKind: Loss = .meanSquaredError

    var output: LayerSpec { outputSpec! }

    /// The training data streamed from disk, if any.
    var streamedSource: BatchSource? { streamed ?? streamedIDX }
}

extension Train {
    /// Flags that conflict, and files written after training, are checked before any data is read: a bad
    /// `--save` is reported now, not after the epochs.
    func checkFlagsBeforeWork() throws {
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
        _ = try runOptions.selectedDevice()
        if let save {
            _ = try KerasFile.Format(path: save)
            try AtomicFile.checkWritable(save)
        }
        if let historyJson { try AtomicFile.checkWritable(historyJson) }
        if let reportPath { try AtomicFile.checkWritable(reportPath) }
        if stream && data == nil && idx == nil { throw MLPError.invalidArgument("--stream needs --data FILE or --idx FOLDER") }
        if stream && validationSplit > 0 { throw MLPError.invalidArgument("--stream cannot take --validation-split; give --validation-data") }
        if idx != nil && data != nil { throw MLPError.invalidArgument("give --data or --idx, not both") }
    }

    /// Reads `--idx`, `--data` (in memory or streamed) or the embedded digits. Without `--output` (and
    /// `--model`) the output layer is inferred from the labels; the loss then chooses regression (mse, mae),
    /// otherwise the labels must be class indices. A streamed source records where each of the job's ranks'
    /// shares of each batch starts, so a rank reads only its rows.
    func loadTrainingData(chosenLoss: Loss?, job: any Communicator) throws -> TrainingData {
        let policy = try Train.missingPolicy(missing)
        let outputSpec = try model.outputSpec()
        let inferOutput = outputSpec == nil && startModel == nil
        if let idx, stream, let streamed = try streamedIDX(idx, job: job) {
            var result = TrainingData(train: streamed.first, test: streamed.test, outputSpec: outputSpec, streamedIDX: streamed.source)
            if inferOutput {
                result.outputSpec = try LabeledData.inferredOutput(labels: streamed.source.labelSummary, columns: 1,
                                                                   oneHot: false, loss: chosenLoss, path: idx)
            }
            return result
        }
        if let idx {
            let mnist = try IDX.mnist(directory: idx)
            var result = TrainingData(train: mnist.train, test: mnist.test, outputSpec: outputSpec)
            if inferOutput {
                result.outputSpec = try LabeledData.inferredOutput(labels: LabelSummary(values: mnist.train.y.scalars), columns: 1,
                                                                   oneHot: false, loss: chosenLoss, path: idx)
            }
            return result
        }
        if let data, stream {
            let streaming = try StreamingCSVSource(path: data, labelColumn: labels.labelColumn,
                                                   labelColumns: labels.labelColumns.map { $0.split(separator: ",").map(String.init) },
                                                   batchSize: batchSize, missing: policy, shares: job.size)
            let first = try streaming.batch(0)
            var result = TrainingData(train: (first.x, first.y!), outputSpec: outputSpec, oneHot: streaming.columns.oneHot,
                                      streamed: streaming)
            if inferOutput {
                result.outputSpec = try LabeledData.inferredOutput(labels: streaming.labelSummary, columns: streaming.columns.labels.count,
                                                                   oneHot: result.oneHot, loss: chosenLoss, path: data)
            }
            return result
        }
        if let data {
            let loaded = try LabeledData(path: data, labelColumn: labels.labelColumn, labelColumns: labels.labelColumns,
                                         requireLabels: true, missing: policy)
            return TrainingData(train: (loaded.x, loaded.y!), outputSpec: inferOutput ? try loaded.inferredOutput(loss: chosenLoss) : outputSpec,
                                oneHot: loaded.oneHot, source: loaded)
        }
        let digits = Datasets.digits()
        let split = Datasets.trainTestSplit(x: digits.x, y: digits.y, testFraction: 0.2, seed: 0)
        if verbose > 0 {
            print("No --data: training on the embedded UCI digits data set (\(split.train.x.rowCount) training, \(split.test.x.rowCount) test samples, 64 features, 10 classes).")
        }
        return TrainingData(train: split.train, test: split.test, outputSpec: outputSpec ?? LayerSpec(units: 10, activation: .softmax))
    }

    /// `--stream --idx`: the uncompressed training files streamed (the t10k test files in memory), or nil, after
    /// one line on standard error, when a training file is gzip-compressed (it cannot be read at an offset, so
    /// the folder is loaded in memory).
    func streamedIDX(_ folder: String, job: any Communicator) throws
        -> (source: StreamingIDXSource, first: (x: Tensor, y: Tensor), test: (x: Tensor, y: Tensor))? {
        func find(_ stem: String) throws -> String { try IDX.file(stem, in: folder) }
        let images = try find("train-images-idx3-ubyte"), labels = try find("train-labels-idx1-ubyte")
        if let compressed = [images, labels].first(where: { $0.hasSuffix(".gz") }) {
            if job.isWriter {
                printToStandardError("note: --stream: \(compressed) is gzip-compressed and cannot be read at an offset, so the IDX files are loaded in memory (gunzip them to stream)\n")
            }
            return nil
        }
        let source = try StreamingIDXSource(images: images, labels: labels, batchSize: batchSize)
        let testImages = try find("t10k-images-idx3-ubyte")
        let test = try IDX.dataset(images: testImages, labels: find("t10k-labels-idx1-ubyte"))
        guard test.x.columnCount == source.featureCount else {
            throw MLPError.shapeMismatch("\(testImages) has images of \(test.x.columnCount) pixels but \(images) has images of \(source.featureCount)")
        }
        guard source.rowCount > 0 else { throw MLPError.malformedFile(path: images, line: 0, reason: "no images (the header's sample count is 0)") }
        let first = try source.batch(0)
        return (source, (first.x, first.y!), test)
    }

    /// The model to train: `--model`'s file (its loss, metrics and optimizer state) or a new model from the
    /// flags, compiled, on the device chosen for its size; checked against the data and the device's memory.
    /// Sets `data.outputSpec` and `data.lossKind`.
    func buildOrLoadModel(_ data: inout TrainingData, chosenLoss: Loss?, job: any Communicator) throws -> Sequential {
        let inputDim = data.train.x.columnCount
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
            data.outputSpec = LayerSpec(units: probe.outputUnits, activation: probe.layers.last?.outputActivation ?? .linear)
            started = probe
        }
        let output = data.output
        let lossKind = started?.loss ?? chosenLoss ?? defaultLoss(for: output, oneHotTargets: data.oneHot)
        data.lossKind = lossKind
        try data.source?.checkLabels(loss: lossKind, outputUnits: output.units)
        if let streamed = data.streamed { try LabeledData.checkLabels(streamed, loss: lossKind, outputUnits: output.units) }
        let work = try started.map { StepWork(parameters: $0.parameterCount, batchSize: batchSize) }
            ?? model.stepWork(inputDim: inputDim, output: output, batchSize: batchSize)
        let (backend, announcement) = try runOptions.backend(work: work, local: job.size > 1 ? Train.localPlacement(job) : nil)
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
            network.inputScaler = try data.streamedSource.map { try FeatureScaler.fit(.standardize, to: $0) }
                ?? FeatureScaler.fit(.standardize, to: data.train.x)
        }
        if verbose > 0 { network.printSummary() }
        return network
    }

    /// `--validation-data` and `--test-data`, each checked against the loss and the output width.
    func loadHeldOutData(lossKind: Loss, outputUnits: Int) throws -> (validation: (x: Tensor, y: Tensor)?, test: (x: Tensor, y: Tensor)?) {
        let policy = try Train.missingPolicy(missing)
        func read(_ path: String?) throws -> (x: Tensor, y: Tensor)? {
            guard let path else { return nil }
            let loaded = try LabeledData(path: path, labelColumn: labels.labelColumn, labelColumns: labels.labelColumns,
                                         requireLabels: true, missing: policy)
            try loaded.checkLabels(loss: lossKind, outputUnits: outputUnits)
            return (loaded.x, loaded.y!)
        }
        let validation = try read(validationData)
        return (validation, try read(testData))
    }

    /// `fit` on the in-memory data or on the streamed file.
    func fit(_ network: Sequential, data: TrainingData, validation: (x: Tensor, y: Tensor)?, callbacks: [Callback],
             job: any Communicator) throws -> History {
        let weights = try classWeight.map(Train.parseClassWeights)
        if let streamed = data.streamedSource {
            guard weights == nil else { throw MLPError.invalidArgument("--class-weight is not supported with --stream") }
            return try network.fit(streamed, epochs: epochs, verbose: verbose,
                                   validationData: validation.map { ArraySource(x: $0.x, y: $0.y, batchSize: batchSize) },
                                   shuffle: shuffle, workers: workers, prefetch: prefetch, callbacks: callbacks, distribution: job)
        }
        return try network.fit(x: data.train.x, y: data.train.y, batchSize: batchSize, epochs: epochs, verbose: verbose,
                               validationSplit: validationSplit, validationData: validation, shuffle: shuffle,
                               callbacks: callbacks, classWeight: weights, distribution: job)
    }

    /// The test line (`evaluated`: the logs the report already took on the test data at the end of training, when
    /// given), `--history-json` and `--save`.
    func report(_ network: Sequential, history: History, test: (x: Tensor, y: Tensor)?, evaluated: Logs? = nil) throws {
        if let test {
            let logs = try evaluated ?? network.evaluate(x: test.x, y: test.y, batchSize: batchSize)
            print("Test " + formatLogs(logs).replacingOccurrences(of: " - ", with: " - test "))
        }
        if let historyJson { try writeAtomically(history.jsonString() + "\n", to: historyJson) }
        if let save {
            try network.save(to: save)
            if verbose > 0 { print("Saved the model to \(save)") }
        }
    }
}
