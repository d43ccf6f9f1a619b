import COpenCL
import Foundation
import MLPCore

/// A `cl_mem` of `count` 4-byte elements; released with the last reference.
public final class OpenCLBuffer: DeviceBuffer {
    /// nil when the allocation failed (the backend recorded the error; ops on it do nothing).
    let memory: cl_mem?

    init(count: Int, memory: cl_mem?) {
        self.memory = memory
        super.init(count: count)
    }

    deinit {
        if let memory { clReleaseMemObject(memory) }
    }
}

/// The OpenCL backend: CLBlast for the three GEMMs of a Dense layer, MLPKit's kernels (`Kernels/*.cl`,
/// embedded in the binary) for everything else, on one in-order command queue.
///
/// Nothing in an op waits for the device: ops enqueue and return. Only ``download(_:offset:count:)``,
/// ``upload(_:to:offset:)`` (a blocking write), ``uploadIndices(_:to:)`` and ``synchronize()`` wait;
/// ``counts`` records each, so tests can prove a training step never does. Errors from enqueued work are
/// kept (the first one) and thrown by ``checkError()``; after an error, ops do nothing.
///
/// One backend serves one thread at a time (kernel arguments are set per launch).
public final class OpenCLBackend: Backend {
    /// How often the host waited on the device, by cause.
    public struct Counts: Equatable, Sendable {
        /// Blocking reads (`download`).
        public var downloads = 0
        /// Blocking writes (`upload`, `uploadIndices`).
        public var uploads = 0
        /// `clFinish` calls (`synchronize`).
        public var finishes = 0
        /// Kernels and GEMMs enqueued.
        public var launches = 0
        /// Non-blocking staged uploads (batches of a source), and the times one had to wait for a staging slot
        /// (the host more than a ring of writes ahead of the device).
        public var stagedUploads = 0
        /// Staged uploads that waited for a free staging slot.
        public var stagingWaits = 0

        /// Every way the host can wait on the device.
        public var hostWaits: Int { downloads + uploads + finishes + stagingWaits }
    }

    /// The device the backend's context and queue were made on.
    public let device: OpenCLDevice
    /// The host's waits on the device so far, by cause.
    public internal(set) var counts = Counts()
    let context: cl_context
    let queue: cl_command_queue
    let program: cl_program
    var kernels: [String: cl_kernel] = [:]
    let reduceWorkGroup: Int
    var pendingError: MLPError?
    /// Per-row loss / correctness values, grown on demand (no allocation per step).
    var rowScratch: OpenCLBuffer?
    /// CLBlast's GEMM temporary buffer, grown on demand.
    var gemmTemporary: OpenCLBuffer?
    var gemmTemporarySizes: [GEMMShape: Int] = [:]
    /// Bound to absent buffer arguments (no bias).
    lazy var placeholder: OpenCLBuffer = makeBuffer(count: 1) as! OpenCLBuffer

    /// The order in which kernel files are joined into one program: helpers first.
    static let sourceOrder = ["random.cl", "activations.cl"]

    /// Creates a context, queue and program on `device`. Throws with the build log if the kernels do not
    /// compile.
    public init(device: OpenCLDevice) throws {
        self.device = device
        var status: cl_int = CL_SUCCESS
        var id: cl_device_id? = device.id
        guard let context = clCreateContext(nil, 1, &id, nil, nil, &status), status == CL_SUCCESS else {
            throw MLPError.deviceUnavailable("cannot create an OpenCL context on \(device.name): \(OpenCLStatus.name(status))")
        }
        self.context = context
        guard let queue = clCreateCommandQueue(context, device.id, 0, &status), status == CL_SUCCESS else {
            clReleaseContext(context)
            throw MLPError.deviceUnavailable("cannot create an OpenCL command queue on \(device.name): \(OpenCLStatus.name(status))")
        }
        self.queue = queue
        var workGroup = 256
        while workGroup > device.maxWorkGroupSize { workGroup /= 2 }
        reduceWorkGroup = workGroup
        do {
            program = try OpenCLBackend.buildProgram(context: context, device: device,
                                                     options: OpenCLBackend.buildOptions(reduceWorkGroup: workGroup))
        } catch {
            clReleaseCommandQueue(queue)
            clReleaseContext(context)
            throw error
        }
        var kernelCount: cl_uint = 0
        clCreateKernelsInProgram(program, 0, nil, &kernelCount)
        var made = [cl_kernel?](repeating: nil, count: Int(kernelCount))
        clCreateKernelsInProgram(program, kernelCount, &made, nil)
        for kernel in made.compactMap({ $0 }) {
            kernels[OpenCLDevice.infoString { clGetKernelInfo(kernel, cl_kernel_info(CL_KERNEL_FUNCTION_NAME), $0, $1, $2) }] = kernel
        }
    }

    deinit {
        clFinish(queue)
        for slot in staging {
            if let event = slot.event { clReleaseEvent(event) }
            slot.memory.deallocate()
        }
        for kernel in kernels.values { clReleaseKernel(kernel) }
        clReleaseProgram(program)
        clReleaseCommandQueue(queue)
        clReleaseContext(context)
    }

    /// The embedded kernel sources joined in ``sourceOrder``, with floating-point contraction off so the
    /// device rounds like the CPU reference.
    static var programSource: String {
        let sources = EmbeddedKernels.sources
        let ordered = sourceOrder.compactMap { name in sources.first { $0.name == name } }
            + sources.filter { !sourceOrder.contains($0.name) }
        return "#pragma OPENCL FP_CONTRACT OFF\n" + ordered.map { "// ---- \($0.name)\n\($0.source)" }.joined(separator: "\n")
    }

    static func buildProgram(context: cl_context, device: OpenCLDevice, options: String,
                             source: String = programSource) throws -> cl_program {
        var status: cl_int = CL_SUCCESS
        let program: cl_program? = source.withCString { pointer in
            var text: UnsafePointer<CChar>? = pointer
            var length = strlen(pointer)
            return clCreateProgramWithSource(context, 1, &text, &length, &status)
        }
        guard let program, status == CL_SUCCESS else {
            throw MLPError.deviceFailure("cannot create the OpenCL program on \(device.name): \(OpenCLStatus.name(status))")
        }
        var id: cl_device_id? = device.id
        status = clBuildProgram(program, 1, &id, options, nil, nil)
        guard status == CL_SUCCESS else {
            let log = OpenCLDevice.infoString { clGetProgramBuildInfo(program, device.id, cl_program_build_info(CL_PROGRAM_BUILD_LOG), $0, $1, $2) }
            clReleaseProgram(program)
            throw MLPError.deviceFailure("the OpenCL kernels did not build on \(device.name) (\(OpenCLStatus.name(status))). Build log:\n\(log)")
        }
        return program
    }

    public var deviceDescription: String {
        "OpenCL \(device.kind.rawValue) \(device.name) [\(device.platformName)], \(device.computeUnits) compute units"
    }

    // MARK: Errors

    /// Keeps the first error; later ones are consequences.
    func record(_ error: @autoclosure () -> MLPError) {
        if pendingError == nil { pendingError = error() }
    }

    /// Records a failed OpenCL call; returns whether it succeeded.
    @discardableResult
    func succeeded(_ status: cl_int, _ what: @autoclosure () -> String) -> Bool {
        if status == CL_SUCCESS { return true }
        if status == CL_MEM_OBJECT_ALLOCATION_FAILURE || status == CL_OUT_OF_RESOURCES {
            record(.deviceFailure("out of device memory on \(device.name): \(what()) returned \(OpenCLStatus.name(status)); use a smaller --batch-size or model, or --device cpu"))
        } else {
            record(.deviceFailure("OpenCL error on \(device.name): \(what()) returned \(OpenCLStatus.name(status))"))
        }
        return false
    }

    public func checkError() throws {
        if let error = pendingError {
            pendingError = nil
            throw error
        }
    }

    var failed: Bool { pendingError != nil }

    @inline(__always) func memory(_ buffer: DeviceBuffer) -> cl_mem? {
        unsafeDowncast(buffer, to: OpenCLBuffer.self).memory
    }

    // MARK: Memory

    /// Why `device` cannot hold a buffer of `count` floats — its size overflows, or exceeds
    /// `CL_DEVICE_MAX_MEM_ALLOC_SIZE` (PoCL asserts instead of failing on such requests) — or nil when it can.
    public static func allocationError(count: Int, on device: OpenCLDevice) -> MLPError? {
        let (bytes, overflow) = max(count, 1).multipliedReportingOverflow(by: 4)
        guard overflow || UInt64(bytes) > device.maxAllocation else { return nil }
        let size = overflow ? "of \(count) floats" : String(format: "of %.1f MB", Double(bytes) / 1_048_576)
        return .deviceFailure(String(format: "out of device memory on %@: a buffer %@ is larger than the device's largest allocation (CL_DEVICE_MAX_MEM_ALLOC_SIZE, %.1f MB); use a smaller --batch-size or model, or --device cpu",
                                     device.name, size, Double(device.maxAllocation) / 1_048_576))
    }

    public func makeBuffer(count: Int) -> DeviceBuffer {
        if let error = OpenCLBackend.allocationError(count: count, on: device) {
            record(error)
            return OpenCLBuffer(count: count, memory: nil)
        }
        let bytes = max(count, 1) * 4
        var status: cl_int = CL_SUCCESS
        let made = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE), bytes, nil, &status)
        guard succeeded(status, "clCreateBuffer(\(bytes) bytes)") else { return OpenCLBuffer(count: count, memory: nil) }
        return OpenCLBuffer(count: count, memory: made)
    }

    public func upload(_ values: [Float], to buffer: DeviceBuffer, offset: Int) {
        precondition(offset >= 0 && offset + values.count <= buffer.count, "upload of \(values.count) values at \(offset) overflows a buffer of \(buffer.count)")
        guard !values.isEmpty, let target = memory(buffer), !failed else { return }
        counts.uploads += 1
        let status = values.withUnsafeBytes {
            clEnqueueWriteBuffer(queue, target, cl_bool(CL_TRUE), offset * 4, values.count * 4, $0.baseAddress, 0, nil, nil)
        }
        succeeded(status, "clEnqueueWriteBuffer")
    }

    /// A ring of host staging areas for non-blocking writes; a slot is reused only after its last write
    /// completed (waiting then counts as a host wait — it happens only when the host runs that far ahead).
    var staging: [(memory: UnsafeMutableRawPointer, capacity: Int, event: cl_event?)] = []
    var nextStaging = 0
    static let stagingSlots = 8

    public func uploadStaged(_ values: [Float], to buffer: DeviceBuffer, offset: Int) {
        precondition(offset >= 0 && offset + values.count <= buffer.count, "upload of \(values.count) values at \(offset) overflows a buffer of \(buffer.count)")
        guard !values.isEmpty, let target = memory(buffer), !failed else { return }
        if staging.isEmpty {
            staging = (0..<OpenCLBackend.stagingSlots).map { _ in (UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 64), 1, nil) }
        }
        let slot = nextStaging
        nextStaging = (nextStaging + 1) % staging.count
        if let event = staging[slot].event {
            var status: cl_int = CL_COMPLETE
            clGetEventInfo(event, cl_event_info(CL_EVENT_COMMAND_EXECUTION_STATUS), MemoryLayout<cl_int>.size, &status, nil)
            if status != CL_COMPLETE {
                // The host is a whole ring of writes ahead of the device: wait for the oldest.
                counts.stagingWaits += 1
                var pending: cl_event? = event
                clWaitForEvents(1, &pending)
            }
            clReleaseEvent(event)
            staging[slot].event = nil
        }
        let bytes = values.count * 4
        if staging[slot].capacity < bytes {
            staging[slot].memory.deallocate()
            staging[slot].memory = .allocate(byteCount: bytes, alignment: 64)
            staging[slot].capacity = bytes
        }
        values.withUnsafeBytes { staging[slot].memory.copyMemory(from: $0.baseAddress!, byteCount: bytes) }
        var event: cl_event?
        counts.stagedUploads += 1
        if succeeded(clEnqueueWriteBuffer(queue, target, cl_bool(CL_FALSE), offset * 4, bytes, staging[slot].memory, 0, nil, &event),
                     "clEnqueueWriteBuffer (staged)") {
            staging[slot].event = event
        }
    }

    public func download(_ buffer: DeviceBuffer, offset: Int, count: Int) -> [Float] {
        precondition(offset >= 0 && offset + count <= buffer.count, "download of \(count) values at \(offset) overflows a buffer of \(buffer.count)")
        var values = [Float](repeating: .nan, count: count)
        guard count > 0, let source = memory(buffer), !failed else { return values }
        counts.downloads += 1
        let status = values.withUnsafeMutableBytes {
            clEnqueueReadBuffer(queue, source, cl_bool(CL_TRUE), offset * 4, count * 4, $0.baseAddress, 0, nil, nil)
        }
        succeeded(status, "clEnqueueReadBuffer")
        return values
    }

    public func copy(_ source: DeviceBuffer, sourceOffset: Int, to destination: DeviceBuffer, destinationOffset: Int, count: Int) {
        guard count > 0, let from = memory(source), let to = memory(destination), !failed else { return }
        counts.launches += 1
        succeeded(clEnqueueCopyBuffer(queue, from, to, sourceOffset * 4, destinationOffset * 4, count * 4, 0, nil, nil),
                  "clEnqueueCopyBuffer")
    }

    public func fill(_ buffer: DeviceBuffer, value: Float, offset: Int, count: Int) {
        guard count > 0, let target = memory(buffer), !failed else { return }
        var pattern = value
        counts.launches += 1
        succeeded(clEnqueueFillBuffer(queue, target, &pattern, 4, offset * 4, count * 4, 0, nil, nil), "clEnqueueFillBuffer")
    }

    public func synchronize() {
        counts.finishes += 1
        succeeded(clFinish(queue), "clFinish")
    }

    public func uploadIndices(_ indices: [Int32], to buffer: DeviceBuffer) {
        precondition(indices.count <= buffer.count, "uploadIndices: \(indices.count) indices into a buffer of \(buffer.count)")
        guard !indices.isEmpty, let target = memory(buffer), !failed else { return }
        counts.uploads += 1
        let status = indices.withUnsafeBytes {
            clEnqueueWriteBuffer(queue, target, cl_bool(CL_TRUE), 0, indices.count * 4, $0.baseAddress, 0, nil, nil)
        }
        succeeded(status, "clEnqueueWriteBuffer")
    }

    /// A scratch buffer of at least `count` values, reused across calls.
    func scratch(_ count: Int) -> OpenCLBuffer {
        if let existing = rowScratch, existing.count >= count { return existing }
        let made = makeBuffer(count: max(count, 256)) as! OpenCLBuffer
        rowScratch = made
        return made
    }
}
