import XCTest
@testable import MLPOpenCL
import MLPCore
import MLPKit

/// Buffers larger than the device allows are refused with a clear error before `clCreateBuffer` (PoCL asserts
/// on such requests instead of failing). Device queries only: no kernel is compiled.
final class OpenCLMemoryLimitTests: XCTestCase {
    func device() throws -> OpenCLDevice {
        do {
            return try OpenCLDevice.best().device
        } catch {
            if ProcessInfo.processInfo.environment["CI"] == "true" { throw error }
            throw XCTSkip("no OpenCL device: \(error)")
        }
    }

    func testABufferOverTheDeviceAllocationLimitIsRefused() throws {
        let device = try device()
        XCTAssertNil(OpenCLBackend.allocationError(count: 1024, on: device))
        let tooLarge = Int(device.maxAllocation / 4) + 1
        let error = try XCTUnwrap(OpenCLBackend.allocationError(count: tooLarge, on: device))
        XCTAssertTrue("\(error)".contains("is larger than the device's largest allocation (CL_DEVICE_MAX_MEM_ALLOC_SIZE"), "\(error)")
        let overflow = try XCTUnwrap(OpenCLBackend.allocationError(count: Int.max, on: device), "the byte count overflows")
        XCTAssertTrue("\(overflow)".contains("a buffer of \(Int.max) floats"), "\(overflow)")
    }

    /// The up-front check: a model whose kernel exceeds CL_DEVICE_MAX_MEM_ALLOC_SIZE (or whose total exceeds the
    /// global memory) is refused, naming the limit.
    func testAModelTooLargeForTheDeviceIsRefusedUpFront() throws {
        let device = try device()
        let limit = MemoryLimit.of(device)
        XCTAssertEqual(limit.totalBytes, Int(device.globalMemory))
        XCTAssertEqual(limit.bufferBytes, Int(device.maxAllocation))
        let units = Int(device.maxAllocation / 4 / 1024) + 1
        let estimate = try ModelSize(inputDim: 1024, [Dense(units)]).memoryEstimate(optimizerSlots: 0, batchSize: 1)
        XCTAssertThrowsError(try estimate.check(against: limit)) { error in
            let text = "\(error)"
            let expected = estimate.totalBytes > limit.totalBytes ? "CL_DEVICE_GLOBAL_MEM_SIZE" : "CL_DEVICE_MAX_MEM_ALLOC_SIZE"
            XCTAssertTrue(text.hasPrefix("the model is too large: ") && text.contains(expected), text)
            XCTAssertTrue(text.contains(device.name), text)
        }
        XCTAssertNoThrow(try ModelSize(inputDim: 64, [Dense(64)]).memoryEstimate(optimizerSlots: 2, batchSize: 32).check(against: limit))
    }
}
