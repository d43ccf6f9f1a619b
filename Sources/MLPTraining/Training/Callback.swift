import Foundation
import MLPCore

/// Logs as Keras passes them: ordered `(name, value)` pairs (`loss`, `accuracy`, `val_loss`, …).
public typealias Logs = [(String, Float)]

/// The value of `key` in `logs`, if present.
public func logValue(_ key: String, in logs: Logs) -> Float? {
    logs.first { $0.0 == key }?.1
}

/// Sets `key` to `value` in `logs`, appending it when new.
public func setLogValue(_ key: String, _ value: Float, in logs: inout Logs) {
    if let index = logs.firstIndex(where: { $0.0 == key }) { logs[index].1 = value } else { logs.append((key, value)) }
}

/// A hook into `fit`, `evaluate` and `predict`, with Keras' lifecycle. Subclass and override what you need.
///
/// A callback sees the model (``model``): it can stop training (`model.stopTraining = true`), read and write
/// weights (`model.weights()`, `model.setWeights(_:)`) and the learning rate (`model.optimizer?.learningRate`).
/// Epoch-end logs hold the epoch's means (`loss`, metrics, `val_*`); a callback may add entries
/// (`learning_rate`). Batch-end logs are the running means so far in the epoch, and only when
/// ``needsBatchLogs`` is true, since reading them makes the host wait for the device at every step. A callback
/// declares what else it reads of a step (``needs(forStep:)``: the layers' activated outputs) and may move the
/// first epoch of `fit` (``resumeEpoch``).
///
/// ```swift
/// final class PrintLoss: Callback {
///     override func onEpochEnd(_ epoch: Int, logs: inout Logs) { print(epoch, logValue("loss", in: logs)!) }
/// }
/// try model.fit(x: x, y: y, epochs: 5, callbacks: [PrintLoss()])
/// ```
open class Callback {
    /// The model being trained, set before `onTrainBegin`.
    public internal(set) weak var model: Sequential?

    /// Creates a callback; subclasses add their own settings.
    public init() {}

    /// Whether batch-end hooks need logs (a device read per batch).
    open var needsBatchLogs: Bool { false }

    /// What this callback reads of training step `batch` after it, asked after every callback's
    /// ``onTrainBatchBegin(_:)``; nothing by default.
    open func needs(forStep batch: Int) -> StepNeeds { [] }

    /// Whether the callback runs after all the others at every hook, whatever its place in the list (false by
    /// default). Such a callback is told the others by ``willTrain(after:)``.
    open var runsAfterOthers: Bool { false }

    /// Called at the start of `fit`, before any `onTrainBegin`, on a callback that ``runsAfterOthers``, with the
    /// callbacks that run before it, in order.
    open func willTrain(after others: [Callback]) {}

    /// The epoch `fit` starts at instead of its `initialEpoch`, read after every `onTrainBegin`; nil (the default)
    /// keeps it. When several callbacks give one, the last in running order wins.
    open var resumeEpoch: Int? { nil }

    /// Called once at the start of `fit`, after the model is set; reset per-run state here (Keras does).
    open func onTrainBegin(logs: Logs) throws {}
    /// Called once at the end of `fit` (also after an early stop), with the last epoch's logs.
    open func onTrainEnd(logs: Logs) throws {}
    open func onEpochBegin(_ epoch: Int) throws {}
    open func onEpochEnd(_ epoch: Int, logs: inout Logs) throws {}
    /// Called before training step `batch` (0-based within the epoch).
    open func onTrainBatchBegin(_ batch: Int) throws {}
    /// Called after training step `batch`, with the epoch's running means when ``Callback/needsBatchLogs`` is true, else nil.
    open func onTrainBatchEnd(_ batch: Int, logs: Logs?) throws {}
    /// Called at the start of `evaluate` (and of the validation pass inside `fit`).
    open func onTestBegin() throws {}
    /// Called at the end of `evaluate` (and of the validation pass), with its loss and metrics.
    open func onTestEnd(logs: Logs) throws {}
    /// Called before evaluation batch `batch`.
    open func onTestBatchBegin(_ batch: Int) throws {}
    /// Called after evaluation batch `batch`.
    open func onTestBatchEnd(_ batch: Int) throws {}
    /// Called at the start of `predict`.
    open func onPredictBegin() throws {}
    /// Called at the end of `predict`.
    open func onPredictEnd() throws {}
    /// Called before prediction batch `batch`.
    open func onPredictBatchBegin(_ batch: Int) throws {}
    /// Called after prediction batch `batch`.
    open func onPredictBatchEnd(_ batch: Int) throws {}

    /// State to carry over an interruption (BackupAndRestore), JSON-compatible or `[[Float]]` (stored in
    /// binary: weights); empty when stateless.
    open var backupState: [String: Any] { [:] }
    /// Restores what ``backupState`` saved (after `onTrainBegin` has reset the callback).
    open func restoreBackupState(_ state: [String: Any]) throws {}

    /// Writes a message as Keras' `io_utils.print_msg` does, to the model's output.
    public func message(_ text: String) {
        model?.output(text + "\n")
    }
}

/// What a callback reads of a training step besides the logs (see ``Callback/needs(forStep:)``): the step
/// computes it only when some callback asks.
public struct StepNeeds: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Every layer's activated output after the step, the last layer's included: the step then computes the last
    /// activation even when the loss is fused with it (``StepContext/needsOutputActivation``).
    public static let layerOutputs = StepNeeds(rawValue: 1 << 0)
}

/// Whether a monitored quantity improves by going down or up.
public enum MonitorMode: String, CaseIterable, Sendable {
    case auto, min, max

    /// `auto` resolved as Keras does: `max` for accuracies, AUC, precision and recall, `min` otherwise.
    public func resolved(for monitor: String) -> MonitorMode {
        guard self == .auto else { return self }
        let name = monitor.hasPrefix("val_") ? String(monitor.dropFirst(4)) : monitor
        let up = ["acc", "accuracy", "auc", "precision", "recall"]
        return up.contains(name) || name.hasSuffix("accuracy") || name.hasPrefix("auc") ? .max : .min
    }
}
