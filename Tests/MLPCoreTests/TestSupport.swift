import XCTest
@testable import MLPCore
import MLPTestSupport

/// Runs backend ops on host arrays.
struct Host {
    let backend: CPUBackend

    init(threads: Int = 1) { backend = CPUBackend(threadCount: threads) }

    func buffer(_ values: [Float]) -> DeviceBuffer { backend.makeBuffer(values) }
    func values(_ buffer: DeviceBuffer) -> [Float] { backend.download(buffer) }
}
