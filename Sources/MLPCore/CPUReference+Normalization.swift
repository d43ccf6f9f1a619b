/// The reference batch normalization (``BackendNormalization``).
extension CPUReference {
    /// Batch-normalises `x` (rows, columns) per column: `μ`, biased `σ²` over the rows, `x̂ = (x − μ)/√(σ² + ε)`,
    /// `y = γ·x̂ + β`; stores `x̂` and `1/√(σ² + ε)` for the backward pass and moves the moving statistics by
    /// `m = m·momentum + μ·(1 − momentum)` (the variance the same way).
    public static func batchNormTraining(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, normalized: UnsafeMutablePointer<Float>,
                                         inverseStd: UnsafeMutablePointer<Float>, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                                         movingMean: UnsafeMutablePointer<Float>, movingVariance: UnsafeMutablePointer<Float>,
                                         rows: Int, columns: Int, momentum: Float, epsilon: Float) {
        let n = Float(rows)
        for j in 0..<columns {
            var mean: Float = 0
            for r in 0..<rows { mean += x[r * columns + j] }
            mean /= n
            var variance: Float = 0
            for r in 0..<rows {
                let d = x[r * columns + j] - mean
                variance += d * d
            }
            variance /= n
            let s = 1 / (variance + epsilon).squareRoot()
            inverseStd[j] = s
            for r in 0..<rows {
                let o = r * columns + j
                normalized[o] = (x[o] - mean) * s
                y[o] = gamma[j] * normalized[o] + beta[j]
            }
            movingMean[j] = movingMean[j] * momentum + mean * (1 - momentum)
            movingVariance[j] = movingVariance[j] * momentum + variance * (1 - momentum)
        }
    }

    /// `y = γ·(x − moving mean)/√(moving variance + ε) + β`, per column of `x` (rows, columns).
    public static func batchNormInference(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, gamma: UnsafePointer<Float>,
                                          beta: UnsafePointer<Float>, movingMean: UnsafePointer<Float>, movingVariance: UnsafePointer<Float>,
                                          rows: Int, columns: Int, epsilon: Float) {
        for r in 0..<rows {
            for j in 0..<columns {
                let o = r * columns + j
                y[o] = gamma[j] * (x[o] - movingMean[j]) / (movingVariance[j] + epsilon).squareRoot() + beta[j]
            }
        }
    }

    /// The batch-norm gradients: `dβ = Σ_rows dy`, `dγ = Σ_rows dy·x̂`, and
    /// `dx = γ·(1/√(σ² + ε))·(dy − (dβ + x̂·dγ)/n)` with `n` the rows.
    public static func batchNormBackward(dy: UnsafePointer<Float>, normalized: UnsafePointer<Float>, inverseStd: UnsafePointer<Float>,
                                         gamma: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, dGamma: UnsafeMutablePointer<Float>,
                                         dBeta: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
        let n = Float(rows)
        for j in 0..<columns {
            var sumDy: Float = 0, sumDyX: Float = 0
            for r in 0..<rows {
                let o = r * columns + j
                sumDy += dy[o]
                sumDyX += dy[o] * normalized[o]
            }
            dGamma[j] = sumDyX
            dBeta[j] = sumDy
            let factor = gamma[j] * inverseStd[j] / n
            for r in 0..<rows {
                let o = r * columns + j
                dx[o] = factor * (n * dy[o] - sumDy - normalized[o] * sumDyX)
            }
        }
    }
}
