import XCTest
@testable import MLPCore
import MLPTestSupport

/// The CPU backend's allocations: huge-page-advised ones from 2 MiB, plain ones below.
final class HostMemoryTests: XCTestCase {
    func testLargeAllocationsStartOnA2MiBBoundaryAndHoldWhatIsWritten() {
        for count in [HostMemory.hugePageSize / 4, HostMemory.hugePageSize / 4 + 17, 3 * HostMemory.hugePageSize / 4 + 1] {
            let pointer = HostMemory.allocateFloats(count)
            defer { HostMemory.free(pointer) }
            XCTAssertEqual(Int(bitPattern: pointer) % HostMemory.hugePageSize, 0, "count \(count)")
            for i in 0..<count { pointer[i] = Float(i % 1009) }
            XCTAssertEqual(pointer[0], 0)
            XCTAssertEqual(pointer[count - 1], Float((count - 1) % 1009), "count \(count)")
        }
    }

    func testSmallAllocationsAreUsable() {
        for count in [0, 1, 7, HostMemory.hugePageSize / 4 - 1] {
            let pointer = HostMemory.allocateFloats(count)
            defer { HostMemory.free(pointer) }
            pointer[0] = 1
            pointer[max(0, count - 1)] = 2
            XCTAssertEqual(pointer[max(0, count - 1)], 2)
        }
    }

    func testBuffersOfEverySizeStartAsZeros() {
        let backend = CPUBackend(threadCount: 1)
        for count in [1, 1000, HostMemory.hugePageSize / 4 + 3] {
            let values = backend.download(backend.makeBuffer(count: count))
            XCTAssertEqual(values.count, count)
            XCTAssertEqual(values.first, 0)
            XCTAssertEqual(values.last, 0)
            XCTAssertEqual(values.reduce(0) { $0 + abs($1) }, 0, "count \(count)")
        }
    }
}
