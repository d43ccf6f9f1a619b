/// The reference norms, clipping and L1/L2 penalties (``BackendRegularization``).
extension CPUReference {
    /// `Σ x²`.
    public static func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var sum: Float = 0
        for i in 0..<count { sum += x[i] * x[i] }
        return sum
    }

    /// Keras' clip by norm: `x·clipNorm / max(√sumOfSquares, clipNorm)` (unchanged when the norm is within the limit).
    public static func clipByNorm(_ x: UnsafeMutablePointer<Float>, count: Int, sumOfSquares: Float, clipNorm: Float) {
        let norm = sumOfSquares > 0 ? sumOfSquares.squareRoot() : 0
        let denominator = max(norm, clipNorm)
        for i in 0..<count { x[i] = x[i] * clipNorm / denominator }
    }

    /// Clips every element to `[−limit, limit]`.
    public static func clipByValue(_ x: UnsafeMutablePointer<Float>, count: Int, limit: Float) {
        for i in 0..<count { x[i] = min(max(x[i], -limit), limit) }
    }

    /// The L1/L2 penalty `l1·Σ|w| + l2·Σw²`.
    public static func regularizationPenalty(_ w: UnsafePointer<Float>, count: Int, l1: Float, l2: Float) -> Float {
        var absolute: Float = 0, squares: Float = 0
        for i in 0..<count {
            absolute += abs(w[i])
            squares += w[i] * w[i]
        }
        return l1 * absolute + l2 * squares
    }

    /// Adds the penalty's gradient `l1·sign(w) + 2·l2·w` to `g`.
    public static func regularizationGradient(_ w: UnsafePointer<Float>, g: UnsafeMutablePointer<Float>, count: Int, l1: Float, l2: Float) {
        for i in 0..<count {
            let sign: Float = w[i] > 0 ? 1 : (w[i] < 0 ? -1 : 0)
            g[i] += l1 * sign + 2 * l2 * w[i]
        }
    }
}
