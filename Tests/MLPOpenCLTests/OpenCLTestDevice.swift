import Foundation
import XCTest
@testable import MLPOpenCL
import MLPCore

/// One OpenCL backend per test process: PoCL and CLBlast compile kernels on first use (seconds), so the
/// tests share it and warm it up once.
enum OpenCLTestDevice {
    // `nonisolated(unsafe)`: a backend is not `Sendable`; XCTest runs the tests one after another on one thread, so
    // the backend's ops never come from two threads at once.
    nonisolated(unsafe) static let shared: Result<OpenCLBackend, Error> = Result {
        let backend = try OpenCLBackend(device: OpenCLDevice.best().device)
        // Warm-up: compile each CLBlast GEMM variant the tests use.
        let a = backend.makeBuffer(count: 64), b = backend.makeBuffer(count: 64), c = backend.makeBuffer(count: 64)
        for transA in [false, true] {
            for transB in [false, true] {
                backend.gemm(transA: transA, transB: transB, m: 8, n: 8, k: 8, alpha: 1, a: a, b: b, beta: 0, c: c)
            }
        }
        backend.synchronize()
        try backend.checkError()
        return backend
    }

    /// The shared backend. Outside CI a machine without OpenCL skips these tests; under `CI=true` it fails
    /// them, so CI can never pass without having run them.
    static func backend() throws -> OpenCLBackend {
        switch shared {
        case .success(let backend):
            return backend
        case .failure(let error):
            if ProcessInfo.processInfo.environment["CI"] == "true" { throw error }
            throw XCTSkip("no OpenCL device: \(error)")
        }
    }
}
