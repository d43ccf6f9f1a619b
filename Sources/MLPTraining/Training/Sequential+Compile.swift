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

extension Sequential {
    /// Configures training (Keras' `compile`). `"accuracy"` is resolved here from the loss and the output
    /// width.
    ///
    /// - Parameters:
    ///   - optimizer: default ``RMSprop`` with Keras' defaults, as Keras' `compile()`.
    ///   - loss: see ``Loss`` (the backend's `LossKind` with Keras' names).
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
    /// The compiled loss (nil before `compile`).
    public var loss: Loss? { compilation?.loss }
    /// The compiled metrics, in order (empty before `compile`).
    public var metrics: [Metric] { compilation?.metrics ?? [] }

    /// The compilation, or an error saying that `what` needs one.
    func requireCompiled(_ what: String) throws -> Compilation {
        guard let compilation else {
            throw MLPError.notReady("\(what) needs a compiled model: call compile(optimizer:loss:metrics:) first")
        }
        return compilation
    }
}
