import Foundation
import MLPCore

/// Stops training when a monitored quantity stops improving (Keras 3 semantics).
///
/// Improvement: `current + minDelta < best` in `min` mode (`current − minDelta > best` in `max`). After
/// `patience` epochs without improvement training stops. With a `baseline`, the wait only resets when the
/// value also beats the baseline. Epochs before `startFromEpoch` are ignored. With `restoreBestWeights`, the
/// best epoch's weights are restored at the end of training **whether or not** it stopped early (Keras 3).
/// State resets at train begin.
public final class EarlyStopping: Callback {
    /// The log key watched (`val_loss` by default; `loss`, `val_accuracy`, …).
    public let monitor: String
    /// The smallest change that counts as an improvement (its absolute value; 0 by default).
    public let minDelta: Float
    /// Epochs without improvement before training stops (0 by default: stop at the first epoch that does not improve).
    public let patience: Int
    /// 1 prints a line when training stops and when the best weights are restored; 0 (the default) is silent.
    public let verbose: Int
    /// Whether lower or higher is better, resolved from ``monitor`` when created with `.auto`.
    public let mode: MonitorMode
    /// A value the monitored quantity must beat for the wait to reset; nil (the default) for none.
    public let baseline: Float?
    /// Whether the best epoch's weights are restored at the end of training (false by default, as in Keras).
    public let restoreBestWeights: Bool
    /// Epochs (0-based) before this one are not watched: a warm-up (0 by default).
    public let startFromEpoch: Int

    /// Epochs since the last improvement.
    public private(set) var wait = 0
    /// The epoch (0-based) at which training was stopped, 0 if it was not.
    public private(set) var stoppedEpoch = 0
    /// The best monitored value so far; nil before the first watched epoch.
    public private(set) var best: Float?
    /// The best epoch (0-based).
    public private(set) var bestEpoch = 0
    var bestWeights: [Tensor]?

    /// Creates the callback with Keras' names and defaults; `minDelta` is taken as its absolute value.
    public init(monitor: String = "val_loss", minDelta: Float = 0, patience: Int = 0, verbose: Int = 0,
                mode: MonitorMode = .auto, baseline: Float? = nil, restoreBestWeights: Bool = false, startFromEpoch: Int = 0) {
        self.monitor = monitor
        self.minDelta = abs(minDelta)
        self.patience = patience
        self.verbose = verbose
        self.mode = mode.resolved(for: monitor)
        self.baseline = baseline
        self.restoreBestWeights = restoreBestWeights
        self.startFromEpoch = startFromEpoch
    }

    func isImprovement(_ value: Float, over reference: Float?) -> Bool {
        guard let reference else { return true }
        return mode == .min ? value + minDelta < reference : value - minDelta > reference
    }

    public override func onTrainBegin(logs: Logs) throws {
        wait = 0
        stoppedEpoch = 0
        best = nil
        bestEpoch = 0
        bestWeights = nil
    }

    public override func onEpochEnd(_ epoch: Int, logs: inout Logs) throws {
        guard let current = logValue(monitor, in: logs) else {
            message("Early stopping conditioned on metric `\(monitor)` which is not available. Available metrics are: \(logs.map(\.0).joined(separator: ","))")
            return
        }
        guard epoch >= startFromEpoch, let model else { return }
        if restoreBestWeights && bestWeights == nil {
            bestWeights = model.weights()
            bestEpoch = epoch
        }
        wait += 1
        if isImprovement(current, over: best) {
            best = current
            bestEpoch = epoch
            if restoreBestWeights { bestWeights = model.weights() }
            if baseline == nil || isImprovement(current, over: baseline) { wait = 0 }
            return
        }
        if wait >= patience && epoch > 0 {
            stoppedEpoch = epoch
            model.stopTraining = true
        }
    }

    public override var backupState: [String: Any] {
        var state: [String: Any] = ["wait": wait, "stopped_epoch": stoppedEpoch, "best_epoch": bestEpoch]
        if let best { state["best"] = Double(best) }
        // [[Float]]: BackupAndRestore stores such values in binary.
        if let bestWeights { state["best_weights"] = bestWeights.map(\.scalars) }
        return state
    }

    public override func restoreBackupState(_ state: [String: Any]) throws {
        wait = state["wait"] as? Int ?? 0
        stoppedEpoch = state["stopped_epoch"] as? Int ?? 0
        bestEpoch = state["best_epoch"] as? Int ?? 0
        best = (state["best"] as? Double).map(Float.init)
        // [[Float]] from a binary backup, [[Double]] from an earlier version's JSON one.
        let saved = state["best_weights"] as? [[Float]] ?? (state["best_weights"] as? [[Double]])?.map { $0.map(Float.init) }
        if let saved, let shapes = model?.weights().map(\.shape), saved.count == shapes.count {
            bestWeights = zip(saved, shapes).map { Tensor(shape: $1, scalars: $0) }
        }
    }

    public override func onTrainEnd(logs: Logs) throws {
        if stoppedEpoch > 0 && verbose > 0 { message("Epoch \(stoppedEpoch + 1): early stopping") }
        if restoreBestWeights, let bestWeights, let model {
            if verbose > 0 { message("Restoring model weights from the end of the best epoch: \(bestEpoch + 1).") }
            try model.setWeights(bestWeights)
        }
    }
}

/// Lowers the learning rate by `factor` when a monitored quantity has not improved for `patience` epochs.
public final class ReduceLROnPlateau: Callback {
    /// The log key watched (`val_loss` by default).
    public let monitor: String
    /// The factor the learning rate is multiplied by, below 1 (0.1 by default).
    public let factor: Float
    /// Epochs without improvement before the rate is lowered (10 by default).
    public let patience: Int
    /// 1 prints a line at each reduction; 0 (the default) is silent.
    public let verbose: Int
    /// Whether lower or higher is better, resolved from ``monitor`` when created with `.auto`.
    public let mode: MonitorMode
    /// The smallest change that counts as an improvement (1e-4 by default, as in Keras).
    public let minDelta: Float
    /// Epochs to wait after a reduction before counting again (0 by default).
    public let cooldown: Int
    /// The floor the rate is never lowered below (0 by default).
    public let minLearningRate: Float
    /// Epochs since the last improvement.
    public private(set) var wait = 0
    /// Epochs of cooldown left after the last reduction.
    public private(set) var cooldownCounter = 0
    /// The best monitored value so far.
    public private(set) var best: Float = .infinity

    /// Creates the callback with Keras' names and defaults; a `factor` of 1 or more is a programmer error.
    public init(monitor: String = "val_loss", factor: Float = 0.1, patience: Int = 10, verbose: Int = 0,
                mode: MonitorMode = .auto, minDelta: Float = 1e-4, cooldown: Int = 0, minLearningRate: Float = 0) {
        precondition(factor < 1, "ReduceLROnPlateau does not support a factor >= 1, got \(factor)")
        self.monitor = monitor
        self.factor = factor
        self.patience = patience
        self.verbose = verbose
        self.mode = mode.resolved(for: monitor)
        self.minDelta = minDelta
        self.cooldown = cooldown
        self.minLearningRate = minLearningRate
    }

    func improved(_ current: Float) -> Bool {
        mode == .min ? current < best - minDelta : current > best + minDelta
    }

    public override var backupState: [String: Any] {
        // `best` only once it is finite (JSON has no infinity; restoring keeps the reset ±infinity).
        var state: [String: Any] = ["wait": wait, "cooldown_counter": cooldownCounter]
        if best.isFinite { state["best"] = Double(best) }
        return state
    }

    public override func restoreBackupState(_ state: [String: Any]) throws {
        wait = state["wait"] as? Int ?? 0
        cooldownCounter = state["cooldown_counter"] as? Int ?? 0
        best = (state["best"] as? Double).map(Float.init) ?? best
    }

    public override func onTrainBegin(logs: Logs) throws {
        wait = 0
        cooldownCounter = 0
        best = mode == .min ? .infinity : -.infinity
    }

    public override func onEpochEnd(_ epoch: Int, logs: inout Logs) throws {
        guard let optimizer = model?.optimizer else { return }
        setLogValue("learning_rate", optimizer.learningRate, in: &logs)
        guard let current = logValue(monitor, in: logs) else { return }
        if cooldownCounter > 0 {
            cooldownCounter -= 1
            wait = 0
        }
        if improved(current) {
            best = current
            wait = 0
        } else if cooldownCounter == 0 {
            wait += 1
            if wait >= patience && optimizer.learningRate > minLearningRate {
                let reduced = max(optimizer.learningRate * factor, minLearningRate)
                optimizer.learningRate = reduced
                if verbose > 0 { message("\nEpoch \(epoch + 1): ReduceLROnPlateau reducing learning rate to \(reduced).") }
                cooldownCounter = cooldown
                wait = 0
            }
        }
    }
}

/// Sets the learning rate at each epoch's start from `schedule(epoch, currentRate)`.
public final class LearningRateScheduler: Callback {
    /// The rate for an epoch: called with the epoch (0-based) and the current rate; a non-finite result stops training.
    public let schedule: @Sendable (Int, Float) -> Float
    /// 1 prints the rate set at each epoch; 0 (the default) is silent.
    public let verbose: Int

    /// Creates the callback from a schedule `(epoch, currentRate) -> newRate`.
    public init(verbose: Int = 0, _ schedule: @escaping @Sendable (Int, Float) -> Float) {
        self.schedule = schedule
        self.verbose = verbose
    }

    public override func onEpochBegin(_ epoch: Int) throws {
        guard let optimizer = model?.optimizer else { return }
        let rate = schedule(epoch, optimizer.learningRate)
        guard rate.isFinite else {
            throw MLPError.invalidArgument("the learning-rate schedule returned \(rate) at epoch \(epoch)")
        }
        optimizer.learningRate = rate
        if verbose > 0 { message("\nEpoch \(epoch + 1): LearningRateScheduler setting learning rate to \(rate).") }
    }

    public override func onEpochEnd(_ epoch: Int, logs: inout Logs) throws {
        if let rate = model?.optimizer?.learningRate { setLogValue("learning_rate", rate, in: &logs) }
    }
}

/// Streams epoch results to a CSV file: `epoch` then the log keys in sorted order, as Keras' CSVLogger.
public final class CSVLogger: Callback {
    /// The CSV file written.
    public let filename: String
    /// The field separator (`,` by default).
    public let separator: String
    /// Whether an existing file is appended to (keeping its header) rather than replaced (false by default).
    public let append: Bool
    var keys: [String]?
    var file: AppendingFile?

    /// Creates the logger; the file is opened at train begin.
    public init(filename: String, separator: String = ",", append: Bool = false) {
        self.filename = filename
        self.separator = separator
        self.append = append
    }

    /// Opens the log (a failure names the file and the OS's reason and stops training before it starts).
    public override func onTrainBegin(logs: Logs) throws {
        let exists = FileManager.default.fileExists(atPath: filename)
        // Appending to an existing log: its header is already written.
        keys = nil
        if append && exists, let text = try? String(contentsOfFile: filename, encoding: .utf8),
           let header = text.split(separator: "\n").first {
            keys = Array(String(header).components(separatedBy: separator).dropFirst())
        }
        file = try AppendingFile(path: filename, truncate: !append)
    }

    /// Appends the epoch's row; a write that fails (a full disk) stops training with one error naming the log.
    public override func onEpochEnd(_ epoch: Int, logs: inout Logs) throws {
        var text = ""
        if keys == nil {
            keys = logs.map(\.0).sorted()
            text += (["epoch"] + keys!).joined(separator: separator) + "\n"
        }
        let values = keys!.map { key in logValue(key, in: logs).map { History.jsonNumber($0) } ?? "NA" }
        text += ([String(epoch)] + values).joined(separator: separator) + "\n"
        do { try file?.write(text) } catch {
            file = nil
            throw error
        }
    }

    public override func onTrainEnd(logs: Logs) throws {
        defer {
            file = nil
            keys = nil
        }
        try file?.close()
    }
}

/// Stops training as soon as the loss becomes NaN or infinite (checks every batch: one device read each).
public final class TerminateOnNaN: Callback {
    public override var needsBatchLogs: Bool { true }

    public override func onTrainBatchEnd(_ batch: Int, logs: Logs?) throws {
        guard let loss = logs.flatMap({ logValue("loss", in: $0) }), !loss.isFinite else { return }
        message("Batch \(batch): Invalid loss, terminating training")
        model?.stopTraining = true
    }
}
