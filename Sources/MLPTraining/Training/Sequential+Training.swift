import Foundation
import MLPCore

/// What `compile` fixed: the optimizer, the loss and the resolved metrics.
struct Compilation {
    let optimizer: Optimizer
    let loss: LossKind
    let metrics: [Metric]
    let slots: [MetricSlot]
    /// Every variable, and those with weight penalties, listed once (a step allocates nothing).
    let parameters: [Parameter]
    let regularized: [(parameter: Parameter, regularizer: Regularizer)]
    /// Accumulator values: the loss sum, then each metric's slots.
    var accumulatorWidth: Int { 1 + slots.reduce(0) { $0 + $1.width } }
}

/// A data set uploaded to the backend once.
struct DeviceDataset {
    let x: DeviceBuffer
    let y: DeviceBuffer
    /// Per-sample loss weights (sample_weight × class_weight), when given.
    let weights: DeviceBuffer?
    let count: Int
    let xColumns: Int
    let yColumns: Int

    init(x: Tensor, y: Tensor, weights: [Float]? = nil, backend: any Backend) {
        self.x = backend.makeBuffer(x.scalars)
        self.y = backend.makeBuffer(y.scalars)
        self.weights = weights.map { backend.makeBuffer($0) }
        count = x.rowCount
        xColumns = x.columnCount
        yColumns = y.columnCount
    }
}

/// Batch-sized work buffers for one `fit`/`evaluate` call. They grow (rarely: only when a batch is larger
/// than any before) for sources whose batch sizes are not known ahead.
final class StepBuffers {
    private(set) var x: DeviceBuffer
    private(set) var y: DeviceBuffer
    private(set) var gradient: DeviceBuffer
    /// [loss sum, metric sums…], accumulated on the device and read back rarely.
    let accumulator: DeviceBuffer
    /// Per-sample loss weights of the batch (when the data set has them).
    private(set) var weights: DeviceBuffer?
    private(set) var rows: Int
    let xColumns: Int
    private(set) var yColumns: Int
    let outputColumns: Int
    let backend: any Backend

    init(batchSize: Int, xColumns: Int, yColumns: Int, outputColumns: Int, accumulatorWidth: Int, weighted: Bool = false,
         backend: any Backend) {
        self.backend = backend
        rows = max(batchSize, 1)
        self.xColumns = xColumns
        self.yColumns = yColumns
        self.outputColumns = outputColumns
        x = backend.makeBuffer(count: rows * xColumns)
        y = backend.makeBuffer(count: rows * yColumns)
        gradient = backend.makeBuffer(count: rows * outputColumns)
        accumulator = backend.makeBuffer(count: accumulatorWidth)
        weights = weighted ? backend.makeBuffer(count: rows) : nil
    }

    /// Makes room for a batch of `rows` samples with `yColumns` targets (and weights when `weighted`).
    func ensure(rows needed: Int, yColumns targets: Int, weighted: Bool) {
        if needed > rows || targets != yColumns {
            rows = max(rows, needed)
            yColumns = targets
            x = backend.makeBuffer(count: rows * xColumns)
            y = backend.makeBuffer(count: rows * yColumns)
            gradient = backend.makeBuffer(count: rows * outputColumns)
            if weights != nil { weights = backend.makeBuffer(count: rows) }
        }
        if weighted && (weights == nil || weights!.count < rows) { weights = backend.makeBuffer(count: rows) }
        if !weighted { weights = nil }
    }
}

/// What one epoch of training reads: the step count, the epoch's setup, and how step `s`'s batch gets into
/// the step buffers (returning its number of samples).
struct TrainingFeed {
    let stepsPerEpoch: Int
    let beginEpoch: (Int) throws -> Void
    let loadStep: (Int) throws -> Int
    let endEpoch: (Int) -> Void
    /// Validation logs (keys without the `val_` prefix), or nil when there is no validation data.
    let validate: (([Callback]) throws -> Logs)?
}

extension Sequential {
    /// Configures training (Keras' `compile`). `"accuracy"` is resolved here from the loss and the output
    /// width.
    ///
    /// - Parameters:
    ///   - optimizer: default ``RMSprop`` with Keras' defaults, as Keras' `compile()`.
    ///   - loss: see ``LossKind``.
    ///   - metrics: reported next to the loss; accuracy variants only for now.
    public func compile(optimizer: Optimizer = RMSprop(), loss: Loss, metrics: [Metric] = []) throws {
        guard !layers.isEmpty else { throw MLPError.notReady("compile needs a model with at least one layer") }
        try optimizer.validate()
        if case .sparseCategoricalCrossentropy = loss, outputUnits < 2 {
            throw MLPError.invalidArgument("sparse_categorical_crossentropy needs an output layer of 2 or more units, the model has \(outputUnits)")
        }
        var slots: [MetricSlot] = []
        var offset = 1
        for metric in metrics {
            let kind: MetricSlot.Kind
            let sparseTargets: Bool
            if case .sparseCategoricalCrossentropy = loss { sparseTargets = true } else { sparseTargets = false }
            switch metric {
            case .precision, .recall, .auc:
                guard !sparseTargets else {
                    throw MLPError.invalidArgument("metric \(metric.kerasName) needs targets shaped like the outputs (binary or one-hot), not sparse class indices")
                }
                let thresholds: [Float] = metric == .auc ? MetricSlot.aucThresholds : [0.5]
                kind = .confusion(thresholds: backend.makeBuffer(thresholds), count: thresholds.count,
                                  result: metric == .auc ? .auc : (metric == .precision ? .precision : .recall))
            case .topKCategoricalAccuracy(let k), .sparseTopKCategoricalAccuracy(let k):
                let sparse: Bool
                if case .sparseTopKCategoricalAccuracy = metric { sparse = true } else { sparse = false }
                guard sparse == sparseTargets else {
                    throw MLPError.invalidArgument("metric \(metric.kerasName) needs \(sparse ? "class-index" : "one-hot") targets; the loss \(loss.kerasName) uses the other kind")
                }
                kind = .topK(k: k, sparse: sparse)
            case .loss(let metricLoss):
                if case .sparseCategoricalCrossentropy = metricLoss, !sparseTargets {
                    throw MLPError.invalidArgument("metric sparse_categorical_crossentropy needs class-index targets")
                }
                kind = .loss(metricLoss)
            default:
                kind = .accuracy(metric.resolvedAccuracy(loss: loss, outputUnits: outputUnits)!)
            }
            let slot = MetricSlot(name: metric.kerasName, kind: kind, offset: offset)
            slots.append(slot)
            offset += slot.width
        }
        compilation = Compilation(optimizer: optimizer, loss: loss, metrics: metrics, slots: slots,
                                  parameters: layers.flatMap(\.parameters), regularized: regularizedParameters)
    }

    /// The compiled optimizer, loss and metric names (nil before `compile`).
    public var optimizer: Optimizer? { compilation?.optimizer }
    public var loss: Loss? { compilation?.loss }
    public var metrics: [Metric] { compilation?.metrics ?? [] }

    /// Trains for `epochs` passes over `x`, `y` (Keras' `fit`), returning the per-epoch logs.
    ///
    /// - Parameters:
    ///   - x: (samples, inputDim).
    ///   - y: class indices (samples) or (samples, 1) for sparse categorical cross-entropy; otherwise
    ///     (samples, outputUnits).
    ///   - batchSize: 32 by default; the last batch of an epoch may be smaller.
    ///   - validationSplit: the **last** fraction of the samples, taken before shuffling, is held out.
    ///   - validationData: overrides `validationSplit`.
    ///   - shuffle: a new order each epoch, from the model's seed and the epoch number.
    ///   - verbose: 0 silent, 1 progress bar, 2 one line per epoch.
    ///   - callbacks: run in order at each hook, after the progress bar and before the history (as Keras).
    ///   - initialEpoch: the epoch to start at (to resume a run); `epochs` is the index to stop before.
    ///   - validationFreq: validate after every `validationFreq`-th epoch.
    ///   - classWeight: a loss weight per class index (missing classes weigh 1); the class of a sample is its
    ///     label, the argmax of a one-hot row, or the rounded 0/1 target.
    ///   - sampleWeight: a loss weight per sample (not together with `classWeight`, as in Keras). Weights scale each
    ///     sample's loss and gradient; the mean still divides by the number of samples (Keras'
    ///     "sum over batch size"); metrics are unweighted.
    @discardableResult
    public func fit(x: Tensor, y: Tensor, batchSize: Int = 32, epochs: Int = 1, verbose: Int = 1,
                    validationSplit: Float = 0, validationData: (x: Tensor, y: Tensor)? = nil,
                    shuffle: Bool = true, callbacks: [Callback] = [], initialEpoch: Int = 0,
                    validationFreq: Int = 1, classWeight: [Int: Float]? = nil, sampleWeight: [Float]? = nil) throws -> History {
        let compiled = try requireCompiled("fit")
        guard batchSize > 0 else { throw MLPError.invalidArgument("batch size must be positive, got \(batchSize)") }
        guard epochs >= 0 else { throw MLPError.invalidArgument("epochs must be 0 or more, got \(epochs)") }
        guard initialEpoch >= 0 else { throw MLPError.invalidArgument("initial epoch must be 0 or more, got \(initialEpoch)") }
        guard validationFreq > 0 else { throw MLPError.invalidArgument("validation frequency must be positive, got \(validationFreq)") }
        guard validationSplit >= 0 && validationSplit < 1 else {
            throw MLPError.invalidArgument("validation split must be in [0, 1), got \(validationSplit)")
        }
        try checkData(x: x, y: y, role: "training data")
        let x = scaled(x)
        let validationData = validationData.map { (x: scaled($0.x), y: $0.y) }
        var train = (x: x, y: y)
        var validation = validationData
        if let validationData {
            try checkData(x: validationData.x, y: validationData.y, role: "validation data")
        } else if validationSplit > 0 {
            let splitAt = Int((Double(x.rowCount) * (1 - Double(validationSplit))).rounded(.down))
            guard splitAt > 0 && splitAt < x.rowCount else {
                throw MLPError.invalidArgument("validation split \(validationSplit) of \(x.rowCount) samples leaves an empty training or validation set")
            }
            validation = (x.rows(splitAt..<x.rowCount), y.rows(splitAt..<y.rowCount))
            train = (x.rows(0..<splitAt), y.rows(0..<splitAt))
        }
        guard train.x.rowCount > 0 else { throw MLPError.invalidArgument("fit got no training samples") }
        if sampleWeight != nil && classWeight != nil {
            throw MLPError.invalidArgument("give class_weight or sample_weight, not both (as Keras)")
        }
        if let sampleWeight, sampleWeight.count != x.rowCount {
            throw MLPError.shapeMismatch("sample_weight has \(sampleWeight.count) values for \(x.rowCount) samples")
        }
        var weights = sampleWeight.map { Array($0.prefix(train.x.rowCount)) }
        if let classWeight {
            let classes = Sequential.classIndices(train.y, loss: compiled.loss)
            weights = classes.enumerated().map { index, label in (weights?[index] ?? 1) * (classWeight[label] ?? 1) }
        }

        let data = DeviceDataset(x: train.x, y: train.y, weights: weights, backend: backend)
        let validationSet = validation.map { DeviceDataset(x: $0.x, y: $0.y, backend: backend) }
        let batch = min(batchSize, data.count)
        let buffers = StepBuffers(batchSize: batch, xColumns: inputDim, yColumns: data.yColumns, outputColumns: outputUnits,
                                  accumulatorWidth: compiled.accumulatorWidth, weighted: data.weights != nil, backend: backend)
        let steps = (data.count + batch - 1) / batch
        let order = backend.makeIndexBuffer((0..<data.count).map(Int32.init))
        try backend.checkError()
        let feed = TrainingFeed(
            stepsPerEpoch: steps,
            beginEpoch: { [self] epoch in
                guard shuffle else { return }
                // One host-to-device write per epoch; steps read their slice of it on the device.
                var random = PhiloxRandom(seed: seed, stream: PhiloxStream.epochShuffle(epoch))
                backend.uploadIndices(random.permutation(data.count).map(Int32.init), to: order)
            },
            loadStep: { [self] step in
                let start = step * batch
                let rows = min(batch, data.count - start)
                gatherBatch(data: data, order: order, start: start, rows: rows, buffers: buffers)
                return rows
            },
            endEpoch: { _ in },
            validate: validationSet.map { set in { [self] callbacks in try evaluate(set, batchSize: batch, compiled: compiled, callbacks: callbacks) } })
        return try runTraining(feed: feed, buffers: buffers, compiled: compiled, epochs: epochs, verbose: verbose, callbacks: callbacks,
                               initialEpoch: initialEpoch, validationFreq: validationFreq)
    }

    /// The epoch loop shared by every way of feeding `fit`: callbacks, progress, one step per batch, logs read at
    /// progress updates and epoch end, validation every `validationFreq` epochs, History.
    func runTraining(feed: TrainingFeed, buffers: StepBuffers, compiled: Compilation, epochs: Int, verbose: Int,
                     callbacks: [Callback], initialEpoch: Int, validationFreq: Int) throws -> History {
        let parameters = compiled.parameters
        var history = History()
        // BackupAndRestore runs last at every hook, so it saves and restores the others' settled state.
        let callbacks = callbacks.filter { !($0 is BackupAndRestore) } + callbacks.filter { $0 is BackupAndRestore }
        for case let backup as BackupAndRestore in callbacks { backup.others = callbacks.filter { !($0 is BackupAndRestore) } }
        let batchLogs = callbacks.contains { $0.needsBatchLogs }
        for callback in callbacks { callback.model = self }
        stopTraining = false
        resumeEpoch = nil
        for callback in callbacks { try callback.onTrainBegin(logs: []) }
        var logs: Logs = []

        for epoch in (resumeEpoch ?? initialEpoch)..<max(epochs, resumeEpoch ?? initialEpoch) {
            for callback in callbacks { try callback.onEpochBegin(epoch) }
            if verbose > 0 { output("Epoch \(epoch + 1)/\(epochs)\n") }
            let progress = ProgressBar(target: feed.stepsPerEpoch, verbose: verbose, isTerminal: outputIsTerminal, write: output)
            try feed.beginEpoch(epoch)
            backend.fill(buffers.accumulator, value: 0, offset: 0, count: buffers.accumulator.count)
            var samples = 0
            for step in 0..<feed.stepsPerEpoch {
                stepNeedsLayerOutputs = false
                for callback in callbacks { try callback.onTrainBatchBegin(step) }
                let rows = try feed.loadStep(step)
                currentBatchRows = rows
                samples += rows
                computeGradients(rows: rows, buffers: buffers, compiled: compiled)
                compiled.optimizer.apply(to: parameters, on: backend)
                let running = batchLogs ? try readLogs(buffers, samples: samples, compiled: compiled) : nil
                for callback in callbacks { try callback.onTrainBatchEnd(step, logs: running) }
                if progress.wantsUpdate {
                    progress.update(step + 1, values: try running ?? readLogs(buffers, samples: samples, compiled: compiled))
                }
                if stopTraining { break }
            }
            feed.endEpoch(epoch)
            logs = try readLogs(buffers, samples: samples, compiled: compiled)
            if let validate = feed.validate, (epoch + 1) % validationFreq == 0 {
                logs += try validate(callbacks).map { ("val_" + $0.0, $0.1) }
            }
            progress.finish(values: logs)
            for callback in callbacks { try callback.onEpochEnd(epoch, logs: &logs) }
            history.append(epoch: epoch, logs: logs)
            if stopTraining { break }
        }
        for callback in callbacks { try callback.onTrainEnd(logs: logs) }
        return history
    }

    /// Loss and metrics on `x`, `y` (Keras' `evaluate(return_dict=True)`), in Keras' key order.
    public func evaluate(x: Tensor, y: Tensor, batchSize: Int = 32, verbose: Int = 0, callbacks: [Callback] = []) throws -> [(String, Float)] {
        let compiled = try requireCompiled("evaluate")
        for callback in callbacks { callback.model = self }
        guard batchSize > 0 else { throw MLPError.invalidArgument("batch size must be positive, got \(batchSize)") }
        try checkData(x: x, y: y, role: "evaluation data")
        guard x.rowCount > 0 else { throw MLPError.invalidArgument("evaluate got no samples") }
        let progress = ProgressBar(target: (x.rowCount + batchSize - 1) / batchSize, verbose: verbose,
                                   isTerminal: outputIsTerminal, write: output)
        let logs = try evaluate(DeviceDataset(x: scaled(x), y: y, backend: backend), batchSize: batchSize, compiled: compiled,
                                callbacks: callbacks)
        progress.finish(values: logs)
        return logs
    }

    /// The model's outputs for `x` (Keras' `predict`): a (samples, outputUnits) tensor.
    public func predict(_ x: Tensor, batchSize: Int = 32, callbacks: [Callback] = []) throws -> Tensor {
        guard !layers.isEmpty else { throw MLPError.notReady("predict needs a model with at least one layer") }
        try checkFeatures(x, role: "prediction data")
        for callback in callbacks { callback.model = self }
        for callback in callbacks { try callback.onPredictBegin() }
        let batch = max(1, min(batchSize, x.rowCount))
        // Batches run on the device into one result buffer, read back once.
        let input = backend.makeBuffer(scaled(x).scalars)
        let xBatch = backend.makeBuffer(count: batch * inputDim)
        let result = backend.makeBuffer(count: x.rowCount * outputUnits)
        var start = 0
        while start < x.rowCount {
            let rows = min(batch, x.rowCount - start)
            let batchIndex = start / batch
            for callback in callbacks { try callback.onPredictBatchBegin(batchIndex) }
            backend.copy(input, sourceOffset: start * inputDim, to: xBatch, destinationOffset: 0, count: rows * inputDim)
            let out = forward(xBatch, rows: rows, training: false)
            backend.copy(out, sourceOffset: 0, to: result, destinationOffset: start * outputUnits, count: rows * outputUnits)
            for callback in callbacks { try callback.onPredictBatchEnd(batchIndex) }
            start += rows
        }
        for callback in callbacks { try callback.onPredictEnd() }
        let scalars = backend.download(result, offset: 0, count: x.rowCount * outputUnits)
        try backend.checkError()
        return Tensor(shape: [x.rowCount, outputUnits], scalars: scalars)
    }

    // MARK: Steps

    func forward(_ input: DeviceBuffer, rows: Int, training: Bool) -> DeviceBuffer {
        if training {
            let step = compilation?.optimizer.iterations ?? 0
            for layer in layers {
                layer.randomSeed = seed
                layer.randomStep = step
            }
        }
        return layers.reduce(input) { $1.forward($0, rows: rows, training: training) }
    }

    /// Every weight penalty of the model.
    var regularizedParameters: [(parameter: Parameter, regularizer: Regularizer)] { layers.flatMap(\.regularizedParameters) }

    /// Gathers the shuffled batch `order[start..<start+rows]` into the step buffers, on the device.
    func gatherBatch(data: DeviceDataset, order: DeviceBuffer, start: Int, rows: Int, buffers: StepBuffers) {
        backend.gatherRows(source: data.x, rowLength: data.xColumns, indices: order, indexOffset: start, rows: rows,
                           destination: buffers.x)
        backend.gatherRows(source: data.y, rowLength: data.yColumns, indices: order, indexOffset: start, rows: rows,
                           destination: buffers.y)
        if let weights = data.weights, let batchWeights = buffers.weights {
            backend.gatherRows(source: weights, rowLength: 1, indices: order, indexOffset: start, rows: rows, destination: batchWeights)
        }
    }

    /// Forward and backward on the batch in `buffers.x`, `buffers.y`: leaves `∂loss/∂w` in every
    /// parameter's gradient buffer and adds the batch's loss and metric sums to the accumulator.
    func computeGradients(rows: Int, buffers: StepBuffers, compiled: Compilation) {
        // With the loss fused into the last activation and neither a metric nor a callback reading its activated
        // output, that activation (a softmax: an exp per value) is left out of the forward pass.
        let last = layers[layers.count - 1]
        last.skipsOutputActivation = !stepNeedsLayerOutputs && compiled.loss.fused(with: last.outputActivation) != nil
            && compiled.slots.allSatisfy { $0.readsOnlyPreActivation(lastActivation: last.outputActivation) }
        let output = forward(buffers.x, rows: rows, training: true)
        last.skipsOutputActivation = false
        let fused = accumulateLossAndMetrics(output: output, rows: rows, buffers: buffers, compiled: compiled,
                                             gradient: buffers.gradient)
        var gradient: DeviceBuffer? = buffers.gradient
        for position in stride(from: layers.count - 1, through: 0, by: -1) {
            gradient = layers[position].backward(gradient!, rows: rows, gradientIsPreActivation: fused && position == layers.count - 1,
                                                 needsInputGradient: position > 0)
        }
        for (parameter, regularizer) in compiled.regularized {
            backend.regularizationGradient(parameter.value, gradients: parameter.gradient!, count: parameter.count,
                                           l1: regularizer.l1, l2: regularizer.l2)
        }
    }

    /// Adds the batch's loss and metric sums to the accumulator and, when `gradient` is given, writes
    /// `∂(mean loss)/∂output` into it. Returns whether the loss was fused with the last activation (the
    /// gradient is then with respect to the pre-activation values).
    @discardableResult
    func accumulateLossAndMetrics(output: DeviceBuffer, rows: Int, buffers: StepBuffers, compiled: Compilation,
                                  gradient: DeviceBuffer?) -> Bool {
        let last = layers[layers.count - 1]
        let fused = compiled.loss.fused(with: last.outputActivation)
        backend.lossForwardBackward(fused ?? compiled.loss, predictions: fused != nil ? last.preActivationOutput! : output,
                                    targets: buffers.y, sampleWeights: gradient != nil ? buffers.weights : nil, rows: rows,
                                    columns: outputUnits, gradient: gradient, gradientScale: 1 / Float(rows),
                                    accumulator: buffers.accumulator, accumulatorIndex: 0)
        // Weight penalties join the loss once per batch, weighted like the batch's samples.
        for (parameter, regularizer) in compiled.regularized {
            backend.regularizationPenalty(parameter.value, count: parameter.count, l1: regularizer.l1, l2: regularizer.l2,
                                          scale: Float(rows), accumulator: buffers.accumulator, index: 0)
        }
        for slot in compiled.slots {
            switch slot.kind {
            case .accuracy(let kind):
                backend.accuracyCount(kind, predictions: output, targets: buffers.y, rows: rows, columns: outputUnits,
                                      accumulator: buffers.accumulator, accumulatorIndex: slot.offset)
            case let .topK(k, sparse):
                backend.topKAccuracyCount(predictions: output, targets: buffers.y, rows: rows, columns: outputUnits, k: k, sparse: sparse,
                                          accumulator: buffers.accumulator, index: slot.offset)
            case let .confusion(thresholds, count, _):
                backend.confusionCounts(predictions: output, targets: buffers.y, count: rows * outputUnits, thresholds: thresholds,
                                        thresholdCount: count, accumulator: buffers.accumulator, index: slot.offset)
            case .loss(let metricLoss):
                let metricFused = metricLoss.fused(with: last.outputActivation)
                backend.lossForwardBackward(metricFused ?? metricLoss, predictions: metricFused != nil ? last.preActivationOutput! : output,
                                            targets: buffers.y, rows: rows, columns: outputUnits, gradient: nil, gradientScale: 0,
                                            accumulator: buffers.accumulator, accumulatorIndex: slot.offset)
            }
        }
        return fused != nil
    }

    func evaluate(_ data: DeviceDataset, batchSize: Int, compiled: Compilation, callbacks: [Callback] = []) throws -> [(String, Float)] {
        for callback in callbacks { try callback.onTestBegin() }
        let batch = min(batchSize, data.count)
        let buffers = StepBuffers(batchSize: batch, xColumns: inputDim, yColumns: data.yColumns,
                                  outputColumns: outputUnits, accumulatorWidth: compiled.accumulatorWidth, backend: backend)
        backend.fill(buffers.accumulator, value: 0, offset: 0, count: buffers.accumulator.count)
        var start = 0
        while start < data.count {
            let rows = min(batch, data.count - start)
            backend.copy(data.x, sourceOffset: start * data.xColumns, to: buffers.x, destinationOffset: 0, count: rows * data.xColumns)
            backend.copy(data.y, sourceOffset: start * data.yColumns, to: buffers.y, destinationOffset: 0, count: rows * data.yColumns)
            for callback in callbacks { try callback.onTestBatchBegin(start / batch) }
            let output = forward(buffers.x, rows: rows, training: false)
            accumulateLossAndMetrics(output: output, rows: rows, buffers: buffers, compiled: compiled, gradient: nil)
            for callback in callbacks { try callback.onTestBatchEnd(start / batch) }
            start += rows
        }
        let logs = try readLogs(buffers, samples: data.count, compiled: compiled)
        for callback in callbacks { try callback.onTestEnd(logs: logs) }
        return logs
    }

    /// Reads the accumulator (one small download) and turns sums into means; surfaces any device error.
    func readLogs(_ buffers: StepBuffers, samples: Int, compiled: Compilation) throws -> [(String, Float)] {
        let sums = backend.download(buffers.accumulator)
        try backend.checkError()
        return [("loss", sums[0] / Float(max(samples, 1)))] + compiled.slots.map { ($0.name, $0.value(sums, samples: samples)) }
    }

    /// `x` through ``inputScaler`` (unchanged without one).
    func scaled(_ x: Tensor) -> Tensor { inputScaler.map { $0.transform(x) } ?? x }

    /// The class index of each target row: the label, the argmax of a one-hot row, or the rounded 0/1 value.
    static func classIndices(_ y: Tensor, loss: LossKind) -> [Int] {
        (0..<y.rowCount).map { row in
            let values = Array(y.row(row))
            if values.count == 1 { return Int(values[0].rounded()) }
            return values.indices.max { values[$0] < values[$1] } ?? 0
        }
    }

    // MARK: Checks

    func requireCompiled(_ what: String) throws -> Compilation {
        guard let compilation else {
            throw MLPError.notReady("\(what) needs a compiled model: call compile(optimizer:loss:metrics:) first")
        }
        return compilation
    }

    func checkFeatures(_ x: Tensor, role: String) throws {
        guard x.shape.count == 2 else {
            throw MLPError.shapeMismatch("\(role) must be (samples, features), got shape \(x.shape)")
        }
        guard x.columnCount == inputDim else {
            throw MLPError.shapeMismatch("\(role) has \(x.columnCount) features per sample, the model expects \(inputDim)")
        }
    }

    /// Checks features and targets against the model and the loss, naming the first offending sample.
    func checkData(x: Tensor, y: Tensor, role: String) throws {
        try checkFeatures(x, role: role)
        guard let loss = compilation?.loss else { return }
        guard y.rowCount == x.rowCount else {
            throw MLPError.shapeMismatch("\(role) has \(x.rowCount) samples but \(y.rowCount) targets")
        }
        let expected = loss.targetColumns(predictionColumns: outputUnits)
        guard y.columnCount == expected else {
            throw MLPError.shapeMismatch("\(role): \(loss.kerasName) with \(outputUnits) output units needs \(expected) target value(s) per sample, got \(y.columnCount)")
        }
        if case .sparseCategoricalCrossentropy = loss {
            if let bad = y.scalars.firstIndex(where: { $0 < 0 || $0 >= Float(outputUnits) || $0 != $0.rounded() }) {
                throw MLPError.labelOutOfRange("\(role): label \(y.scalars[bad]) of sample \(bad) is not a class index 0..\(outputUnits - 1) of the \(outputUnits)-unit output layer")
            }
        }
    }
}
