import Foundation
import MLPCore
import MLPOpenCL
import MLPTraining

/// Which hardware a model runs on: the one registry of backends (`--device` on the CLI, `MLP_DEVICE`).
///
/// - `cpu`: the pure-Swift `CPUBackend`.
/// - `gpu`: the best OpenCL GPU; else the best other OpenCL device (PoCL on a CPU, say), with a notice.
/// - `opencl:P:D`: device `D` of platform `P`, as `mlp devices` lists them.
/// - `auto`: per workload. Tiny models train faster on the CPU than on any GPU (each step is a few dozen
///   kernel launches), so `auto` estimates a training step's time on the CPU backend and on the best OpenCL
///   **GPU** from the ``DeviceCostModel`` (measured by `mlp-bench crossover`, else built-in figures) and takes
///   the faster, saying why. It never picks an OpenCL CPU device: the pure-Swift backend beats PoCL on the
///   same cores.
///
/// ```swift
/// let model = try Sequential(inputDim: 64, [Dense(64, activation: .relu), Dense(10, activation: .softmax)],
///                            device: .gpu)
/// ```
public enum Device: Equatable, Sendable, CustomStringConvertible {
    case cpu, gpu, auto
    case opencl(platform: Int, device: Int)

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
    /// - Parameters:
    ///   - work: the training step's size, for `auto`; nil means "small".
    ///   - local: this process's rank among `size` processes of a data-parallel job on the same machine: `gpu`
    ///     (and `auto`'s GPU) then takes the machine's GPU number `rank % GPUs` (the GPUs ranked as for one
    ///     process), and the CPU backend gets its share of the processors.
    public func makeBackend(work: StepWork? = nil, local: (rank: Int, size: Int)? = nil) throws -> (backend: any Backend, note: String?) {
        let cpu = local.map { CPUBackend(threadCount: max(1, CPUBackend.defaultThreadCount / max($0.size, 1))) } ?? CPUBackend.shared
        switch self {
        case .cpu:
            return (cpu, nil)
        case .gpu:
            if let local, let gpu = try Device.gpu(forLocalRank: local.rank) { return (try Device.openCLBackend(gpu), nil) }
            let (device, fallback) = try OpenCLDevice.best()
            let backend = try Device.openCLBackend(device)
            return (backend, fallback ? "no OpenCL GPU found; using OpenCL \(device.kind.rawValue) device \(device.name) (\(device.selector)) instead" : nil)
        case let .opencl(platform, device):
            return (try Device.openCLBackend(OpenCLDevice.at(platform: platform, device: device)), nil)
        case .auto:
            let work = work ?? StepWork(parameters: 0, batchSize: 0)
            let url = DeviceCostModel.defaultURL
            let model = try DeviceCostModel.load(from: url) ?? DeviceCostModel()
            let threads = cpu.threadCount
            let cpuSeconds = model.cpuLine(threads: threads).line.seconds(work)
            if model.cpuBeatsEveryGPU(work, cpuThreads: threads) {
                // No OpenCL lookup: small models start at once.
                // C's vsnprintf, not Foundation's String(format:): this runs at the start of every `mlp train`, where
                // String(format:)'s first use costs over a million instructions.
                return (cpu, "auto: CPU backend (" + ReportFormat.cFormatted("%.1f", work.flops / 1e6)
                        + " MFLOP per step: estimated " + DeviceCostModel.format(cpuSeconds) + " per step, less than any GPU's estimate)")
            }
            guard let gpu = try? Device.gpu(forLocalRank: local?.rank ?? 0) else {
                return (cpu, "auto: CPU backend (no OpenCL GPU found)")
            }
            let choice = model.choice(work, gpuName: gpu.name, cpuThreads: threads, source: url.path)
            guard choice.useGPU else { return (cpu, "auto: CPU backend (" + choice.reason + ")") }
            return (try Device.openCLBackend(gpu), "auto: OpenCL GPU (" + choice.reason + ")")
        }
    }

    /// The machine's OpenCL GPUs, best first (compute units, then memory); local rank `rank` takes number
    /// `rank % count`. Nil when there is none.
    static func gpu(forLocalRank rank: Int) throws -> OpenCLDevice? {
        let gpus = try OpenCLDevice.all().filter { $0.kind == .gpu }
            .sorted { ($0.computeUnits, $0.globalMemory) > ($1.computeUnits, $1.globalMemory) }
        return gpus.isEmpty ? nil : gpus[rank % gpus.count]
    }

    /// One backend per OpenCL device per process: building the kernels takes a while, so it is done once.
    /// `nonisolated(unsafe)`: read and written only in ``openCLBackend(_:)``, under `lock`.
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

extension Sequential {
    /// A model whose weights live on `device` (see ``Device``); `auto` sizes the work for `batchSize`.
    public convenience init(inputDim: Int, _ layers: [Layer] = [], name: String = "sequential", seed: UInt64? = nil,
                            device: Device, batchSize: Int = 32) throws {
        let parameters = try ModelSize(inputDim: inputDim, layers).parameters
        self.init(inputDim: inputDim, layers, name: name, seed: seed,
                  backend: try device.makeBackend(work: StepWork(parameters: parameters, batchSize: batchSize)).backend)
    }
}
