import Foundation
import MLPCore
import MLPOpenCL
import MLPTraining

/// Which hardware a model runs on: the one registry of backends (`--device` on the CLI, `MLP_DEVICE`).
///
/// - `cpu`: the pure-Swift ``CPUBackend``.
/// - `gpu`: the best OpenCL GPU; else the best other OpenCL device (PoCL on a CPU, say), with a notice.
/// - `opencl:P:D`: device `D` of platform `P`, as `mlp devices` lists them.
/// - `auto`: per workload. Tiny models train faster on the CPU than on any GPU (each step is a few dozen
///   kernel launches), so `auto` takes an OpenCL **GPU** only when a training step is at least
///   ``autoGPUThresholdFlops`` floating-point operations, and the CPU backend otherwise. It never picks an
///   OpenCL CPU device: the pure-Swift backend beats PoCL on the same cores.
///
/// ```swift
/// let model = try Sequential(inputDim: 64, [Dense(64, activation: .relu), Dense(10, activation: .softmax)],
///                            device: .gpu)
/// ```
public enum Device: Equatable, Sendable, CustomStringConvertible {
    case cpu, gpu, auto
    case opencl(platform: Int, device: Int)

    /// Per-step work above which `auto` prefers a GPU: 6·batch·parameters ≥ 50 MFLOP (forward and two
    /// backward GEMMs). Provisional: it is to be refined from the benchmark suite's GPU measurements.
    public static let autoGPUThresholdFlops = 50_000_000.0

    /// Parses `cpu`, `gpu`, `auto` or `opencl:P:D`.
    public init(name: String) throws {
        let key = name.lowercased().trimmingCharacters(in: .whitespaces)
        switch key {
        case "cpu": self = .cpu
        case "gpu": self = .gpu
        case "auto": self = .auto
        default:
            let parts = key.split(separator: ":", omittingEmptySubsequences: false)
            if parts.count == 3, parts[0] == "opencl", let platform = Int(parts[1]), let device = Int(parts[2]),
               platform >= 0, device >= 0 {
                self = .opencl(platform: platform, device: device)
            } else {
                throw MLPError.unknownName(kind: "device", received: name, valid: ["cpu", "gpu", "auto", "opencl:P:D"])
            }
        }
    }

    public var description: String {
        switch self {
        case .cpu: return "cpu"
        case .gpu: return "gpu"
        case .auto: return "auto"
        case let .opencl(platform, device): return "opencl:\(platform):\(device)"
        }
    }

    /// The backend for this device and a note saying what was chosen and why (for `auto` and fallbacks).
    ///
    /// - Parameter flopsPerStep: the training step's work, for `auto`; nil means "small".
    public func makeBackend(flopsPerStep: Double? = nil) throws -> (backend: any Backend, note: String?) {
        switch self {
        case .cpu:
            return (CPUBackend.shared, nil)
        case .gpu:
            let (device, fallback) = try OpenCLDevice.best()
            let backend = try Device.openCLBackend(device)
            return (backend, fallback ? "no OpenCL GPU found; using OpenCL \(device.kind.rawValue) device \(device.name) (\(device.selector)) instead" : nil)
        case let .opencl(platform, device):
            return (try Device.openCLBackend(OpenCLDevice.at(platform: platform, device: device)), nil)
        case .auto:
            let flops = flopsPerStep ?? 0
            guard flops >= Device.autoGPUThresholdFlops else {
                return (CPUBackend.shared, String(format: "auto: CPU backend (%.1f MFLOP per step is below the %.0f MFLOP at which a GPU pays off)",
                                                  flops / 1e6, Device.autoGPUThresholdFlops / 1e6))
            }
            guard let gpu = (try? OpenCLDevice.all())?.filter({ $0.kind == .gpu })
                .max(by: { ($0.computeUnits, $0.globalMemory) < ($1.computeUnits, $1.globalMemory) }) else {
                return (CPUBackend.shared, "auto: CPU backend (no OpenCL GPU found)")
            }
            return (try Device.openCLBackend(gpu), String(format: "auto: OpenCL GPU %@ (%.1f MFLOP per step)", gpu.name, flops / 1e6))
        }
    }

    /// One backend per OpenCL device per process: building the kernels takes a while, so it is done once.
    nonisolated(unsafe) private static var openCLBackends: [String: OpenCLBackend] = [:]
    private static let lock = NSLock()

    static func openCLBackend(_ device: OpenCLDevice) throws -> OpenCLBackend {
        lock.lock()
        defer { lock.unlock() }
        if let existing = openCLBackends[device.selector] { return existing }
        let made = try OpenCLBackend(device: device)
        openCLBackends[device.selector] = made
        return made
    }

    /// `mlp devices`: the CPU backend, then every OpenCL platform and device (or why there are none).
    public static func inventory() -> [String] {
        var lines = ["cpu: \(CPUBackend.shared.deviceDescription)"]
        do {
            lines += try OpenCLDevice.all().map(\.description)
        } catch {
            lines.append("opencl: none — \(error)")
        }
        return lines
    }
}

extension Device {
    /// The floating-point work of one training step: about 6·batch·parameters (a forward and two backward
    /// GEMMs per Dense layer).
    public static func trainingFlopsPerStep(parameters: Int, batchSize: Int) -> Double {
        6 * Double(batchSize) * Double(parameters)
    }
}

extension Sequential {
    /// A model whose weights live on `device` (see ``Device``); `auto` sizes the work for `batchSize`.
    public convenience init(inputDim: Int, _ layers: [Layer] = [], name: String = "sequential", seed: UInt64? = nil,
                            device: Device, batchSize: Int = 32) throws {
        var width = inputDim, parameters = 0
        for layer in layers {
            let next = layer.outputUnits(forInput: width)
            if let dense = layer as? Dense { parameters += width * next + (dense.useBias ? next : 0) }
            width = next
        }
        let flops = Device.trainingFlopsPerStep(parameters: parameters, batchSize: batchSize)
        self.init(inputDim: inputDim, layers, name: name, seed: seed, backend: try device.makeBackend(flopsPerStep: flops).backend)
    }
}
