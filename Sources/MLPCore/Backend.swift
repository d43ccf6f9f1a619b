/// Memory owned by a ``Backend``: `count` 4-byte elements (`Float32` values, or `Int32` indices for a
/// buffer made by ``BackendMemory/makeIndexBuffer(_:)``) that live wherever the backend computes (host memory
/// for the CPU backend, a `cl_mem` for OpenCL). The training stack only passes these handles back to the
/// backend that made them.
open class DeviceBuffer {
    /// The number of 4-byte elements the buffer holds.
    public let count: Int
    /// Records the element count; subclasses allocate the memory.
    public init(count: Int) { self.count = count }
}

/// The one boundary between the training stack and the hardware: the composition of one protocol per concern.
///
/// Buffers are `Float32`, row-major and owned by the backend; matrices are passed as a buffer plus their
/// dimensions. Every op may be asynchronous (enqueued): only ``BackendMemory/download(_:offset:count:)`` and
/// ``BackendMemory/synchronize()`` wait. The training stack never branches on which backend it has.
///
/// Each concern has one file at every layer of the stack, under the same name `X`: its requirements and their
/// formulas (`Backend+X.swift`), the reference loops (`CPUReference+X.swift`), the CPU backend's version
/// (`CPUBackend+X.swift`), the OpenCL one (`OpenCLBackend+X.swift`, with its kernels in `Kernels/x.cl`) and the
/// parity checks (`BackendParity+X.swift`). The concerns: ``BackendMemory`` (buffers, copies, the batch gather),
/// ``BackendDense`` (GEMM, column sums), ``BackendActivations``, ``BackendLosses``, ``BackendMetrics``,
/// ``BackendOptimizers``, ``BackendRegularization`` (penalties, clipping, norms), ``BackendNormalization``
/// (batch normalization) and ``BackendRandom`` (Philox uniforms, dropout).
///
/// Rule for adding an op: a requirement with its formula in its concern's protocol, a CPU reference
/// (``CPUReference``), an optimised version where it pays, an OpenCL version, and a parity check, each in the
/// concern's file.
public protocol Backend: BackendMemory, BackendDense, BackendActivations, BackendLosses, BackendMetrics, BackendOptimizers,
                         BackendRegularization, BackendNormalization, BackendRandom {}
