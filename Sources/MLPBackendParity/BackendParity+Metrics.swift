import MLPCore

/// Accuracy (binary, categorical, sparse), top-k accuracy and confusion counts.
extension BackendParity {
    static func metrics(reference: any Backend, candidate: any Backend) throws -> [Check] {
        let samples = Samples()
        let rows = samples.rows, columns = samples.columns
        let probabilities = samples.probabilities
        let labels = samples.labels
        let oneHot = samples.oneHot
        let bits = samples.bits
        var checks: [Check] = []
        for (k, sparse, targets) in [(1, true, labels), (2, true, labels), (3, false, oneHot)] {
            checks += try check("top-\(k) accuracy sparse=\(sparse)", reference: reference, candidate: candidate,
                                inputs: [probabilities, targets, [0, 0]], outputs: [2]) { b, x in
                b.topKAccuracyCount(predictions: x[0], targets: x[1], rows: rows, columns: columns, k: k, sparse: sparse,
                                    accumulator: x[2], index: 1)
            }
        }
        let thresholds = (0..<20).map { Float($0) / 19 }
        checks += try check("confusion counts (20 thresholds)", reference: reference, candidate: candidate,
                            inputs: [values(rows * columns, seed: 19, low: 0, high: 1), bits, thresholds,
                                     [Float](repeating: 0, count: 82)], outputs: [3]) { b, x in
            b.confusionCounts(predictions: x[0], targets: x[1], count: rows * columns, thresholds: x[2], thresholdCount: 20,
                              accumulator: x[3], index: 2)
        }
        let metrics: [(AccuracyKind, [Float], [Float])] = [
            (.binary, values(rows * columns, seed: 17, low: 0, high: 1), bits),
            (.categorical, probabilities, oneHot),
            (.sparseCategorical, probabilities, labels),
        ]
        for (kind, predictions, targets) in metrics {
            checks += try check("accuracy \(kind.rawValue)", reference: reference, candidate: candidate,
                                inputs: [predictions, targets, [0, 1]], outputs: [2]) { b, x in
                b.accuracyCount(kind, predictions: x[0], targets: x[1], rows: rows, columns: columns, accumulator: x[2], accumulatorIndex: 1)
            }
        }
        return checks
    }
}
