/// Philox uniforms and dropout (``BackendRandom``): the reference loops (bit-identical on every backend).
extension CPUBackend {
    public func randomUniform(_ buffer: DeviceBuffer, count: Int, seed: UInt64, stream: UInt64, low: Float, high: Float) {
        CPUReference.randomUniform(ptr(buffer), count: count, seed: seed, stream: stream, low: low, high: high)
    }

    public func dropout(_ input: DeviceBuffer, output: DeviceBuffer, count: Int, rate: Float, seed: UInt64, stream: UInt64, block: UInt64) {
        CPUReference.dropout(ptr(input), ptr(output), count: count, rate: rate, seed: seed, stream: stream, block: block)
    }
}
