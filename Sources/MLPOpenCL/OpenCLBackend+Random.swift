import MLPCore

/// Philox uniforms and dropout masks, bit-identical to the CPU (``BackendRandom``; Kernels/random.cl).
extension OpenCLBackend {
    public func randomUniform(_ buffer: DeviceBuffer, count: Int, seed: UInt64, stream: UInt64, low: Float, high: Float) {
        launch("random_uniform", items: count, [.buffer(buffer), .int(count),
                                                .uint(UInt32(truncatingIfNeeded: seed)), .uint(UInt32(truncatingIfNeeded: seed >> 32)),
                                                .uint(UInt32(truncatingIfNeeded: stream)), .uint(UInt32(truncatingIfNeeded: stream >> 32)),
                                                .float(low), .float(high)])
    }

    public func dropout(_ input: DeviceBuffer, output: DeviceBuffer, count: Int, rate: Float, seed: UInt64, stream: UInt64, block: UInt64) {
        launch("dropout", items: count, [.buffer(input), .buffer(output), .int(count), .float(rate),
                                         .uint(UInt32(truncatingIfNeeded: seed)), .uint(UInt32(truncatingIfNeeded: seed >> 32)),
                                         .uint(UInt32(truncatingIfNeeded: stream)), .uint(UInt32(truncatingIfNeeded: stream >> 32)),
                                         .uint(UInt32(truncatingIfNeeded: block)), .uint(UInt32(truncatingIfNeeded: block >> 32))])
    }
}
