/// Norms, clipping and L1/L2 penalties (``BackendRegularization``): sums of squares in four `SIMD8` partial sums,
/// the rest the reference loops.
extension CPUBackend {
    public func accumulateSumOfSquares(_ buffer: DeviceBuffer, count: Int, accumulator: DeviceBuffer, index: Int) {
        ptr(accumulator)[index] += CPUBackend.sumOfSquaresVectorised(ptr(buffer), count: count)
    }

    public func clipByNorm(_ buffer: DeviceBuffer, count: Int, sumOfSquares: DeviceBuffer, index: Int, clipNorm: Float) {
        CPUReference.clipByNorm(ptr(buffer), count: count, sumOfSquares: ptr(sumOfSquares)[index], clipNorm: clipNorm)
    }

    public func clipByValue(_ buffer: DeviceBuffer, count: Int, limit: Float) {
        CPUReference.clipByValue(ptr(buffer), count: count, limit: limit)
    }

    public func regularizationPenalty(_ weights: DeviceBuffer, count: Int, l1: Float, l2: Float, scale: Float,
                                      accumulator: DeviceBuffer, index: Int) {
        ptr(accumulator)[index] += scale * CPUReference.regularizationPenalty(ptr(weights), count: count, l1: l1, l2: l2)
    }

    public func regularizationGradient(_ weights: DeviceBuffer, gradients: DeviceBuffer, count: Int, l1: Float, l2: Float) {
        CPUReference.regularizationGradient(ptr(weights), g: ptr(gradients), count: count, l1: l1, l2: l2)
    }

    /// ``CPUReference/sumOfSquares(_:count:)`` in four `SIMD8` partial sums (a different summation order from
    /// the reference's single running sum, so equal to it up to rounding: the tests allow 1e-6 relative). The
    /// reference's one dependent addition per element made it the main cost of GradientMonitor and clipnorm.
    static func sumOfSquaresVectorised(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
        var i = 0
        while i + 32 <= count {
            let v0 = load(x + i), v1 = load(x + i + 8), v2 = load(x + i + 16), v3 = load(x + i + 24)
            s0 += v0 * v0
            s1 += v1 * v1
            s2 += v2 * v2
            s3 += v3 * v3
            i += 32
        }
        while i + 8 <= count {
            let v = load(x + i)
            s0 += v * v
            i += 8
        }
        var sum = ((s0 + s1) + (s2 + s3)).sum()
        while i < count {
            sum += x[i] * x[i]
            i += 1
        }
        return sum
    }
}
