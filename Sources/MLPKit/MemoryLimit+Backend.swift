import MLPCore
import MLPOpenCL
import MLPTraining

extension MemoryLimit {
    /// The memory a model may use on `backend`: on OpenCL the device's `CL_DEVICE_GLOBAL_MEM_SIZE` in total and
    /// `CL_DEVICE_MAX_MEM_ALLOC_SIZE` per buffer; otherwise `MemoryLimit.host(environment:)`.
    public static func of(_ backend: any Backend) -> MemoryLimit {
        guard let openCL = backend as? OpenCLBackend else { return .host() }
        return of(openCL.device)
    }

    /// An OpenCL device's limits: `CL_DEVICE_GLOBAL_MEM_SIZE` in total, `CL_DEVICE_MAX_MEM_ALLOC_SIZE` per buffer.
    public static func of(_ device: OpenCLDevice) -> MemoryLimit {
        func clamped(_ bytes: UInt64) -> Int { bytes > UInt64(Int.max) ? .max : Int(bytes) }
        return MemoryLimit(totalBytes: clamped(device.globalMemory), bufferBytes: clamped(device.maxAllocation),
                           name: "the global memory (CL_DEVICE_GLOBAL_MEM_SIZE) of OpenCL device \(device.name)",
                           bufferName: "the largest allocation (CL_DEVICE_MAX_MEM_ALLOC_SIZE) of OpenCL device \(device.name)")
    }
}
