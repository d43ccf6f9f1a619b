import Foundation
import MLPCore

extension Sequential {
    /// Trains on batches from `source` (Keras' `fit(generator)`), prepared ahead on `workers` threads, at most
    /// `prefetch` batches ahead, in the same order whatever the worker count.
    ///
    /// - Parameters:
    ///   - source: the training batches.
    ///   - epochs: the epoch index to stop before (1 by default).
    ///   - stepsPerEpoch: batches per epoch; required for an endless source, otherwise the source's count.
    ///   - verbose: 0 silent, 1 progress bar (the default), 2 one line per epoch.
    ///   - validationData: batches evaluated after each epoch (every `validationFreq`-th); nil for none.
    ///   - validationSteps: batches of `validationData` per evaluation; required when it is endless.
    ///   - shuffle: for an indexable source, a new batch order each epoch from the model's seed.
    ///   - workers: threads preparing batches (1 by default); the order, and so the model, is the same for any count.
    ///   - prefetch: the most batches prepared ahead (4 by default).
    ///   - callbacks: run in order at each hook, as in the array `fit`.
    ///   - initialEpoch: the epoch to start at (to resume a run).
    ///   - validationFreq: validate after every `validationFreq`-th epoch (1 by default).
    ///   - distribution: the job to train in, data-parallel (``SingleProcess`` by default): each of the source's
    ///     batches is a global batch, and each rank trains on its contiguous share of its rows, which it reads
    ///     alone with ``BatchSource/batch(_:part:of:)``.
    @discardableResult
    public func fit(_ source: BatchSource, epochs: Int = 1, stepsPerEpoch: Int? = nil, verbose: Int = 1,
                    validationData: BatchSource? = nil, validationSteps: Int? = nil, shuffle: Bool = true,
                    workers: Int = 1, prefetch: Int = 4, callbacks: [Callback] = [], initialEpoch: Int = 0,
                    validationFreq: Int = 1, distribution: any Communicator = SingleProcess()) throws -> History {
        let compiled = try requireCompiled("fit")
        let steps = try stepCount(source, requested: stepsPerEpoch, what: "stepsPerEpoch")
        let buffers = StepBuffers(batchSize: 1, xColumns: inputDim, yColumns: compiled.loss.targetColumns(predictionColumns: outputUnits),
                                  outputColumns: outputUnits, accumulatorWidth: compiled.accumulatorWidth, backend: backend)
        var prefetcher: Prefetcher?
        var streamPosition = 0
        let feed = TrainingFeed(
            stepsPerEpoch: steps,
            beginEpoch: { [self] epoch in
                source.onEpochBegin(epoch)
                var indices: [Int]
                if source.batchCount != nil {
                    indices = Array(0..<steps)
                    if shuffle {
                        var random = PhiloxRandom(seed: seed, stream: PhiloxStream.batchShuffle(epoch))
                        indices = random.permutation(steps)
                    }
                } else {
                    // An endless stream continues where the last epoch stopped.
                    indices = Array(streamPosition..<(streamPosition + steps))
                    streamPosition += steps
                }
                // Data-parallel: this rank reads only its share of each global batch.
                prefetcher = Prefetcher(source: source, indices: indices, workers: workers, depth: prefetch,
                                        part: distribution.rank, of: distribution.size)
            },
            loadStep: { [self] _ in
                let (batch, globalRows) = try prefetcher!.nextShare()
                guard distribution.size > 1 else {
                    let rows = try upload(batch, into: buffers, compiled: compiled, role: "training batch")
                    return (rows, rows)
                }
                let share = distribution.share(of: globalRows)
                guard batch.x.rowCount == share.count else {
                    throw MLPError.shapeMismatch("the batch source gave rank \(distribution.rank) \(batch.x.rowCount) rows of a \(globalRows)-row batch; its share is \(share.count) rows (rows \(share.lowerBound)..<\(share.upperBound))")
                }
                guard !share.isEmpty else { return (0, globalRows) }
                return (try upload(batch, into: buffers, compiled: compiled, role: "training batch"), globalRows)
            },
            endEpoch: { epoch in
                prefetcher = nil
                source.onEpochEnd(epoch)
            },
            validate: validationData.map { validation in
                { [self] callbacks in try evaluate(validation, steps: validationSteps, workers: workers, prefetch: prefetch,
                                                   compiled: compiled, callbacks: callbacks) }
            })
        return try runTraining(feed: feed, buffers: buffers, compiled: compiled, epochs: epochs, verbose: verbose, callbacks: callbacks,
                               initialEpoch: initialEpoch, validationFreq: validationFreq, distribution: distribution)
    }

    /// Loss and metrics over the batches of `source` (all of them, or `steps`).
    public func evaluate(_ source: BatchSource, steps: Int? = nil, workers: Int = 1, prefetch: Int = 4,
                         callbacks: [Callback] = []) throws -> Logs {
        let compiled = try requireCompiled("evaluate")
        for callback in callbacks { callback.model = self }
        return try evaluate(source, steps: steps, workers: workers, prefetch: prefetch, compiled: compiled, callbacks: callbacks)
    }

    func evaluate(_ source: BatchSource, steps requested: Int?, workers: Int, prefetch: Int, compiled: Compilation,
                  callbacks: [Callback]) throws -> Logs {
        let steps = try stepCount(source, requested: requested, what: "validationSteps")
        for callback in callbacks { try callback.onTestBegin() }
        let buffers = StepBuffers(batchSize: 1, xColumns: inputDim, yColumns: compiled.loss.targetColumns(predictionColumns: outputUnits),
                                  outputColumns: outputUnits, accumulatorWidth: compiled.accumulatorWidth, backend: backend)
        backend.fill(buffers.accumulator, value: 0, offset: 0, count: buffers.accumulator.count)
        // Data-parallel: each rank evaluates every size-th batch, and the sums (with the sample count) are added.
        let mine = (0..<steps).filter { $0 % distribution.size == distribution.rank }
        let prefetcher = Prefetcher(source: source, indices: mine, workers: workers, depth: prefetch)
        var samples = 0
        for step in mine.indices {
            for callback in callbacks { try callback.onTestBatchBegin(step) }
            var batch = try prefetcher.next()
            batch.sampleWeight = nil
            let rows = try upload(batch, into: buffers, compiled: compiled, role: "evaluation batch")
            samples += rows
            let output = forward(buffers.x, rows: rows, context: .inference)
            accumulateLossAndMetrics(output: output, rows: rows, buffers: buffers, compiled: compiled, gradient: nil)
            for callback in callbacks { try callback.onTestBatchEnd(step) }
        }
        var sums = backend.download(buffers.accumulator)
        try backend.checkError()
        if distribution.size > 1 {
            sums.append(Float(samples))
            distribution.allreduceSum(&sums)
            samples = Int(sums.removeLast())
        }
        let logs = logs(fromSums: sums, samples: samples, compiled: compiled)
        for callback in callbacks { try callback.onTestEnd(logs: logs) }
        return logs
    }

    /// The model's outputs for every batch of `source` (or `steps` of them), stacked.
    public func predict(_ source: BatchSource, steps requested: Int? = nil, workers: Int = 1, prefetch: Int = 4) throws -> Tensor {
        guard !layers.isEmpty else { throw MLPError.notReady("predict needs a model with at least one layer") }
        let steps = try stepCount(source, requested: requested, what: "steps")
        let prefetcher = Prefetcher(source: source, indices: Array(0..<steps), workers: workers, depth: prefetch)
        var scalars: [Float] = []
        var rows = 0
        for _ in 0..<steps {
            let batch = try prefetcher.next()
            let output = try predict(batch.x, batchSize: max(batch.x.rowCount, 1))  // applies inputScaler
            scalars += output.scalars
            rows += output.rowCount
        }
        return Tensor(shape: [rows, outputUnits], scalars: scalars)
    }

    func stepCount(_ source: BatchSource, requested: Int?, what: String) throws -> Int {
        if let requested {
            guard requested > 0 else { throw MLPError.invalidArgument("\(what) must be positive, got \(requested)") }
            if let count = source.batchCount, requested > count {
                throw MLPError.invalidArgument("\(what) \(requested) is more than the source's \(count) batches")
            }
            return requested
        }
        guard let count = source.batchCount else {
            throw MLPError.invalidArgument("an endless batch source needs \(what)")
        }
        guard count > 0 else { throw MLPError.invalidArgument("the batch source has no batches") }
        return count
    }

    /// Checks a batch against the model and loss and writes it into the step buffers (host-to-device).
    func upload(_ batch: Batch, into buffers: StepBuffers, compiled: Compilation, role: String) throws -> Int {
        guard let y = batch.y else { throw MLPError.invalidArgument("a \(role) has no targets") }
        let rows = batch.x.rowCount
        guard rows > 0 else { throw MLPError.invalidArgument("a \(role) is empty") }
        try checkFeatures(batch.x, role: role)
        try checkData(x: batch.x, y: y, role: role)
        if let weights = batch.sampleWeight, weights.count != rows {
            throw MLPError.shapeMismatch("a \(role) has \(rows) samples but \(weights.count) sample weights")
        }
        buffers.ensure(rows: rows, yColumns: y.columnCount, weighted: batch.sampleWeight != nil)
        // Staged: on OpenCL a non-blocking write from backend-owned memory, so the step does not wait.
        backend.uploadStaged(scaled(batch.x).scalars, to: buffers.x, offset: 0)
        backend.uploadStaged(y.scalars, to: buffers.y, offset: 0)
        if let weights = batch.sampleWeight, let target = buffers.weights { backend.uploadStaged(weights, to: target, offset: 0) }
        return rows
    }
}
