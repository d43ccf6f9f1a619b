import Foundation

/// The CPU backend's cross-entropy from logits (softmax or sparse softmax + cross-entropy, the usual output of a
/// classifier): one `exp` per logit instead of the reference's two, and no per-element closure. The loss is the
/// reference's to the bit (`logΣexp − z_label` is what the reference's sum reduces to); the gradient
/// `scale·(softmax(z)·Σt − t)` takes the softmax as `exp(z − max) / Σexp(z − max)` rather than
/// `exp(z − logΣexp)`, which differs from the reference by a few ulps (the tests allow 1e-6).
extension CPUBackend {
    /// Returns the summed loss of `rows` samples, or nil for the losses this path does not cover.
    static func crossEntropyFromLogitsFast(_ loss: LossKind, logits z: UnsafePointer<Float>, targets t: UnsafePointer<Float>,
                                           sampleWeights w: UnsafePointer<Float>?, rows: Int, columns: Int,
                                           gradient g: UnsafeMutablePointer<Float>?, scale: Float) -> Float? {
        let sparse: Bool
        switch loss {
        case .sparseCategoricalCrossentropy(fromLogits: true): sparse = true
        case .categoricalCrossentropy(fromLogits: true): sparse = false
        default: return nil
        }
        var total: Float = 0
        for r in 0..<rows {
            let row = z + r * columns
            var label = -1
            if sparse {
                let value = t[r]
                guard value >= 0, value < Float(columns), value == value.rounded() else {
                    // An impossible label: a NaN loss and, as in the reference, no gradient written for the row.
                    if let w, let g { for j in 0..<columns { g[r * columns + j] *= w[r] } }
                    total += .nan
                    continue
                }
                label = Int(value)
            }
            var maximum = -Float.infinity
            for j in 0..<columns { maximum = max(maximum, row[j]) }
            var sumExp: Float = 0
            if let g {
                let out = g + r * columns
                for j in 0..<columns {
                    out[j] = exp(row[j] - maximum)
                    sumExp += out[j]
                }
            } else {
                for j in 0..<columns { sumExp += exp(row[j] - maximum) }
            }
            let logSumExp = maximum + log(sumExp)
            var sample: Float, targetSum: Float = 1
            if sparse {
                sample = logSumExp - row[label]
            } else {
                sample = 0
                targetSum = 0
                let targets = t + r * columns
                for j in 0..<columns {
                    sample -= targets[j] * (row[j] - logSumExp)
                    targetSum += targets[j]
                }
            }
            if let g {
                let out = g + r * columns
                let inverse = 1 / sumExp
                if sparse {
                    for j in 0..<columns { out[j] = scale * (out[j] * inverse * targetSum - (j == label ? 1 : 0)) }
                } else {
                    let targets = t + r * columns
                    for j in 0..<columns { out[j] = scale * (out[j] * inverse * targetSum - targets[j]) }
                }
            }
            if let w {
                sample *= w[r]
                if let g { for j in 0..<columns { g[r * columns + j] *= w[r] } }
            }
            total += sample
        }
        return total
    }
}
