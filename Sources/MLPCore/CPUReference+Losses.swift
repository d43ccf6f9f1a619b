import Foundation

/// The reference losses and their gradients (``BackendLosses``).
extension CPUReference {
    /// Per-sample losses summed into `total`, and `gradientScale·∂/∂predictions` into `gradient`.
    /// See ``BackendLosses/lossForwardBackward(_:predictions:targets:rows:columns:gradient:gradientScale:accumulator:accumulatorIndex:)``.
    public static func lossForwardBackward(_ loss: LossKind, predictions p: UnsafePointer<Float>, targets t: UnsafePointer<Float>,
                                           sampleWeights w: UnsafePointer<Float>? = nil,
                                           rows: Int, columns: Int, gradient g: UnsafeMutablePointer<Float>?,
                                           gradientScale scale: Float) -> Float {
        let eps = LossKind.epsilon
        let perColumn = 1 / Float(columns)
        var total: Float = 0
        for r in 0..<rows {
            let o = r * columns
            var sample: Float = 0
            switch loss {
            case .meanSquaredError:
                for j in 0..<columns {
                    let d = p[o + j] - t[o + j]
                    sample += d * d
                    g?[o + j] = scale * 2 * d * perColumn
                }
                sample *= perColumn
            case .meanAbsoluteError:
                for j in 0..<columns {
                    let d = p[o + j] - t[o + j]
                    sample += abs(d)
                    g?[o + j] = scale * (d > 0 ? 1 : (d < 0 ? -1 : 0)) * perColumn
                }
                sample *= perColumn
            case .binaryCrossentropy(fromLogits: true):
                for j in 0..<columns {
                    let z = p[o + j], y = t[o + j]
                    sample += max(z, 0) - z * y + log1p(exp(-abs(z)))
                    g?[o + j] = scale * (Activation.sigmoid(z) - y) * perColumn
                }
                sample *= perColumn
            case .binaryCrossentropy(fromLogits: false):
                for j in 0..<columns {
                    let y = t[o + j], q = min(max(p[o + j], eps), 1 - eps)
                    sample -= y * log(q) + (1 - y) * log(1 - q)
                    let inside = p[o + j] > eps && p[o + j] < 1 - eps
                    g?[o + j] = inside ? scale * (-y / q + (1 - y) / (1 - q)) * perColumn : 0
                }
                sample *= perColumn
            case .categoricalCrossentropy(fromLogits: true):
                sample = crossEntropyFromLogits(p + o, columns: columns, gradient: g.map { $0 + o }, scale: scale) { t[o + $0] }
            case .categoricalCrossentropy(fromLogits: false):
                sample = crossEntropyFromProbabilities(p + o, columns: columns, gradient: g.map { $0 + o }, scale: scale) { t[o + $0] }
            case .sparseCategoricalCrossentropy(let fromLogits):
                let label = t[r]
                let target: (Int) -> Float = { Float($0) == label ? 1 : 0 }
                if label < 0 || label >= Float(columns) || label != label.rounded() {
                    sample = .nan
                } else if fromLogits {
                    sample = crossEntropyFromLogits(p + o, columns: columns, gradient: g.map { $0 + o }, scale: scale, target: target)
                } else {
                    sample = crossEntropyFromProbabilities(p + o, columns: columns, gradient: g.map { $0 + o }, scale: scale, target: target)
                }
            }
            if let w {
                sample *= w[r]
                if let g { for j in 0..<columns { g[o + j] *= w[r] } }
            }
            total += sample
        }
        return total
    }

    /// `−Σ t_j·log_softmax(z)_j`, gradient `softmax(z)_j·Σt − t_j`.
    static func crossEntropyFromLogits(_ z: UnsafePointer<Float>, columns: Int, gradient: UnsafeMutablePointer<Float>?,
                                       scale: Float, target: (Int) -> Float) -> Float {
        var maximum = -Float.infinity
        for j in 0..<columns { maximum = max(maximum, z[j]) }
        var sumExp: Float = 0
        for j in 0..<columns { sumExp += exp(z[j] - maximum) }
        let logSumExp = maximum + log(sumExp)
        var loss: Float = 0, targetSum: Float = 0
        for j in 0..<columns {
            let y = target(j)
            loss -= y * (z[j] - logSumExp)
            targetSum += y
        }
        if let gradient {
            for j in 0..<columns {
                gradient[j] = scale * (exp(z[j] - logSumExp) * targetSum - target(j))
            }
        }
        return loss
    }

    /// Keras 3: `q = p / Σp`, clipped to `[ε, 1−ε]`, loss `−Σ t·log q`; gradient through the
    /// normalisation, zero where the clip is active.
    static func crossEntropyFromProbabilities(_ p: UnsafePointer<Float>, columns: Int, gradient: UnsafeMutablePointer<Float>?,
                                              scale: Float, target: (Int) -> Float) -> Float {
        let eps = LossKind.epsilon
        var sum: Float = 0
        for j in 0..<columns { sum += p[j] }
        var loss: Float = 0, weighted: Float = 0
        for j in 0..<columns {
            let q = p[j] / sum
            let clipped = min(max(q, eps), 1 - eps)
            loss -= target(j) * log(clipped)
            if q > eps && q < 1 - eps { weighted += (-target(j) / clipped) * q }
        }
        if let gradient {
            for j in 0..<columns {
                let q = p[j] / sum
                let local: Float = (q > eps && q < 1 - eps) ? -target(j) / q : 0
                gradient[j] = scale * (local - weighted) / sum
            }
        }
        return loss
    }
}
