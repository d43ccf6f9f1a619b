import Foundation
import MLPCore

/// Makes `fit` resumable: after every epoch it writes a backup (weights, optimizer step and slots, the
/// model's seed — which with the epoch number fixes shuffles and dropout masks — and the other callbacks'
/// state) to `backupDirectory`; a `fit` that starts while a backup is there resumes after its epoch, so an
/// interrupted run (even a killed process) ends with the same weights as an uninterrupted one. The backup is
/// deleted when training ends (unless `deleteCheckpoint` is false). Written atomically: a kill during the write
/// leaves the previous backup.
///
/// It runs after the other callbacks at every hook, whatever its position in the list.
public final class BackupAndRestore: Callback {
    public let backupDirectory: String
    public let deleteCheckpoint: Bool
    var others: [Callback] = []
    /// The epoch after the backup's, once `onTrainBegin` has read one.
    var backupResumeEpoch: Int?

    public init(backupDirectory: String, deleteCheckpoint: Bool = true) {
        self.backupDirectory = backupDirectory
        self.deleteCheckpoint = deleteCheckpoint
    }

    var backupPath: String { (backupDirectory as NSString).appendingPathComponent("backup.json") }

    public override var runsAfterOthers: Bool { true }
    public override func willTrain(after others: [Callback]) { self.others = others }
    public override var resumeEpoch: Int? { backupResumeEpoch }

    public override func onTrainBegin(logs: Logs) throws {
        backupResumeEpoch = nil
        guard let model else { return }
        do {
            try FileManager.default.createDirectory(atPath: backupDirectory, withIntermediateDirectories: true)
        } catch {
            throw MLPError.fileNotReadable(path: backupDirectory, reason: "cannot create the backup folder: \(error.localizedDescription)")
        }
        guard let data = FileManager.default.contents(atPath: backupPath) else { return }
        func bad(_ reason: String) -> MLPError { .malformedFile(path: backupPath, line: 0, reason: reason) }
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              root["format"] as? String == "mlpkit-backup-v0", let epoch = root["epoch"] as? Int,
              let seed = (root["seed"] as? String).flatMap(UInt64.init), let weights = root["weights"] as? [[Double]] else {
            throw bad("not an MLPKit backup")
        }
        let current = model.weights()
        guard weights.count == current.count, zip(weights, current).allSatisfy({ $0.count == $1.scalars.count }) else {
            throw bad("the backup is of another model architecture; delete \(backupDirectory) to start over")
        }
        try model.setWeights(zip(weights, current).map { Tensor(shape: $1.shape, scalars: $0.map(Float.init)) })
        model.seed = seed
        if let optimizer = model.optimizer, let state = root["optimizer"] as? [String: Any] {
            optimizer.iterations = state["iterations"] as? Int ?? 0
            if let rate = state["learning_rate"] as? Double { optimizer.learningRate = Float(rate) }
            if let slots = state["slots"] as? [[[Double]]] {
                optimizer.slots.restore(slots.map { $0.map { $0.map(Float.init) } }, for: model.layers.flatMap(\.parameters),
                                        on: model.backend)
            }
        }
        if let states = root["callbacks"] as? [[String: Any]] {
            for (callback, state) in zip(others, states) { try callback.restoreBackupState(state) }
        }
        backupResumeEpoch = epoch + 1
    }

    public override func onEpochEnd(_ epoch: Int, logs: inout Logs) throws {
        guard let model else { return }
        var root: [String: Any] = [
            "format": "mlpkit-backup-v0", "epoch": epoch, "seed": String(model.seed),
            "weights": model.weights().map { $0.scalars.map(Double.init) },
            "callbacks": others.map { $0.backupState },
        ]
        if let optimizer = model.optimizer {
            root["optimizer"] = [
                "iterations": optimizer.iterations, "learning_rate": Double(optimizer.learningRate),
                "slots": optimizer.slots.export(model.layers.flatMap(\.parameters), on: model.backend)
                    .map { $0.map { $0.map(Double.init) } },
            ]
        }
        try ModelFile.writeAtomically(try JSONSerialization.data(withJSONObject: root), to: backupPath)
    }

    public override func onTrainEnd(logs: Logs) throws {
        if deleteCheckpoint { try? FileManager.default.removeItem(atPath: backupPath) }
    }
}
