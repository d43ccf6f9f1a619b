/// Gradient norms and clipping, and L1/L2 penalties with their gradients.
public protocol BackendRegularization: AnyObject {
    /// Adds `Σ x²` over `count` values to `accumulator[index]` (for norms), on the device.
    func accumulateSumOfSquares(_ buffer: DeviceBuffer, count: Int, accumulator: DeviceBuffer, index: Int)

    /// `x = x·c/max(√s, c)` with `s = sumOfSquares[index]` read on the device (Keras' clipnorm and
    /// global_clipnorm, the latter with `s` summed over every gradient).
    func clipByNorm(_ buffer: DeviceBuffer, count: Int, sumOfSquares: DeviceBuffer, index: Int, clipNorm: Float)

    /// `x = min(max(x, −limit), limit)` (Keras' clipvalue).
    func clipByValue(_ buffer: DeviceBuffer, count: Int, limit: Float)

    /// Adds `scale·(l1·Σ|w| + l2·Σw²)` to `accumulator[index]`.
    func regularizationPenalty(_ weights: DeviceBuffer, count: Int, l1: Float, l2: Float, scale: Float,
                               accumulator: DeviceBuffer, index: Int)

    /// `g += l1·sign(w) + 2·l2·w`.
    func regularizationGradient(_ weights: DeviceBuffer, gradients: DeviceBuffer, count: Int, l1: Float, l2: Float)
}
