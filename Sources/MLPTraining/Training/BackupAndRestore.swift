import Foundation
import MLPCore

/// Makes `fit` resumable: after every epoch it writes a backup (`backup.bin`, binary: weights, optimizer step and slots, the
/// model's seed — which with the epoch number fixes shuffles and dropout masks — and the other callbacks'
/// state) to `backupDirectory`; a `fit` that starts while a backup is there resumes after its epoch, so an
/// interrupted run (even a killed process) ends with the same weights as an uninterrupted one. The backup is
/// deleted when training ends (unless `deleteCheckpoint` is false). Written atomically: a kill or a full disk
/// during the write leaves the previous backup. A `backup.json` of an earlier version is still resumed from.
///
/// It runs after the other callbacks at every hook, whatever its position in the list. In a data-parallel `fit`
/// give it to every rank: all ranks read the backup, only rank 0 writes and deletes it (and `fit` then
/// broadcasts rank 0's restored state, so a rank that cannot see the folder still resumes alike).
public final class BackupAndRestore: Callback {
    /// The folder holding the backup; created when missing.
    public let backupDirectory: String
    /// Whether the backup is deleted when training ends (true by default, as in Keras).
    public let deleteCheckpoint: Bool
    var others: [Callback] = []
    /// The epoch after the backup's, once `onTrainBegin` has read one.
    var backupResumeEpoch: Int?

    /// Creates the callback; nothing is read or written before `fit` starts.
    public init(backupDirectory: String, deleteCheckpoint: Bool = true) {
        self.backupDirectory = backupDirectory
        self.deleteCheckpoint = deleteCheckpoint
    }

    /// The backup file: binary (see `BackupFile`), replaced atomically after every epoch.
    var backupPath: String { (backupDirectory as NSString).appendingPathComponent("backup.bin") }
    /// Where versions before the binary format kept their backup (JSON); still resumed from.
    var legacyBackupPath: String { (backupDirectory as NSString).appendingPathComponent("backup.json") }

    /// The epoch (0-based) of the backup in `directory`, nil when there is none: for tools watching a run.
    public static func backedUpEpoch(in directory: String) -> Int? {
        BackupFile.epoch(ofFileAt: (directory as NSString).appendingPathComponent("backup.bin"))
    }

    public override var runsAfterOthers: Bool { true }
    public override func willTrain(after others: [Callback]) { self.others = others }
    public override var resumeEpoch: Int? { backupResumeEpoch }

    public override func onTrainBegin(logs: Logs) throws {
        backupResumeEpoch = nil
        guard let model else { return }
        var isFolder: ObjCBool = false
        // A rank other than 0 of a data-parallel job only reads (fit then broadcasts rank 0's state anyway).
        if !model.distribution.isWriter {
            if let data = FileManager.default.contents(atPath: backupPath) {
                try restore(BackupFile(decoding: data, path: backupPath), into: model)
            }
            return
        }
        if FileManager.default.fileExists(atPath: backupDirectory, isDirectory: &isFolder), !isFolder.boolValue {
            throw MLPError.fileNotWritable(path: backupDirectory, reason: "cannot create the backup folder: it is a file")
        }
        do {
            try FileManager.default.createDirectory(atPath: backupDirectory, withIntermediateDirectories: true)
        } catch {
            throw MLPError.fileNotWritable(path: backupDirectory, reason: "cannot create the backup folder: \(Self.reason(error))")
        }
        if let data = FileManager.default.contents(atPath: backupPath) {
            try restore(BackupFile(decoding: data, path: backupPath), into: model)
        } else if let data = FileManager.default.contents(atPath: legacyBackupPath) {
            try restoreLegacy(data, into: model)
        }
    }

    func restore(_ backup: BackupFile, into model: Sequential) throws {
        let current = model.weights()
        guard backup.weights.count == current.count, zip(backup.weights, current).allSatisfy({ $0.count == $1.scalars.count }) else {
            throw MLPError.malformedFile(path: backupPath, line: 0,
                                         reason: "the backup is of another model architecture; delete \(backupDirectory) to start over")
        }
        try model.setWeights(zip(backup.weights, current).map { Tensor(shape: $1.shape, scalars: $0) })
        model.seed = backup.seed
        if let optimizer = model.optimizer, let iterations = backup.iterations {
            optimizer.iterations = iterations
            optimizer.learningRate = backup.learningRate
            optimizer.slots.restore(backup.slots, for: model.layers.flatMap(\.parameters), on: model.backend)
        }
        if !backup.callbacks.isEmpty {
            guard let stored = try? JSONSerialization.jsonObject(with: backup.callbacks) as? [[String: Any]] else {
                throw MLPError.malformedFile(path: backupPath, line: 0, reason: "the callbacks' state in the backup is not JSON")
            }
            let states = try BackupFile.joiningTensors(stored, backup.callbackTensors, path: backupPath)
            for (callback, state) in zip(others, states) { try callback.restoreBackupState(state) }
        }
        backupResumeEpoch = backup.epoch + 1
    }

    /// A JSON backup (`mlpkit-backup-v0`) written by an earlier version.
    func restoreLegacy(_ data: Data, into model: Sequential) throws {
        func bad(_ reason: String) -> MLPError { .malformedFile(path: legacyBackupPath, line: 0, reason: reason) }
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
        guard let model, model.distribution.isWriter else { return }
        let (states, tensors) = BackupFile.separatingTensors(others.map { $0.backupState })
        let callbacks: Data
        do { callbacks = try JSONSerialization.data(withJSONObject: states) } catch {
            throw MLPError.fileNotWritable(path: backupPath, reason: "a callback's state is not JSON-compatible (NaN or infinity?)")
        }
        let optimizer = model.optimizer
        let backup = BackupFile(epoch: epoch, seed: model.seed, weights: model.weights().map(\.scalars),
                                iterations: optimizer?.iterations, learningRate: optimizer?.learningRate ?? 0,
                                slots: optimizer.map { $0.slots.export(model.layers.flatMap(\.parameters), on: model.backend) } ?? [],
                                callbacks: callbacks, callbackTensors: tensors)
        try AtomicFile.write(backup.encoded(), to: backupPath)
        // A resumed legacy backup is superseded by the binary one.
        unlink(legacyBackupPath)
    }

    public override func onTrainEnd(logs: Logs) throws {
        if deleteCheckpoint && model?.distribution.isWriter != false {
            unlink(backupPath)
            unlink(legacyBackupPath)
        }
    }

    static func reason(_ error: Error) -> String {
        let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
        if let code = underlying.map({ Int32($0.code) }), underlying?.domain == NSPOSIXErrorDomain { return String(cString: strerror(code)) }
        return error.localizedDescription
    }
}
