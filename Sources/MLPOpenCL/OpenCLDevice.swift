import COpenCL
import MLPCore

/// One OpenCL device as `mlp devices` lists it.
public struct OpenCLDevice: CustomStringConvertible {
    /// What kind of processor the device is.
    public enum Kind: String, Sendable {
        case gpu = "GPU", cpu = "CPU", accelerator = "accelerator", other = "other"
    }

    /// The platform's 0-based index in `clGetPlatformIDs` order (`--device opencl:P:D`'s P).
    public let platformIndex: Int
    /// The device's 0-based index within its platform (`--device opencl:P:D`'s D).
    public let deviceIndex: Int
    /// The platform's name (`Portable Computing Language`).
    public let platformName: String
    /// The device's name, as the driver reports it.
    public let name: String
    /// Whether the device is a GPU, a CPU, an accelerator or something else.
    public let kind: Kind
    /// Parallel compute units (`CL_DEVICE_MAX_COMPUTE_UNITS`).
    public let computeUnits: Int
    /// Global memory in bytes.
    public let globalMemory: UInt64
    /// The largest single buffer in bytes.
    public let maxAllocation: UInt64
    /// The most work-items in one work-group (`CL_DEVICE_MAX_WORK_GROUP_SIZE`).
    public let maxWorkGroupSize: Int
    /// `OpenCL C 1.2 …`.
    public let openCLCVersion: String
    let id: cl_device_id
    let platform: cl_platform_id

    /// The `--device` spelling that selects this device.
    public var selector: String { "opencl:\(platformIndex):\(deviceIndex)" }

    public var description: String {
        let memory = String(format: "%.1f GiB", Double(globalMemory) / 1_073_741_824)
        return "\(selector): \(name) [\(platformName)] — \(kind.rawValue), \(computeUnits) compute units, \(memory) global memory, \(openCLCVersion)"
    }

    /// Every device of every platform, in platform then device order.
    ///
    /// Throws `MLPError.deviceUnavailable(_:)` with installation advice when there is no OpenCL platform.
    public static func all() throws -> [OpenCLDevice] {
        var platformCount: cl_uint = 0
        let status = clGetPlatformIDs(0, nil, &platformCount)
        guard status == CL_SUCCESS, platformCount > 0 else {
            throw MLPError.deviceUnavailable(
                "no OpenCL platform found (clGetPlatformIDs: \(OpenCLStatus.name(status))). Install a GPU driver with an OpenCL ICD, or PoCL to run OpenCL on the CPU (sudo apt-get install pocl-opencl-icd), or use --device cpu")
        }
        var platforms = [cl_platform_id?](repeating: nil, count: Int(platformCount))
        clGetPlatformIDs(platformCount, &platforms, nil)
        var found: [OpenCLDevice] = []
        for (platformIndex, platform) in platforms.enumerated() {
            guard let platform else { continue }
            let platformName = platformString(platform, cl_platform_info(CL_PLATFORM_NAME))
            var deviceCount: cl_uint = 0
            guard clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &deviceCount) == CL_SUCCESS,
                  deviceCount > 0 else { continue }
            var ids = [cl_device_id?](repeating: nil, count: Int(deviceCount))
            clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), deviceCount, &ids, nil)
            for (deviceIndex, id) in ids.enumerated() {
                guard let id else { continue }
                let type: cl_device_type = deviceValue(id, cl_device_info(CL_DEVICE_TYPE))
                let kind: Kind = type & cl_device_type(CL_DEVICE_TYPE_GPU) != 0 ? .gpu
                    : type & cl_device_type(CL_DEVICE_TYPE_ACCELERATOR) != 0 ? .accelerator
                    : type & cl_device_type(CL_DEVICE_TYPE_CPU) != 0 ? .cpu : .other
                let units: cl_uint = deviceValue(id, cl_device_info(CL_DEVICE_MAX_COMPUTE_UNITS))
                let memory: cl_ulong = deviceValue(id, cl_device_info(CL_DEVICE_GLOBAL_MEM_SIZE))
                let allocation: cl_ulong = deviceValue(id, cl_device_info(CL_DEVICE_MAX_MEM_ALLOC_SIZE))
                let workGroup: Int = deviceValue(id, cl_device_info(CL_DEVICE_MAX_WORK_GROUP_SIZE))
                found.append(OpenCLDevice(
                    platformIndex: platformIndex, deviceIndex: deviceIndex, platformName: platformName,
                    name: deviceString(id, cl_device_info(CL_DEVICE_NAME)), kind: kind, computeUnits: Int(units),
                    globalMemory: memory, maxAllocation: allocation, maxWorkGroupSize: workGroup,
                    openCLCVersion: deviceString(id, cl_device_info(CL_DEVICE_OPENCL_C_VERSION)), id: id, platform: platform))
            }
        }
        guard !found.isEmpty else {
            throw MLPError.deviceUnavailable("OpenCL platforms were found but no devices. Install a GPU driver with an OpenCL ICD, or PoCL (sudo apt-get install pocl-opencl-icd), or use --device cpu")
        }
        return found
    }

    /// The best GPU (most compute units, then most memory); else the best accelerator or CPU device, with
    /// `usedFallback` set so the caller can say so.
    public static func best() throws -> (device: OpenCLDevice, usedFallback: Bool) {
        let devices = try all()
        let ranked = devices.sorted { ($0.computeUnits, $0.globalMemory) > ($1.computeUnits, $1.globalMemory) }
        if let gpu = ranked.first(where: { $0.kind == .gpu }) { return (gpu, false) }
        let fallback = ranked.first(where: { $0.kind == .accelerator }) ?? ranked[0]
        return (fallback, true)
    }

    /// The device `opencl:P:D` names.
    public static func at(platform: Int, device: Int) throws -> OpenCLDevice {
        let devices = try all()
        guard let match = devices.first(where: { $0.platformIndex == platform && $0.deviceIndex == device }) else {
            throw MLPError.deviceUnavailable("no OpenCL device opencl:\(platform):\(device); available: \(devices.map(\.selector).joined(separator: ", ")) (see mlp devices)")
        }
        return match
    }

    static func platformString(_ platform: cl_platform_id, _ parameter: cl_platform_info) -> String {
        infoString { clGetPlatformInfo(platform, parameter, $0, $1, $2) }
    }

    static func deviceString(_ device: cl_device_id, _ parameter: cl_device_info) -> String {
        infoString { clGetDeviceInfo(device, parameter, $0, $1, $2) }
    }

    /// Reads a string property with OpenCL's two-call protocol (size, then value).
    static func infoString(_ query: (Int, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int>?) -> cl_int) -> String {
        var size = 0
        _ = query(0, nil, &size)
        var bytes = [CChar](repeating: 0, count: size + 1)
        _ = bytes.withUnsafeMutableBytes { query(size, $0.baseAddress, nil) }
        return bytes.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }.trimmingCharacters(in: .whitespaces)
    }

    static func deviceValue<T: BinaryInteger & BitwiseCopyable>(_ device: cl_device_id, _ parameter: cl_device_info) -> T {
        var value: T = 0
        clGetDeviceInfo(device, parameter, MemoryLayout<T>.size, &value, nil)
        return value
    }
}

import Foundation
