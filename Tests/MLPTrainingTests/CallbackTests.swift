import Foundation
import XCTest
@testable import MLPModelFiles
@testable import MLPTraining
import MLPCore
import MLPTestSupport

/// Callbacks on Keras' scenarios: scripted monitor values, real fits, files on disk.
final class CallbackTests: ScratchDirectoryTestCase {
    func tinyModel(seed: UInt64 = 1) throws -> Sequential {
        let model = Sequential(inputDim: 2, [Dense(1)], seed: seed)
        try model.compile(optimizer: SGD(learningRate: 0.1), loss: .meanSquaredError)
        model.output = { _ in }
        return model
    }

    /// Drives EarlyStopping through `values` (one per epoch) with the model's kernel set to the epoch number,
    /// as Keras' own tests do; returns (epochs run, final kernel value = restored epoch).
    func script(_ callback: EarlyStopping, _ values: [Float], key: String = "val_loss") throws -> (ran: Int, kernel: Float) {
        let model = try tinyModel()
        callback.model = model
        try callback.onTrainBegin(logs: [])
        var ran = 0
        for (epoch, value) in values.enumerated() {
            try model.setWeights([Tensor(shape: [2, 1], repeating: Float(epoch)), Tensor(shape: [1], repeating: 0)])
            var logs: Logs = [(key, value)]
            try callback.onEpochEnd(epoch, logs: &logs)
            ran += 1
            if model.stopTraining { break }
        }
        try callback.onTrainEnd(logs: [])
        return (ran, model.weights()[0].scalars[0])
    }

    func testEarlyStoppingPatienceAndRestore() throws {
        let stopper = EarlyStopping(patience: 2, restoreBestWeights: true)
        let result = try script(stopper, [0.5, 0.4, 0.45, 0.41, 0.39])
        XCTAssertEqual(result.ran, 4, "stops at epoch 4 (index 3): two epochs without improving on 0.4")
        XCTAssertEqual(stopper.stoppedEpoch, 3)
        XCTAssertEqual(result.kernel, 1, "weights of the best epoch (index 1) restored")
        // Keras 3: restored at train end even when it never stopped.
        let patient = EarlyStopping(patience: 10, restoreBestWeights: true)
        let full = try script(patient, [0.5, 0.3, 0.4, 0.45])
        XCTAssertEqual(full.ran, 4)
        XCTAssertEqual(patient.stoppedEpoch, 0)
        XCTAssertEqual(full.kernel, 1)
    }

    func testEarlyStoppingMinDeltaBaselineStartAndMode() throws {
        // min_delta 0.01: 0.995 and 0.99 are not improvements on 1.0.
        XCTAssertEqual(try script(EarlyStopping(minDelta: 0.01, patience: 1), [1.0, 0.995, 0.99]).ran, 2)
        XCTAssertEqual(try script(EarlyStopping(minDelta: 0.001, patience: 1), [1.0, 0.995, 0.99, 0.99]).ran, 4)
        // A baseline never beaten: the wait never resets, but improvements themselves never stop training.
        XCTAssertEqual(try script(EarlyStopping(patience: 2, baseline: 0.5), [0.9, 0.95, 0.97]).ran, 2)
        XCTAssertEqual(try script(EarlyStopping(patience: 2, baseline: 0.5), [0.9, 0.8, 0.7, 0.6]).ran, 4)
        XCTAssertEqual(try script(EarlyStopping(patience: 1, baseline: 0.5), [0.4, 0.45, 0.46]).ran, 2)
        // start_from_epoch: the first epochs are ignored.
        XCTAssertEqual(try script(EarlyStopping(patience: 1, startFromEpoch: 3), [0.1, 0.9, 0.9, 0.5, 0.6]).ran, 5)
        // Mode auto is max for accuracy; explicit modes override.
        XCTAssertEqual(try script(EarlyStopping(monitor: "val_accuracy", patience: 1), [0.5, 0.6, 0.55], key: "val_accuracy").ran, 3)
        XCTAssertEqual(try script(EarlyStopping(monitor: "val_accuracy", patience: 1), [0.5, 0.6, 0.55, 0.5], key: "val_accuracy").ran, 3)
        XCTAssertEqual(EarlyStopping(monitor: "val_accuracy").mode, .max)
        XCTAssertEqual(EarlyStopping(monitor: "loss").mode, .min)
        XCTAssertEqual(EarlyStopping(monitor: "val_accuracy", mode: .min).mode, .min)
    }

    func testEarlyStoppingInFitPrintsLikeKeras() throws {
        let model = try tinyModel()
        var text = ""
        model.output = { text += $0 }
        model.outputIsTerminal = false
        let x = Tensor(shape: [8, 2], repeating: 1), y = Tensor(shape: [8, 1], repeating: 0)
        // Validation targets move away from what training learns, so val_loss rises from epoch 2 on.
        let history = try model.fit(x: x, y: y, epochs: 20, verbose: 0, validationData: (x, Tensor(shape: [8, 1], repeating: 5)),
                                    callbacks: [EarlyStopping(patience: 1, verbose: 1)])
        XCTAssertEqual(history.epoch, [0, 1])
        XCTAssertEqual(text, "Epoch 2: early stopping\n")
    }

    func testReduceLROnPlateauAndScheduler() throws {
        let model = try tinyModel()
        let reducer = ReduceLROnPlateau(monitor: "loss", factor: 0.5, patience: 2, cooldown: 1, minLearningRate: 0.02)
        reducer.model = model
        try reducer.onTrainBegin(logs: [])
        var rates: [Float] = []
        for (epoch, loss) in [Float(1), 1, 1, 1, 1, 1, 1, 1].enumerated() {
            var logs: Logs = [("loss", loss)]
            try reducer.onEpochEnd(epoch, logs: &logs)
            rates.append(model.optimizer!.learningRate)
            XCTAssertEqual(logValue("learning_rate", in: logs), epoch == 0 ? 0.1 : rates[epoch - 1])
        }
        // Keras' sequence: the plateau starts at epoch 1; reduce at the second wait (epoch 2); the cooldown epoch
        // that follows ends its own countdown and counts as the first wait again; floor at min_lr 0.02.
        XCTAssertEqual(rates, [0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.02, 0.02])

        let scheduled = try tinyModel()
        let x = Tensor(shape: [4, 2], repeating: 1), y = Tensor(shape: [4, 1], repeating: 0)
        let history = try scheduled.fit(x: x, y: y, epochs: 3, verbose: 0,
                                        callbacks: [LearningRateScheduler { epoch, _ in 0.1 / Float(epoch + 1) }])
        assertClose(history.history["learning_rate"]!, [0.1, 0.05, 0.1 / 3])
    }

    func testCSVLoggerModelCheckpointTerminateOnNaN() throws {
        let model = try tinyModel()
        let x = Tensor(shape: [4, 2], repeating: 1), y = Tensor(shape: [4, 1], repeating: 0)
        let csv = directory.appendingPathComponent("log.csv").path
        let template = directory.appendingPathComponent("ckpt-{epoch:02d}-{loss:.3f}.json").path
        try model.fit(x: x, y: y, epochs: 3, verbose: 0, validationData: (x, y),
                      callbacks: [CSVLogger(filename: csv), ModelCheckpoint(filepath: template, monitor: "val_loss", saveBestOnly: true)])
        let lines = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 4)
        XCTAssertEqual(lines[0], "epoch,loss,val_loss")
        XCTAssertTrue(lines[1].hasPrefix("0,"), String(lines[1]))
        let saved = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("ckpt-") }.sorted()
        XCTAssertEqual(saved.count, 3, "val_loss improved every epoch: \(saved)")
        XCTAssertTrue(saved[0].hasPrefix("ckpt-01-"), saved[0])
        XCTAssertEqual(try ModelCheckpoint.format("m-{epoch:03d}-{val_loss:.2f}.json", epoch: 7, logs: [("val_loss", 0.1234)]),
                       "m-007-0.12.json")
        XCTAssertThrowsError(try ModelCheckpoint.format("{nope}.json", epoch: 1, logs: []))
        // Appending continues the same file without a second header.
        try model.fit(x: x, y: y, epochs: 1, verbose: 0, callbacks: [CSVLogger(filename: csv, append: true)])
        XCTAssertEqual(try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n").count, 5)

        let exploding = Sequential(inputDim: 2, [Dense(1)], seed: 1)
        try exploding.compile(optimizer: SGD(learningRate: 1e20), loss: .meanSquaredError)
        exploding.output = { _ in }
        let big = Tensor(shape: [64, 2], repeating: 1e10)
        let history = try exploding.fit(x: big, y: Tensor(shape: [64, 1], repeating: 0), batchSize: 1, epochs: 5, verbose: 0,
                                        shuffle: false, callbacks: [TerminateOnNaN()])
        XCTAssertEqual(history.epoch, [0], "stopped inside the first epoch")
        XCTAssertFalse(history.history["loss"]![0].isFinite)
    }

    /// Every hook fires, in Keras' order, for fit (with validation every second epoch), evaluate and predict.
    func testHookOrderInitialEpochAndValidationFrequency() throws {
        final class Recorder: Callback {
            var events: [String] = []
            override func onTrainBegin(logs: Logs) throws { events.append("train_begin") }
            override func onTrainEnd(logs: Logs) throws { events.append("train_end") }
            override func onEpochBegin(_ epoch: Int) throws { events.append("epoch_begin \(epoch)") }
            override func onEpochEnd(_ epoch: Int, logs: inout Logs) throws { events.append("epoch_end \(epoch) \(logs.map(\.0).joined(separator: ","))") }
            override func onTrainBatchBegin(_ batch: Int) throws { events.append("batch_begin \(batch)") }
            override func onTrainBatchEnd(_ batch: Int, logs: Logs?) throws { events.append("batch_end \(batch)") }
            override func onTestBegin() throws { events.append("test_begin") }
            override func onTestEnd(logs: Logs) throws { events.append("test_end") }
            override func onTestBatchBegin(_ batch: Int) throws { events.append("test_batch_begin \(batch)") }
            override func onTestBatchEnd(_ batch: Int) throws { events.append("test_batch_end \(batch)") }
            override func onPredictBegin() throws { events.append("predict_begin") }
            override func onPredictEnd() throws { events.append("predict_end") }
            override func onPredictBatchBegin(_ batch: Int) throws { events.append("predict_batch_begin \(batch)") }
            override func onPredictBatchEnd(_ batch: Int) throws { events.append("predict_batch_end \(batch)") }
        }
        let model = try tinyModel()
        let recorder = Recorder()
        let x = Tensor(shape: [4, 2], repeating: 1), y = Tensor(shape: [4, 1], repeating: 0)
        let history = try model.fit(x: x, y: y, batchSize: 4, epochs: 4, verbose: 0, validationData: (x, y), callbacks: [recorder],
                                    initialEpoch: 1, validationFreq: 2)
        XCTAssertEqual(history.epoch, [1, 2, 3])
        XCTAssertEqual(recorder.events, [
            "train_begin",
            "epoch_begin 1", "batch_begin 0", "batch_end 0", "test_begin", "test_batch_begin 0", "test_batch_end 0", "test_end",
            "epoch_end 1 loss,val_loss",
            "epoch_begin 2", "batch_begin 0", "batch_end 0", "epoch_end 2 loss",
            "epoch_begin 3", "batch_begin 0", "batch_end 0", "test_begin", "test_batch_begin 0", "test_batch_end 0", "test_end",
            "epoch_end 3 loss,val_loss",
            "train_end",
        ])
        recorder.events = []
        _ = try model.evaluate(x: x, y: y, batchSize: 2, callbacks: [recorder])
        _ = try model.predict(x, batchSize: 3, callbacks: [recorder])
        XCTAssertEqual(recorder.events, ["test_begin", "test_batch_begin 0", "test_batch_end 0", "test_batch_begin 1", "test_batch_end 1",
                                         "test_end", "predict_begin", "predict_batch_begin 0", "predict_batch_end 0",
                                         "predict_batch_begin 1", "predict_batch_end 1", "predict_end"])
    }

    /// A fit interrupted after its third epoch resumes from the backup and ends with exactly the weights of
    /// an uninterrupted run (in-process; the CLI test kills a real process).
    func testBackupAndRestoreResumesExactly() throws {
        var random = PhiloxRandom(seed: 3)
        let x = Tensor(shape: [64, 2], scalars: (0..<128).map { _ in random.nextNormal() })
        let y = Tensor(shape: [64, 1], scalars: (0..<64).map { Float($0 % 3) })
        func model() throws -> Sequential {
            let m = Sequential(inputDim: 2, [Dense(8, activation: .relu), Dense(3, activation: .softmax)], seed: 9)
            try m.compile(optimizer: Adam(learningRate: 0.01), loss: .sparseCategoricalCrossentropy(fromLogits: false))
            m.output = { _ in }
            return m
        }
        let reference = try model()
        try reference.fit(x: x, y: y, batchSize: 16, epochs: 6, verbose: 0, callbacks: [EarlyStopping(monitor: "loss", patience: 10, restoreBestWeights: true)])

        final class Crash: Callback {
            struct Interrupted: Error {}
            override func onEpochEnd(_ epoch: Int, logs: inout Logs) throws { if epoch == 2 { throw Interrupted() } }
        }
        let backup = directory.appendingPathComponent("backup").path
        let first = try model()
        XCTAssertThrowsError(try first.fit(x: x, y: y, batchSize: 16, epochs: 6, verbose: 0,
                                           callbacks: [BackupAndRestore(backupDirectory: backup), EarlyStopping(monitor: "loss", patience: 10, restoreBestWeights: true), Crash()]))
        XCTAssertTrue(FileManager.default.fileExists(atPath: backup + "/backup.bin"))
        let resumed = try Sequential(inputDim: 2, [Dense(8, activation: .relu), Dense(3, activation: .softmax)], seed: 12345)
            .compiledLike(first)
        let history = try resumed.fit(x: x, y: y, batchSize: 16, epochs: 6, verbose: 0,
                                      callbacks: [BackupAndRestore(backupDirectory: backup), EarlyStopping(monitor: "loss", patience: 10, restoreBestWeights: true)])
        XCTAssertEqual(history.epoch, [2, 3, 4, 5], "epochs 0 and 1 were backed up; epoch 2 crashed before its backup")
        XCTAssertEqual(resumed.weights(), reference.weights(), "bit-identical to the uninterrupted run")
        XCTAssertFalse(FileManager.default.fileExists(atPath: backup + "/backup.bin"), "deleted at train end")
    }

    /// A backup taken while ModelCheckpoint and ReduceLROnPlateau have seen no value of their monitor yet (no
    /// validation data: their best is still ±infinity, which JSON cannot hold) is written and resumed.
    func testBackupWithCallbacksWhoseBestIsStillInfinite() throws {
        var random = PhiloxRandom(seed: 5)
        let x = Tensor(shape: [32, 2], scalars: (0..<64).map { _ in random.nextNormal() })
        let y = Tensor(shape: [32, 1], scalars: (0..<32).map { Float($0 % 2) })
        let model = Sequential(inputDim: 2, [Dense(4, activation: .relu), Dense(2, activation: .softmax)], seed: 2)
        try model.compile(optimizer: Adam(learningRate: 0.01), loss: .sparseCategoricalCrossentropy(fromLogits: false))
        model.output = { _ in }
        final class Crash: Callback {
            struct Interrupted: Error {}
            override func onEpochEnd(_ epoch: Int, logs: inout Logs) throws { if epoch == 1 { throw Interrupted() } }
        }
        let backup = directory.appendingPathComponent("backup-infinite").path
        let checkpoint = directory.appendingPathComponent("best.keras").path
        func callbacks() -> [Callback] {
            [BackupAndRestore(backupDirectory: backup), ModelCheckpoint(filepath: checkpoint, saveBestOnly: true), ReduceLROnPlateau()]
        }
        XCTAssertThrowsError(try model.fit(x: x, y: y, batchSize: 8, epochs: 3, verbose: 0, callbacks: callbacks() + [Crash()])) { error in
            XCTAssertTrue(error is Crash.Interrupted, "the crash, not a failed backup: \(error)")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: backup + "/backup.bin"))
        let history = try model.fit(x: x, y: y, batchSize: 8, epochs: 3, verbose: 0, callbacks: callbacks())
        XCTAssertEqual(history.epoch, [1, 2])
    }
}

extension Sequential {
    func compiledLike(_ other: Sequential) throws -> Sequential {
        try compile(optimizer: Adam(learningRate: 0.01), loss: other.loss!)
        output = { _ in }
        return self
    }
}
