import MLPCore
import MLPTraining

/// Every loss, with and without sample weights, gradient included.
extension BackendParity {
    static func losses(reference: any Backend, candidate: any Backend) throws -> [Check] {
        let samples = Samples()
        let rows = samples.rows, columns = samples.columns
        let probabilities = samples.probabilities
        let logits = samples.logits
        let labels = samples.labels
        let oneHot = samples.oneHot
        let bits = samples.bits
        var checks: [Check] = []
        let losses: [(LossKind, [Float], [Float])] = [
            (.meanSquaredError, logits, values(rows * columns, seed: 14)),
            (.meanAbsoluteError, logits, values(rows * columns, seed: 15)),
            (.binaryCrossentropy(fromLogits: false), values(rows * columns, seed: 16, low: 0, high: 1), bits),
            (.binaryCrossentropy(fromLogits: true), logits, bits),
            (.categoricalCrossentropy(fromLogits: false), probabilities, oneHot),
            (.categoricalCrossentropy(fromLogits: true), logits, oneHot),
            (.sparseCategoricalCrossentropy(fromLogits: false), probabilities, labels),
            (.sparseCategoricalCrossentropy(fromLogits: true), logits, labels),
        ]
        for (loss, predictions, targets) in losses {
            checks += try check("loss \(loss.kerasName) logits=\(loss.isFromLogits)", reference: reference, candidate: candidate,
                                inputs: [predictions, targets, [Float](repeating: 0, count: predictions.count), [0.5, 0]],
                                outputs: [2, 3]) { b, x in
                b.lossForwardBackward(loss, predictions: x[0], targets: x[1], rows: rows, columns: columns, gradient: x[2],
                                      gradientScale: 1 / Float(rows), accumulator: x[3], accumulatorIndex: 0)
                b.lossForwardBackward(loss, predictions: x[0], targets: x[1], rows: rows - 3, columns: columns, gradient: nil,
                                      gradientScale: 0, accumulator: x[3], accumulatorIndex: 1)
            }
        }
        let weights = values(rows, seed: 18, low: 0, high: 3)
        for (loss, predictions, targets) in losses {
            checks += try check("weighted loss \(loss.kerasName) logits=\(loss.isFromLogits)", reference: reference, candidate: candidate,
                                inputs: [predictions, targets, [Float](repeating: 0, count: predictions.count), [0], weights],
                                outputs: [2, 3]) { b, x in
                b.lossForwardBackward(loss, predictions: x[0], targets: x[1], sampleWeights: x[4], rows: rows, columns: columns,
                                      gradient: x[2], gradientScale: 1 / Float(rows), accumulator: x[3], accumulatorIndex: 0)
            }
        }
        return checks
    }
}
