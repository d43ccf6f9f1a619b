import MLPCore

/// The seed notebook's sanity procedure, run before any real data is prepared: predict on a random
/// tensor, compile, evaluate on random data, fit a few epochs on random data, and see the loss go down.
///
/// A model that cannot fit 64 random samples has a bug (wrong output width for the loss, a dead
/// activation, a learning rate far off); this finds it in a second.
public struct SanityReport: Sendable {
    /// The shape `predict` returned for the random batch.
    public let predictionShape: [Int]
    /// Loss and metrics of the untrained model on the random data.
    public let initialLogs: [(String, Float)]
    /// The loss after each epoch of fitting the random data.
    public let losses: [Float]
    /// Whether the last epoch's loss is below the untrained loss.
    public var lossWentDown: Bool { (losses.last ?? .infinity) < (initialLogs.first?.1 ?? -.infinity) }
}

extension Sequential {
    /// Runs the sanity procedure on random data shaped for this model and `loss`.
    ///
    /// Random targets: class indices for sparse categorical cross-entropy, one-hot rows for categorical,
    /// 0/1 for binary cross-entropy, standard normal values otherwise. The model is compiled with
    /// `optimizer` (and trained: use a fresh model for real training).
    public func sanityCheck(loss: Loss, optimizer: Optimizer = Adam(learningRate: 0.01), samples: Int = 64,
                            epochs: Int = 20, verbose: Int = 0) throws -> SanityReport {
        var random = PhiloxRandom(seed: seed, stream: PhiloxStream.sanityCheck)
        let probe = Tensor(shape: [samples, inputDim], scalars: (0..<(samples * inputDim)).map { _ in random.nextNormal() })
        let predictionShape = try predict(probe).shape
        let units = outputUnits
        let targets: Tensor
        switch loss {
        case .sparseCategoricalCrossentropy:
            targets = Tensor(shape: [samples, 1], scalars: (0..<samples).map { _ in Float(random.nextInt(below: units)) })
        case .categoricalCrossentropy:
            var oneHot = [Float](repeating: 0, count: samples * units)
            for row in 0..<samples { oneHot[row * units + random.nextInt(below: units)] = 1 }
            targets = Tensor(shape: [samples, units], scalars: oneHot)
        case .binaryCrossentropy:
            targets = Tensor(shape: [samples, units], scalars: (0..<(samples * units)).map { _ in Float(random.nextInt(below: 2)) })
        default:
            targets = Tensor(shape: [samples, units], scalars: (0..<(samples * units)).map { _ in random.nextNormal() })
        }
        try compile(optimizer: optimizer, loss: loss, metrics: [.accuracy])
        let initial = try evaluate(x: probe, y: targets)
        let history = try fit(x: probe, y: targets, batchSize: 16, epochs: epochs, verbose: verbose)
        return SanityReport(predictionShape: predictionShape, initialLogs: initial, losses: history.history["loss"] ?? [])
    }
}
