import ArgumentParser
import MLPKit

/// `--device cpu|gpu|auto|opencl:P:D`, parsed by ``Device/init(name:)``; a value of another form is one
/// ArgumentParser line naming the forms. Whether an `opencl:P:D` device exists is checked when it is used.
struct DeviceArgument: ExpressibleByArgument, Equatable {
    let device: Device

    init(_ device: Device) { self.device = device }

    init?(argument: String) {
        guard let device = try? Device(name: argument) else { return nil }
        self.device = device
    }

    static var allValueStrings: [String] { ["cpu", "gpu", "auto", "opencl:P:D"] }
    var defaultValueDescription: String { device.description }
}

/// `--update-freq epoch|batch|N`: TensorBoard's `update_freq` (batch scalars every N batches).
struct UpdateFrequencyArgument: ExpressibleByArgument, Equatable {
    let frequency: TensorBoard.UpdateFrequency

    init(_ frequency: TensorBoard.UpdateFrequency) { self.frequency = frequency }

    init?(argument: String) {
        switch argument.lowercased() {
        case "epoch": frequency = .epoch
        case "batch": frequency = .batch
        default:
            guard let n = Int(argument), (1...FlagCheck.maxCount).contains(n) else { return nil }
            frequency = .every(n)
        }
    }

    static var allValueStrings: [String] { ["epoch", "batch", "N"] }

    var defaultValueDescription: String {
        switch frequency {
        case .epoch: return "epoch"
        case .batch: return "batch"
        case .every(let n): return String(n)
        }
    }
}
