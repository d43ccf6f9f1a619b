import MLPCore

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

extension Sequential {
    /// Runs every layer on `rows` samples of `input` for the pass `context` describes; returns the last layer's
    /// output. Only the last layer gets `context` as it is: every other one feeds a layer, so its activated
    /// output is needed.
    func forward(_ input: DeviceBuffer, rows: Int, context: StepContext) -> DeviceBuffer {
        var output = input
        for position in layers.indices {
            output = layers[position].forward(output, rows: rows, context: layerContext(context, position: position))
        }
        return output
    }

    /// `context` as layer `position` sees it.
    @inline(__always)
    func layerContext(_ context: StepContext, position: Int) -> StepContext {
        position == layers.count - 1 ? context : context.feedingAnotherLayer
    }

    /// A training step's context at the optimizer's current step (so dropout draws (seed, layer, step)).
    func trainingContext(compiled: Compilation, needsOutputActivation: Bool = true) -> StepContext {
        StepContext(training: true, seed: seed, step: compiled.optimizer.iterations, needsOutputActivation: needsOutputActivation)
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
    /// parameter's gradient buffer and adds the batch's loss and metric sums to the accumulator. `needs` is what
    /// the callbacks read of the step afterwards. A data-parallel step adds the weight penalties' gradients after the
    /// allreduce instead (`addsPenaltyGradients` false), so they count once, and passes `afterLayerBackward`, called
    /// with each layer's position once its backward pass is done (last layer first), to start the gradient sums.
    func computeGradients(rows: Int, buffers: StepBuffers, compiled: Compilation, needs: StepNeeds = [],
                          addsPenaltyGradients: Bool = true, afterLayerBackward: ((Int) -> Void)? = nil) {
        // With the loss fused into the last activation and neither a metric nor a callback reading its activated
        // output, that activation (a softmax: an exp per value) is left out of the forward pass.
        let last = layers[layers.count - 1]
        let skipsOutputActivation = !needs.contains(.layerOutputs) && compiled.loss.fused(with: last.outputActivation) != nil
            && compiled.slots.allSatisfy { $0.readsOnlyPreActivation(lastActivation: last.outputActivation) }
        let context = trainingContext(compiled: compiled, needsOutputActivation: !skipsOutputActivation)
        let output = forward(buffers.x, rows: rows, context: context)
        let fused = accumulateLossAndMetrics(output: output, rows: rows, buffers: buffers, compiled: compiled,
                                             gradient: buffers.gradient)
        var gradient: DeviceBuffer? = buffers.gradient
        for position in stride(from: layers.count - 1, through: 0, by: -1) {
            gradient = layers[position].backward(gradient!, rows: rows, context: layerContext(context, position: position),
                                                 gradientIsPreActivation: fused && position == layers.count - 1,
                                                 needsInputGradient: position > 0)
            afterLayerBackward?(position)
        }
        if addsPenaltyGradients { addPenaltyGradients(compiled: compiled) }
    }

    /// Adds the batch's loss and metric sums to the accumulator and, when `gradient` is given, writes
    /// `∂(mean loss)/∂output` into it (the mean over the global batch in a data-parallel step). Returns whether the loss was fused with the last activation (the
    /// gradient is then with respect to the pre-activation values).
    @discardableResult
    func accumulateLossAndMetrics(output: DeviceBuffer, rows: Int, buffers: StepBuffers, compiled: Compilation,
                                  gradient: DeviceBuffer?) -> Bool {
        let last = layers[layers.count - 1]
        let fused = compiled.loss.fused(with: last.outputActivation)
        backend.lossForwardBackward(fused ?? compiled.loss, predictions: fused != nil ? last.preActivationOutput! : output,
                                    targets: buffers.y, sampleWeights: gradient != nil ? buffers.weights : nil, rows: rows,
                                    columns: outputUnits, gradient: gradient, gradientScale: 1 / Float(distributedState.globalRows > 0 ? distributedState.globalRows : rows),
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

    /// Reads the accumulator (one small download) and turns sums into means; surfaces any device error. With
    /// `acrossRanks` the sums are first added over the ranks of the job (`samples` is then the global count).
    func readLogs(_ buffers: StepBuffers, samples: Int, compiled: Compilation, acrossRanks: Bool = false) throws -> [(String, Float)] {
        var sums = backend.download(buffers.accumulator)
        try backend.checkError()
        if acrossRanks { distribution.allreduceSum(&sums) }
        return logs(fromSums: sums, samples: samples, compiled: compiled)
    }

    /// The loss and metric means of accumulator `sums` over `samples` samples.
    func logs(fromSums sums: [Float], samples: Int, compiled: Compilation) -> [(String, Float)] {
        [("loss", sums[0] / Float(max(samples, 1)))] + compiled.slots.map { ($0.name, $0.value(sums, samples: samples)) }
    }
}
