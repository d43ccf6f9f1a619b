import Foundation
import XCTest
import MLPTestSupport

/// The `mlp` executable under kills, failing writes and corrupt files: resumed runs, intact previous files,
/// one-line errors, no crash.
extension CommandLineTests {
    /// BackupAndRestore across a real process kill: `mlp train --backup-dir` killed with SIGKILL after its
    /// second epoch's backup, then run again with the same flags, ends with the same weights — bit for bit — as
    /// an uninterrupted run.
    func testKilledTrainingResumesToTheSameWeights() throws {
        var text = (0..<32).map { "f\($0)" }.joined(separator: ",") + ",label\n"
        var random = UInt64(12345)
        for _ in 0..<1000 {
            var row: [String] = []
            var sum = 0.0
            for _ in 0..<32 {
                random = random &* 6364136223846793005 &+ 1442695040888963407
                let value = Double(random >> 40) / Double(1 << 24) - 0.5
                sum += value
                row.append(String(format: "%.5f", value))
            }
            text += row.joined(separator: ",") + ",\(sum > 0 ? 1 : 0)\n"
        }
        let data = try write("big.csv", text)
        func arguments(backup: String, save: String) -> [String] {
            ["train", "--data", data, "--layers", "64:relu:dropout=0.2,64:relu", "--epochs", "12", "--seed", "7", "--device", "cpu",
             "--optimizer", "adam", "--backup-dir", backup, "--save", save, "--verbose", "0",
             "--early-stopping", "monitor=loss,patience=20,restore-best-weights"]
        }
        // Uninterrupted reference.
        let reference = try mlpArguments(arguments(backup: "backup-reference", save: "reference.json"))
        XCTAssertEqual(reference.status, 0, reference.stderr)

        // Start, wait for the backup of epoch index ≥ 1, then SIGKILL.
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments(backup: "backup", save: "resumed.json")
        process.currentDirectoryURL = directory
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let backup = directory.appendingPathComponent("backup/backup.bin")
        let deadline = Date().addingTimeInterval(120)
        var killedAfter = -1
        while Date() < deadline && process.isRunning {
            // backup.bin: the magic MLPKBAK1, then the epoch as a little-endian UInt64.
            if let data = try? Data(contentsOf: backup), data.count >= 16, data.prefix(8) == Data("MLPKBAK1".utf8),
               case let epoch = Int(data[8..<16].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }), epoch >= 1 {
                kill(process.processIdentifier, SIGKILL)
                killedAfter = epoch
                break
            }
            usleep(5_000)
        }
        process.waitUntilExit()
        XCTAssertGreaterThanOrEqual(killedAfter, 1, "the run was killed after a backup")
        XCTAssertLessThan(killedAfter, 11, "and before it finished")
        XCTAssertEqual(process.terminationReason, .uncaughtSignal)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("resumed.json").path))

        let resumed = try mlpArguments(arguments(backup: "backup", save: "resumed.json"))
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        func weights(_ name: String) throws -> [[Double]] {
            let root = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent(name))) as! [String: Any]
            return (root["weights"] as! [[String: Any]]).map { $0["values"] as! [Double] }
        }
        XCTAssertEqual(try weights("resumed.json"), try weights("reference.json"), "bit-identical after a kill after epoch \(killedAfter + 1)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: backup.path), "the backup is deleted when training ends")
    }

    func testTrainingControlFlags() throws {
        let train = try threeClassCSV("controls.csv")
        let result = try mlp("train", "--data", train, "--layers", "16:relu:l2=0.001:init=he_normal,bn,dropout=0.1,8:tanh:dropout=0.1",
                             "--optimizer", "sgd", "--momentum", "0.9", "--nesterov", "--learning-rate", "0.05", "--clipnorm", "1",
                             "--epochs", "30", "--validation-split", "0.2", "--seed", "2", "--device", "cpu", "--verbose", "2",
                             "--early-stopping", "monitor=val_loss,patience=2,restore-best-weights",
                             "--reduce-lr-on-plateau", "factor=0.5,patience=1", "--csv-log", "log.csv",
                             "--checkpoint", "ckpt-{epoch:02d}.json,save-best-only", "--lr-schedule", "exponential:initial=0.05,decay-steps=10,decay-rate=0.9")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains(" batch_normalization (Batch  (None, 16)"), result.stdout)
        XCTAssertTrue(result.stdout.contains("dropout (Dropout)"), result.stdout)
        let csv = try String(contentsOfFile: directory.appendingPathComponent("log.csv").path, encoding: .utf8)
        XCTAssertTrue(csv.hasPrefix("epoch,accuracy,learning_rate,loss,sparse_categorical_crossentropy,val_accuracy,val_loss,val_sparse_categorical_crossentropy\n"), csv)
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent("ckpt-01.json").path))
        for optimizer in ["rmsprop", "adagrad", "adamw", "nadam"] {
            let run = try mlp("train", "--data", train, "--optimizer", optimizer, "--epochs", "2", "--verbose", "0", "--device", "cpu")
            XCTAssertEqual(run.status, 0, "\(optimizer): \(run.stderr)")
        }
        assertOneLineError(try mlp("train", "--data", train, "--optimizer", "adam", "--nesterov"), contains: "--nesterov applies to sgd, not adam")
        assertOneLineError(try mlp("train", "--data", train, "--clipnorm", "1", "--clipvalue", "1"),
                           contains: "only one of clipnorm, global_clipnorm and clipvalue may be set")
        assertOneLineError(try mlp("train", "--data", train, "--early-stopping", "patience=2,pateince=3"),
                           contains: "unknown --early-stopping option 'pateince'")
        assertOneLineError(try mlp("train", "--data", train, "--layers", "16:relu:dropout=1.5"), contains: "dropout rate '1.5'")
        assertOneLineError(try mlp("train", "--data", train, "--layers", "16:relu:l3=0.1"), contains: "unknown --layers option 'l3'")
    }

    /// A save killed between writing the new file and renaming it over the old one leaves the old file
    /// intact and loadable.
    func testKillDuringSaveKeepsThePreviousFile() throws {
        let first = try mlp("train", "--epochs", "1", "--verbose", "0", "--seed", "1", "--device", "cpu", "--save", "model.h5")
        XCTAssertEqual(first.status, 0, first.stderr)
        let before = try Data(contentsOf: directory.appendingPathComponent("model.h5"))
        let process = Process()
        process.executableURL = executable
        process.arguments = ["train", "--epochs", "1", "--verbose", "0", "--seed", "2", "--device", "cpu", "--save", "model.h5"]
        process.currentDirectoryURL = directory
        var environment = ProcessInfo.processInfo.environment
        environment["MLPKIT_TEST_PAUSE_BEFORE_RENAME"] = "30"
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        var sawTemporary = false
        while Date() < deadline && !sawTemporary {
            sawTemporary = (try FileManager.default.contentsOfDirectory(atPath: directory.path)).contains { $0.hasPrefix(".model.h5.") }
            if !sawTemporary { usleep(10_000) }
        }
        XCTAssertTrue(sawTemporary, "the new file was written beside the old one")
        usleep(200_000)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(try Data(contentsOf: directory.appendingPathComponent("model.h5")), before, "the previous file is untouched")
        let summary = try mlp("summary", "model.h5")
        XCTAssertEqual(summary.status, 0, summary.stderr)
        // The killed process's temporary file is removed by the next save to the folder.
        let again = try mlp("train", "--epochs", "1", "--verbose", "0", "--seed", "3", "--device", "cpu", "--save", "other.keras")
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix(".") }, [])
    }

    /// Files that cannot be written: one line naming the file and the reason, exit status 1, and for
    /// `--save` before any epoch runs.
    func testWritesThatFailCleanly() throws {
        let missing = try mlp("train", "--epochs", "200", "--device", "cpu", "--save", "no/such/model.h5")
        assertOneLineError(missing, contains: "cannot write 'no/such/model.h5': the folder 'no/such' does not exist")
        XCTAssertFalse(missing.stdout.contains("Epoch 1/"), "refused before training: \(missing.stdout)")
        assertOneLineError(try mlp("train", "--epochs", "200", "--device", "cpu", "--save", "model.txt"),
                           contains: "'model.txt': model files end in .h5, .keras, .weights.h5 or .json")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("taken.keras"), withIntermediateDirectories: true)
        assertOneLineError(try mlp("train", "--epochs", "200", "--device", "cpu", "--save", "taken.keras"),
                           contains: "cannot write 'taken.keras': it is a folder")
        assertOneLineError(try mlp("train", "--epochs", "200", "--device", "cpu", "--history-json", "no/history.json"),
                           contains: "cannot write 'no/history.json': the folder 'no' does not exist")
        let csv = try threeClassCSV("log.csv")
        assertOneLineError(try mlp("train", "--data", csv, "--epochs", "1", "--device", "cpu", "--tensorboard", "log.csv"),
                           contains: "cannot create TensorBoard log folder 'log.csv': it is a file")
        if FileManager.default.fileExists(atPath: "/dev/full") {
            assertOneLineError(try mlp("train", "--data", csv, "--epochs", "1", "--verbose", "0", "--device", "cpu", "--csv-log", "/dev/full"),
                               contains: "cannot write '/dev/full': No space left on device")
        }
    }

    /// Predictions (and any output) to a standard output the OS refuses: exit 1 and one line, not a silent 0.
    func testPredictToAFullStandardOutput() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: "/dev/full"), "no /dev/full")
        let data = try threeClassCSV("train.csv")
        let trained = try mlp("train", "--data", data, "--epochs", "1", "--verbose", "0", "--device", "cpu", "--save", "model.h5")
        XCTAssertEqual(trained.status, 0, trained.stderr)
        for arguments in [["predict", "--model", "model.h5", "--data", data], ["summary", "model.h5"]] {
            let process = Process()
            process.executableURL = executable
            process.arguments = arguments
            process.currentDirectoryURL = directory
            let full = try XCTUnwrap(FileHandle(forWritingAtPath: "/dev/full"))
            let errors = Pipe()
            process.standardOutput = full
            process.standardError = errors
            try process.run()
            let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 1, "\(arguments[0]): \(stderr)")
            XCTAssertTrue(stderr.hasSuffix("error: cannot write 'standard output': No space left on device\n"), "\(arguments[0]): \(stderr)")
        }
    }

    /// Corrupt copies of a valid model file (truncated, or with flipped bits) never crash `mlp`: each run ends
    /// with exit status 0 (the damage hit weight values only) or 1 and one error line — never a signal.
    func testCorruptModelFilesNeverCrash() throws {
        let made = try mlp("train", "--epochs", "1", "--verbose", "0", "--seed", "1", "--device", "cpu", "--layers", "8:relu,bn",
                           "--save", "valid.h5")
        XCTAssertEqual(made.status, 0, made.stderr)
        let valid = try Data(contentsOf: directory.appendingPathComponent("valid.h5"))
        var random = UInt64(99)
        func next() -> Int {
            random = random &* 6364136223846793005 &+ 1442695040888963407
            return Int(random >> 33)
        }
        var errors = 0, loaded = 0
        for trial in 0..<60 {
            var bytes = [UInt8](valid)
            if trial % 3 == 0 {
                bytes = Array(bytes.prefix(next() % bytes.count))
            } else {
                for _ in 0..<(1 + trial % 8) { bytes[next() % bytes.count] ^= UInt8(1 << (next() % 8)) }
            }
            let path = "corrupt-\(trial).h5"
            try Data(bytes).write(to: directory.appendingPathComponent(path))
            let result = try mlp("summary", path)
            XCTAssertTrue(result.status == 0 || result.status == 1, "trial \(trial): exit status \(result.status) \(result.stderr)")
            if result.status == 1 {
                errors += 1
                XCTAssertTrue(result.stderr.hasPrefix("error: ") && result.stderr.split(separator: "\n").count == 1,
                              "trial \(trial): \(result.stderr)")
            } else {
                loaded += 1
            }
            if trial % 3 == 0 { XCTAssertEqual(result.status, 1, "a truncated file is always an error (trial \(trial))") }
        }
        XCTAssertGreaterThan(errors, 20)
        print("corrupt model files: \(errors) errors, \(loaded) loaded (bit flips in weight values), 0 crashes")
    }
}
