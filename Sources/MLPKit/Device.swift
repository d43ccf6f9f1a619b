import MLPCore

/// Which hardware a model runs on: the one registry of backends (`--device` on the CLI, `MLP_DEVICE`).
///
/// - `cpu`: the pure-Swift ``CPUBackend``.
/// - `gpu`: the best OpenCL GPU (the OpenCL backend arrives with the OpenCL work; until then asking for it
///   throws ``MLPError/deviceUnavailable(_:)``).
/// - `auto`: the fastest available choice for the workload; today always the CPU.
public enum Device: String, CaseIterable, Sendable {
    case cpu, gpu, auto

    /// Parses a device name, or the `MLP_DEVICE` environment variable's value.
    public init(name: String) throws {
        guard let device = Device(rawValue: name.lowercased()) else {
            throw MLPError.unknownName(kind: "device", received: name, valid: Device.allCases.map(\.rawValue))
        }
        self = device
    }

    /// The backend for this device, with a note when a choice was made for the user.
    public func makeBackend() throws -> (backend: any Backend, note: String?) {
        switch self {
        case .cpu:
            return (CPUBackend.shared, nil)
        case .gpu:
            throw MLPError.deviceUnavailable("no OpenCL GPU backend in this build: use --device cpu (or auto)")
        case .auto:
            return (CPUBackend.shared, "auto: using the CPU backend (no OpenCL backend in this build)")
        }
    }

    /// One line per device this build can use, for `mlp devices`.
    public static func inventory() -> [String] {
        ["cpu: \(CPUBackend.shared.deviceDescription)"]
    }
}
