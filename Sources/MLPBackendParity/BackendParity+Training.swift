import MLPCore
import MLPTraining

/// Whole training runs on both backends.
extension BackendParity {
    /// The seed model (14→25→36→47→7) trained 5 epochs from the same seed on both backends: per-epoch
    /// losses within 1e-4 relative, and predictions of the trained models within 1e-5.
    public static func training(reference: any Backend, candidate: any Backend) throws -> [Check] {
        var random = PhiloxRandom(seed: 11, stream: 77)
        let samples = 300
        let x = Tensor(shape: [samples, 14], scalars: (0..<(samples * 14)).map { _ in random.nextNormal() })
        let y = Tensor(shape: [samples, 1], scalars: (0..<samples).map { Float(Int((x[$0, 0] + x[$0, 1] * 2 + 10) * 1.7) % 7) })
        var losses: [[Float]] = [], predictions: [[Float]] = []
        for backend in [reference, candidate] {
            let model = Sequential(inputDim: 14, [Dense(25, activation: .relu), Dense(36, activation: .relu),
                                                  Dense(47, activation: .relu), Dense(7, activation: .softmax)], seed: 2024, backend: backend)
            try model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(fromLogits: false), metrics: [.accuracy])
            let history = try model.fit(x: x, y: y, batchSize: 32, epochs: 5, verbose: 0, validationSplit: 0.2)
            losses.append(history.history["loss"]! + history.history["val_loss"]!)
            predictions.append(try model.predict(x).scalars)
        }
        let relative = zip(losses[0], losses[1]).map { abs($0 - $1) / abs($0) }.max() ?? .infinity
        return [Check(name: "seed model, 5 epochs: loss and val_loss (relative)", maxDifference: relative, allowed: 1e-4,
                      firstReference: Array(losses[0].prefix(4)), firstCandidate: Array(losses[1].prefix(4))),
                compare("seed model, 5 epochs: predictions", predictions[0], predictions[1], tolerance: 1e-5)]
    }
}
