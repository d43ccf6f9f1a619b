/// Counter-based random numbers (Philox4x32-10), bit-identical on every backend, and dropout masks drawn from them.
public protocol BackendRandom: AnyObject {
    /// Fills `count` values with `low + (high − low)·u`, `u` the Philox4x32-10 uniforms of (seed, stream) in
    /// draw order (value `i` is lane `i % 4` of block `i / 4`), bit-identical on every backend.
    func randomUniform(_ buffer: DeviceBuffer, count: Int, seed: UInt64, stream: UInt64, low: Float, high: Float)

    /// Inverted dropout: `y = keep ? x/(1−rate) : 0`, `keep = u ≥ rate` with `u` value `i` of the Philox stream
    /// (seed, stream) starting at block `block` (lane `i % 4` of block `block + i/4`). The backward pass
    /// calls it again on `dY` with the same arguments: the mask is regenerated, not stored.
    func dropout(_ input: DeviceBuffer, output: DeviceBuffer, count: Int, rate: Float, seed: UInt64, stream: UInt64, block: UInt64)
}
