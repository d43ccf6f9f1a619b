import MLPCore

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

/// What one epoch of training reads: the step count, the epoch's setup, and how step `s`'s batch gets into
/// the step buffers (returning this rank's number of samples and the global batch's).
struct TrainingFeed {
    let stepsPerEpoch: Int
    let beginEpoch: (Int) throws -> Void
    let loadStep: (Int) throws -> (rows: Int, globalRows: Int)
    let endEpoch: (Int) -> Void
    /// Validation logs (keys without the `val_` prefix), or nil when there is no validation data.
    let validate: (([Callback]) throws -> Logs)?
}

extension Sequential {
    /// Trains for `epochs` passes over `x`, `y` (Keras' `fit`), returning the per-epoch logs.
    ///
    /// - Parameters:
    ///   - x: (samples, inputDim).
    ///   - y: class indices (samples) or (samples, 1) for sparse categorical cross-entropy; otherwise
    ///     (samples, outputUnits).
    ///   - batchSize: 32 by default; the last batch of an epoch may be smaller.
    ///   - epochs: the epoch index to stop before (1 by default).
    ///   - verbose: 0 silent, 1 progress bar (the default), 2 one line per epoch.
    ///   - validationSplit: the **last** fraction of the samples, taken before shuffling, is held out.
    ///   - validationData: overrides `validationSplit`.
    ///   - shuffle: a new order each epoch, from the model's seed and the epoch number.
    ///   - callbacks: run in order at each hook, after the progress bar and before the history (as Keras).
    ///   - initialEpoch: the epoch to start at (to resume a run); `epochs` is the index to stop before.
    ///   - validationFreq: validate after every `validationFreq`-th epoch.
    ///   - classWeight: a loss weight per class index (missing classes weigh 1); the class of a sample is its
    ///     label, the argmax of a one-hot row, or the rounded 0/1 target.
    ///   - sampleWeight: a loss weight per sample (not together with `classWeight`, as in Keras). Weights scale each
    ///     sample's loss and gradient; the mean still divides by the number of samples (Keras'
    ///     "sum over batch size"); metrics are unweighted.
    ///   - distribution: the job to train in, data-parallel (``SingleProcess`` by default). `batchSize` is then
    ///     the global batch: each one is the batch a single process would draw, split across the ranks, whose
    ///     gradients are summed; every rank starts from rank 0's weights, and only rank 0 prints.
    @discardableResult
    public func fit(x: Tensor, y: Tensor, batchSize: Int = 32, epochs: Int = 1, verbose: Int = 1,
                    validationSplit: Double = 0, validationData: (x: Tensor, y: Tensor)? = nil,
                    shuffle: Bool = true, callbacks: [Callback] = [], initialEpoch: Int = 0,
                    validationFreq: Int = 1, classWeight: [Int: Float]? = nil, sampleWeight: [Float]? = nil,
                    distribution: any Communicator = SingleProcess()) throws -> History {
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
            let splitAt = Sequential.validationSplitIndex(rows: x.rowCount, fraction: validationSplit)
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
            let classes = Sequential.classIndices(train.y)
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
                // This rank's contiguous share of the global batch `order[start..<start+globalRows]`.
                let start = step * batch
                let globalRows = min(batch, data.count - start)
                let share = distribution.share(of: globalRows)
                if !share.isEmpty {
                    gatherBatch(data: data, order: order, start: start + share.lowerBound, rows: share.count, buffers: buffers)
                }
                return (share.count, globalRows)
            },
            endEpoch: { _ in },
            validate: validationSet.map { set in { [self] callbacks in try evaluate(set, batchSize: batch, compiled: compiled, callbacks: callbacks) } })
        return try runTraining(feed: feed, buffers: buffers, compiled: compiled, epochs: epochs, verbose: verbose, callbacks: callbacks,
                               initialEpoch: initialEpoch, validationFreq: validationFreq, distribution: distribution)
    }

    /// The epoch loop shared by every way of feeding `fit`: callbacks, progress, one step per batch, logs read at
    /// progress updates and epoch end, validation every `validationFreq` epochs, History. In a job of several ranks
    /// each step's gradients and running sums cross the ranks in allreduces of gradient buckets (one fused one by
    /// default; see ``GradientBuckets``), so every rank sees the same global logs (and callbacks decide alike);
    /// only rank 0 prints.
    func runTraining(feed: TrainingFeed, buffers: StepBuffers, compiled: Compilation, epochs: Int, verbose: Int,
                     callbacks: [Callback], initialEpoch: Int, validationFreq: Int,
                     distribution: any Communicator) throws -> History {
        self.distribution = distribution
        let state = distributedState
        state.allreduceSeconds = 0
        state.allreduceSteps = 0
        defer {
            self.distribution = SingleProcess()
            state.globalRows = 0
        }
        let distributed = distribution.size > 1
        let verbose = distribution.isWriter ? verbose : 0
        // A release build for less than this CPU has says once which flags would make it faster (stderr).
        if backend is CPUBackend { CPUBuildNotice.showOnce() }
        let parameters = compiled.parameters
        let buckets = distributed ? try prepareBuckets(compiled: compiled, buffers: buffers) : nil
        var history = History()
        // Those that run after the others (BackupAndRestore, which saves and restores their settled state) go last.
        let first = callbacks.filter { !$0.runsAfterOthers }
        let callbacks = first + callbacks.filter(\.runsAfterOthers)
        for callback in callbacks where callback.runsAfterOthers { callback.willTrain(after: first) }
        let batchLogs = callbacks.contains { $0.needsBatchLogs }
        for callback in callbacks { callback.model = self }
        stopTraining = false
        for callback in callbacks { try callback.onTrainBegin(logs: []) }
        var startEpoch = callbacks.compactMap(\.resumeEpoch).last ?? initialEpoch
        if distributed { startEpoch = synchronizeStart(epoch: startEpoch, compiled: compiled) }
        var logs: Logs = []
        // The running logs: this process's sums, or (data-parallel) the last allreduce's global ones.
        func running(_ samples: Int) throws -> Logs {
            distributed ? self.logs(fromSums: state.reducedSums, samples: samples, compiled: compiled)
                : try readLogs(buffers, samples: samples, compiled: compiled)
        }

        for epoch in startEpoch..<max(epochs, startEpoch) {
            for callback in callbacks { try callback.onEpochBegin(epoch) }
            if verbose > 0 { output("Epoch \(epoch + 1)/\(epochs)\n") }
            let progress = ProgressBar(target: feed.stepsPerEpoch, verbose: verbose, isTerminal: outputIsTerminal, write: output)
            try feed.beginEpoch(epoch)
            backend.fill(buffers.accumulator, value: 0, offset: 0, count: buffers.accumulator.count)
            var samples = 0
            for step in 0..<feed.stepsPerEpoch {
                for callback in callbacks { try callback.onTrainBatchBegin(step) }
                var needs: StepNeeds = []
                for callback in callbacks { needs.formUnion(callback.needs(forStep: step)) }
                let (rows, globalRows) = try feed.loadStep(step)
                currentBatchRows = rows
                samples += globalRows
                if distributed {
                    state.globalRows = globalRows
                    computeDistributedGradients(rows: rows, buffers: buffers, compiled: compiled, needs: needs, buckets: buckets!)
                } else {
                    computeGradients(rows: rows, buffers: buffers, compiled: compiled, needs: needs)
                }
                compiled.optimizer.apply(to: parameters, on: backend)
                let batch = batchLogs ? try running(samples) : nil
                for callback in callbacks { try callback.onTrainBatchEnd(step, logs: batch) }
                if progress.wantsUpdate {
                    progress.update(step + 1, values: try batch ?? running(samples))
                }
                if stopTraining { break }
            }
            feed.endEpoch(epoch)
            state.globalRows = 0
            logs = try running(samples)
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

    /// The class index of each target row: the label, the argmax of a one-hot row, or the rounded 0/1 value.
    /// Where `fit(validationSplit:)` cuts `rows` samples: Keras' `int(math.floor(n * (1.0 - validation_split)))`
    /// in float64, so 1000 samples with 0.2 keep 800 and hold out 200.
    public static func validationSplitIndex(rows: Int, fraction: Double) -> Int {
        Int((Double(rows) * (1.0 - fraction)).rounded(.down))
    }

    static func classIndices(_ y: Tensor) -> [Int] {
        (0..<y.rowCount).map { row in
            let values = Array(y.row(row))
            if values.count == 1 { return Int(values[0].rounded()) }
            return values.indices.max { values[$0] < values[$1] } ?? 0
        }
    }
}
