import XCTest
@testable import MLPOpenCL
import MLPCore
import MLPBackendParity
import MLPKit

/// Every op, OpenCL against the CPU backend, on seeded random inputs (``BackendParity``). Tolerance: max
/// |difference| ≤ 1e-5 relative to the magnitude of the values (1e-5 · max(1, max |expected|)); failures
/// print the first values.
final class OpenCLParityTests: XCTestCase {
    var gpu: OpenCLBackend!
    let cpu = CPUBackend(threadCount: 1)

    override func setUpWithError() throws {
        gpu = try OpenCLTestDevice.backend()
    }

    /// Every op of the shared parity suite (GEMM shapes and transposes, every activation forward and
    /// backward, column sums, every loss and metric, every optimizer), with its tolerance.
    func testEveryOpMatchesTheCPUBackend() throws {
        let checks = try BackendParity.ops(reference: cpu, candidate: gpu)
        XCTAssertGreaterThan(checks.count, 100)
        for check in checks where !check.passed { XCTFail(check.description) }
    }

    /// The suite compares like with like: CPU against CPU gives exactly zero everywhere.
    func testTheSuiteIsExactOnIdenticalBackends() throws {
        for check in try BackendParity.ops(reference: cpu, candidate: CPUBackend(threadCount: 1)) {
            XCTAssertEqual(check.maxDifference, 0, check.name)
        }
    }

    /// Exact ops: gather by device-side indices, fill, copy.
    func testGatherCopyFill() throws {
        for backend in [cpu as any Backend, gpu as any Backend] {
            let source = backend.makeBuffer((0..<20).map(Float.init))
            let indices = backend.makeIndexBuffer([9, 3, 0, 7, 2])
            let out = backend.makeBuffer(count: 6)
            backend.gatherRows(source: source, rowLength: 2, indices: indices, indexOffset: 1, rows: 3, destination: out)
            XCTAssertEqual(backend.download(out), [6, 7, 0, 1, 14, 15], "\(type(of: backend)) gather")
            backend.uploadIndices([4], to: indices)
            backend.gatherRows(source: source, rowLength: 2, indices: indices, indexOffset: 0, rows: 1, destination: out)
            XCTAssertEqual(backend.download(out, offset: 0, count: 2), [8, 9])
            backend.fill(out, value: 2.5, offset: 1, count: 4)
            backend.copy(source, sourceOffset: 3, to: out, destinationOffset: 4, count: 2)
            XCTAssertEqual(backend.download(out), [8, 2.5, 2.5, 2.5, 3, 4], "\(type(of: backend)) fill/copy")
            try backend.checkError()
        }
    }

    /// Philox on the device is bit-identical to the Swift generator.
    func testRandomUniformIsBitIdentical() throws {
        for (seed, stream) in [(UInt64(0), UInt64(0)), (42, 7), (0xFFFF_FFFF_FFFF_FFFF, 1 << 40)] {
            let count = 1001
            var random = PhiloxRandom(seed: seed, stream: stream)
            let expected = (0..<count).map { _ in -1 + 2 * random.nextUniform() }
            let out = gpu.makeBuffer(count: count)
            gpu.randomUniform(out, count: count, seed: seed, stream: stream, low: -1, high: 1)
            let actual = gpu.download(out)
            XCTAssertEqual(actual.map(\.bitPattern), expected.map(\.bitPattern), "seed \(seed) stream \(stream)")
        }
    }
}

import Foundation
