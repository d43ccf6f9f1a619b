import MLPCore

extension Sequential {
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
            let out = forward(xBatch, rows: rows, context: .inference)
            backend.copy(out, sourceOffset: 0, to: result, destinationOffset: start * outputUnits, count: rows * outputUnits)
            for callback in callbacks { try callback.onPredictBatchEnd(batchIndex) }
            start += rows
        }
        for callback in callbacks { try callback.onPredictEnd() }
        let scalars = backend.download(result, offset: 0, count: x.rowCount * outputUnits)
        try backend.checkError()
        return Tensor(shape: [x.rowCount, outputUnits], scalars: scalars)
    }

    /// ``evaluate(x:y:batchSize:verbose:callbacks:)``'s loss and metrics and ``predict(_:batchSize:callbacks:)``'s
    /// outputs from one pass over `x`: each batch runs through the network once, and its outputs are copied out after
    /// they are scored (one read at the end). The same batches as both, so the logs equal `evaluate`'s and the
    /// outputs `predict`'s, bit for bit.
    func evaluateAndPredict(x: Tensor, y: Tensor, batchSize: Int) throws -> (logs: [(String, Float)], predictions: Tensor) {
        let compiled = try requireCompiled("evaluate")
        guard batchSize > 0 else { throw MLPError.invalidArgument("batch size must be positive, got \(batchSize)") }
        try checkData(x: x, y: y, role: "evaluation data")
        guard x.rowCount > 0 else { throw MLPError.invalidArgument("evaluate got no samples") }
        let result = backend.makeBuffer(count: x.rowCount * outputUnits)
        let logs = try evaluate(DeviceDataset(x: scaled(x), y: y, backend: backend), batchSize: batchSize, compiled: compiled,
                                predictions: result)
        let scalars = backend.download(result, offset: 0, count: x.rowCount * outputUnits)
        try backend.checkError()
        return (logs, Tensor(shape: [x.rowCount, outputUnits], scalars: scalars))
    }

    /// Loss and metrics over `data` in inference mode, `batchSize` rows at a time (`evaluate` and validation). In a
    /// data-parallel `fit` each rank evaluates its contiguous share of the rows and the sums are added over the ranks.
    /// With `predictions` (`data.count × outputUnits`), each batch's outputs are also copied into it at their rows.
    func evaluate(_ data: DeviceDataset, batchSize: Int, compiled: Compilation, callbacks: [Callback] = [],
                  predictions: DeviceBuffer? = nil) throws -> [(String, Float)] {
        for callback in callbacks { try callback.onTestBegin() }
        let batch = min(batchSize, data.count)
        let buffers = StepBuffers(batchSize: batch, xColumns: inputDim, yColumns: data.yColumns,
                                  outputColumns: outputUnits, accumulatorWidth: compiled.accumulatorWidth, backend: backend)
        backend.fill(buffers.accumulator, value: 0, offset: 0, count: buffers.accumulator.count)
        let range = distribution.share(of: data.count)
        var start = range.lowerBound
        while start < range.upperBound {
            let rows = min(batch, range.upperBound - start)
            backend.copy(data.x, sourceOffset: start * data.xColumns, to: buffers.x, destinationOffset: 0, count: rows * data.xColumns)
            backend.copy(data.y, sourceOffset: start * data.yColumns, to: buffers.y, destinationOffset: 0, count: rows * data.yColumns)
            for callback in callbacks { try callback.onTestBatchBegin((start - range.lowerBound) / batch) }
            let output = forward(buffers.x, rows: rows, context: .inference)
            accumulateLossAndMetrics(output: output, rows: rows, buffers: buffers, compiled: compiled, gradient: nil)
            if let predictions {
                backend.copy(output, sourceOffset: 0, to: predictions, destinationOffset: start * outputUnits, count: rows * outputUnits)
            }
            for callback in callbacks { try callback.onTestBatchEnd((start - range.lowerBound) / batch) }
            start += rows
        }
        let logs = try readLogs(buffers, samples: data.count, compiled: compiled, acrossRanks: distribution.size > 1)
        for callback in callbacks { try callback.onTestEnd(logs: logs) }
        return logs
    }
}
