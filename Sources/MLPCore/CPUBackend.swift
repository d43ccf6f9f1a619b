import Dispatch
import Foundation

/// Host memory for ``CPUBackend``: a plain allocation of `count` floats.
public final class CPUBuffer: DeviceBuffer {
    /// The first of the `count` floats (and ``slack`` zeros after them), freed with the buffer.
    public let pointer: UnsafeMutablePointer<Float>
    /// Zeros allocated past `count`: a vector kernel may read up to this many floats beyond the end (results
    /// from them are never stored), as the GEMM does for the edge panel of a matrix read in place.
    public static let slack = 16

    public override init(count: Int) {
        pointer = HostMemory.allocateFloats(count + CPUBuffer.slack)
        pointer.initialize(repeating: 0, count: count + CPUBuffer.slack)
        super.init(count: count)
    }

    deinit { HostMemory.free(pointer) }
}

/// The pure-Swift backend: no BLAS, and no C but one cache-prefetch hint (`CPrefetch`, which the GEMM issues for
/// the rows of B its next packing reads). GEMM runs a packed, vectorised, multi-threaded kernel
/// (``CPUBackend/gemm(transA:transB:m:n:k:alpha:a:b:beta:c:)``) that the tests check against the reference
/// triple loop; the hot element-wise ops (Adam, SGD, bias + ReLU, its backward, column sums) run `SIMD8` loops
/// bit-identical to their ``CPUReference`` loops, sums of squares in 4×8 lanes (another summation order: within
/// 1e-6 relative); softmax and cross-entropy from logits run eight rows at a time with a vectorised `exp` (within
/// 1e-6); the rest run the reference. One file per ``Backend`` concern (`CPUBackend+X.swift`); the shared
/// machinery is in CPUElementwise.swift (the pool split of an element-wise call), CPUVectorMath.swift (`SIMD8`
/// loads, stores and `exp`) and CPUGEMMWorkspace.swift / CPUGEMMKernels.swift (the packed GEMM).
public final class CPUBackend: Backend {
    /// Threads for GEMM (a persistent pool of `threadCount − 1` workers plus the caller); 1 runs everything on
    /// the caller.
    public let threadCount: Int
    /// Packing buffers and the current product, grown on demand and reused (no allocation per step).
    let workspace = GEMMWorkspace()
    let pool: WorkerPool?
    /// The pool's tasks, made once (stored closures: running one allocates nothing).
    lazy var rowTask: @Sendable (Int, Int) -> Void = { [workspace] participant, participants in
        workspace.computeRows(participant: participant, participants: participants)
    }
    lazy var packTask: @Sendable (Int, Int) -> Void = { [workspace] participant, participants in
        workspace.packShared(participant: participant, participants: participants)
    }
    lazy var columnTask: @Sendable (Int, Int) -> Void = { [workspace] participant, participants in
        workspace.computeColumns(participant: participant, participants: participants)
    }
    #if MLPKIT_AVX512
    lazy var packWholeATask: @Sendable (Int, Int) -> Void = { [workspace] participant, participants in
        workspace.packWholeA(participant: participant, participants: participants)
    }
    #endif
    /// The element-wise call being split among the pool, and the pool's task for it (made once).
    let elementwise = ElementwiseWork()
    lazy var elementwiseTask: @Sendable (Int, Int) -> Void = { [elementwise] participant, participants in
        elementwise.runChunk(participant: participant, participants: participants)
    }

    /// Creates a backend running on `threadCount` threads: the caller's and `threadCount − 1` pool workers
    /// (one per active processor by default; 1 runs everything on the caller).
    public init(threadCount: Int = CPUBackend.defaultThreadCount) {
        self.threadCount = max(1, threadCount)
        pool = self.threadCount > 1 ? WorkerPool(threads: self.threadCount - 1) : nil
    }

    deinit { pool?.stop() }

    /// The process-wide CPU backend (all active processors): the one models use when given no backend.
    // `nonisolated(unsafe)`: a backend is not `Sendable` (its ops reuse one workspace), and this one is reachable
    // from any thread. Safe while its ops come from one thread at a time, as for any backend: models trained on
    // threads at the same time need a backend each (`CPUBackend()`).
    nonisolated(unsafe) public static let shared = CPUBackend()

    /// The number of active processors.
    public static var defaultThreadCount: Int { ProcessInfo.processInfo.activeProcessorCount }

    public var deviceDescription: String {
        "CPU (pure Swift, \(threadCount) thread\(threadCount == 1 ? "" : "s"))"
    }

    @inline(__always) func ptr(_ buffer: DeviceBuffer) -> UnsafeMutablePointer<Float> {
        unsafeDowncast(buffer, to: CPUBuffer.self).pointer
    }
}
