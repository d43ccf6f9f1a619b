import Foundation
import MLPCore
import MLPTraining

/// Saves the model (or only its weights) after epochs, to a path template such as
/// `ckpt-{epoch:02d}-{val_loss:.4f}.h5` (`epoch` is 1-based; other names are log keys). The extension picks
/// the format (`.h5`, `.keras`, `.weights.h5`, `.json`), as `Sequential.save(to:includeOptimizer:)`.
public final class ModelCheckpoint: Callback {
    /// The path template: `{epoch:02d}` (1-based) and log keys such as `{val_loss:.4f}` are filled in per epoch.
    public let filepath: String
    /// The log key compared when ``saveBestOnly`` is set (`val_loss` by default).
    public let monitor: String
    /// 1 prints a line for each save (and each epoch that did not improve); 0 (the default) is silent.
    public let verbose: Int
    /// Whether only epochs that improve ``monitor`` are saved (false by default: every epoch).
    public let saveBestOnly: Bool
    /// Whether only the weights are written (`.weights.h5`, or the weights of a `.json`), not the whole model.
    public let saveWeightsOnly: Bool
    /// Whether lower or higher is better, resolved from ``monitor`` when created with `.auto`.
    public let mode: MonitorMode
    /// The best monitored value saved so far (±infinity before the first save).
    public private(set) var best: Float

    /// The best value so far; none while it is still ±infinity (nothing monitored yet: JSON has no infinity).
    public override var backupState: [String: Any] { best.isFinite ? ["best": Double(best)] : [:] }

    public override func restoreBackupState(_ state: [String: Any]) throws {
        best = (state["best"] as? Double).map(Float.init) ?? best
    }

    /// Creates the callback with Keras' names and defaults (every epoch saved, whole model, `val_loss` watched).
    public init(filepath: String, monitor: String = "val_loss", verbose: Int = 0, saveBestOnly: Bool = false,
                saveWeightsOnly: Bool = false, mode: MonitorMode = .auto) {
        self.filepath = filepath
        self.monitor = monitor
        self.verbose = verbose
        self.saveBestOnly = saveBestOnly
        self.saveWeightsOnly = saveWeightsOnly
        self.mode = mode.resolved(for: monitor)
        best = self.mode == .min ? .infinity : -.infinity
    }

    public override func onEpochEnd(_ epoch: Int, logs: inout Logs) throws {
        guard let model else { return }
        let path = try ModelCheckpoint.format(filepath, epoch: epoch + 1, logs: logs)
        if saveBestOnly {
            guard let current = logValue(monitor, in: logs) else {
                message("Can save best model only with \(monitor) available.")
                return
            }
            let improved = mode == .min ? current < best : current > best
            guard improved else {
                if verbose > 0 { message(String(format: "\nEpoch %d: %@ did not improve from %.5f", epoch + 1, monitor, Double(best))) }
                return
            }
            if verbose > 0 {
                message(String(format: "\nEpoch %d: %@ improved from %.5f to %.5f, saving model to %@", epoch + 1, monitor,
                               Double(best), Double(current), path))
            }
            best = current
        } else if verbose > 0 {
            message("\nEpoch \(epoch + 1): saving model to \(path)")
        }
        if saveWeightsOnly && !path.lowercased().hasSuffix(".json") {
            try model.saveWeights(to: path)
        } else if path.lowercased().hasSuffix(".json") {
            try ModelFile.save(model, to: path, weightsOnly: saveWeightsOnly)
        } else {
            try model.save(to: path)
        }
    }

    /// Fills `{name}` / `{name:spec}` fields: `epoch` or a log value, with `02d`, `.4f`, `.3e` style specs.
    static func format(_ template: String, epoch: Int, logs: Logs) throws -> String {
        var result = ""
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            result += rest[..<open]
            guard let close = rest[open...].firstIndex(of: "}") else { break }
            let field = rest[rest.index(after: open)..<close]
            let parts = field.split(separator: ":", maxSplits: 1).map(String.init)
            let name = parts.first ?? ""
            let spec = parts.count > 1 ? parts[1] : ""
            let value: Double
            if name == "epoch" {
                value = Double(epoch)
            } else if let logged = logValue(name, in: logs) {
                value = Double(logged)
            } else {
                throw MLPError.invalidArgument("checkpoint path '\(template)': no value named '\(name)' (available: epoch, \(logs.map(\.0).joined(separator: ", ")))")
            }
            if spec.hasSuffix("d") {
                result += String(format: "%\(spec.dropLast())d", Int(value))
            } else if spec.hasSuffix("f") || spec.hasSuffix("e") || spec.hasSuffix("g") {
                result += String(format: "%\(spec)", value)
            } else {
                result += name == "epoch" ? String(Int(value)) : String(value)
            }
            rest = rest[rest.index(after: close)...]
        }
        return result + rest
    }
}
