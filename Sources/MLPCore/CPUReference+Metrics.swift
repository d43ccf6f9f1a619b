/// The reference metric counts (``BackendMetrics``).
extension CPUReference {
    /// Correct predictions among `rows` samples (binary accuracy counts a sample's mean over outputs).
    public static func accuracyCount(_ kind: AccuracyKind, predictions p: UnsafePointer<Float>, targets t: UnsafePointer<Float>,
                                     rows: Int, columns: Int) -> Float {
        var correct: Float = 0
        for r in 0..<rows {
            let o = r * columns
            switch kind {
            case .binary:
                var hits: Float = 0
                for j in 0..<columns where (p[o + j] > 0.5 ? 1 : 0) == t[o + j] { hits += 1 }
                correct += hits / Float(columns)
            case .categorical:
                if argmax(p + o, columns) == argmax(t + o, columns) { correct += 1 }
            case .sparseCategorical:
                if Float(argmax(p + o, columns)) == t[r] { correct += 1 }
            }
        }
        return correct
    }

    /// The first index of the largest value.
    static func argmax(_ row: UnsafePointer<Float>, _ count: Int) -> Int {
        var best = 0
        for j in 1..<max(count, 1) where row[j] > row[best] { best = j }
        return best
    }

    /// Samples whose target class is among the `k` largest predictions (ties count against: a class is in
    /// the top k when fewer than k classes score strictly higher).
    public static func topKAccuracyCount(predictions p: UnsafePointer<Float>, targets t: UnsafePointer<Float>, rows: Int, columns: Int,
                                         k: Int, sparse: Bool) -> Float {
        var correct: Float = 0
        for r in 0..<rows {
            let o = r * columns
            let target = sparse ? Int(t[r]) : argmax(t + o, columns)
            guard target >= 0 && target < columns else { continue }
            var higher = 0
            for j in 0..<columns where p[o + j] > p[o + target] { higher += 1 }
            if higher < k { correct += 1 }
        }
        return correct
    }

    /// (TP, FP, TN, FN) of `p > threshold` against `t > 0.5`, per threshold.
    public static func confusionCounts(predictions p: UnsafePointer<Float>, targets t: UnsafePointer<Float>, count: Int,
                                       thresholds: UnsafePointer<Float>, thresholdCount: Int, into out: UnsafeMutablePointer<Float>) {
        for i in 0..<thresholdCount {
            var tp: Float = 0, fp: Float = 0, tn: Float = 0, fn: Float = 0
            for e in 0..<count {
                let positive = p[e] > thresholds[i], actual = t[e] > 0.5
                if positive && actual { tp += 1 } else if positive { fp += 1 } else if actual { fn += 1 } else { tn += 1 }
            }
            out[4 * i] += tp
            out[4 * i + 1] += fp
            out[4 * i + 2] += tn
            out[4 * i + 3] += fn
        }
    }
}
