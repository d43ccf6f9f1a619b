/// The reference Philox uniforms and dropout (``BackendRandom``).
extension CPUReference {
    /// `low + (high − low)·u` for the Philox uniforms of (seed, stream), in draw order.
    public static func randomUniform(_ out: UnsafeMutablePointer<Float>, count: Int, seed: UInt64, stream: UInt64,
                                     low: Float, high: Float) {
        var random = PhiloxRandom(seed: seed, stream: stream)
        for i in 0..<count { out[i] = low + (high - low) * random.nextUniform() }
    }

    /// Inverted dropout: `y = x/(1 − rate)` where the Philox uniform of (seed, stream, from `block`) is ≥ `rate`, else 0.
    public static func dropout(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, rate: Float,
                               seed: UInt64, stream: UInt64, block: UInt64) {
        var random = PhiloxRandom(seed: seed, stream: stream, blockIndex: block)
        let scale = 1 / (1 - rate)
        for i in 0..<count {
            y[i] = random.nextUniform() >= rate ? x[i] * scale : 0
        }
    }
}
