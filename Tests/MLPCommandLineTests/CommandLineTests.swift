import Foundation
import XCTest
import MLPTestSupport

/// End-to-end tests of the `mlp` executable: exact output for the contract, one-line errors for mistakes.
final class CommandLineTests: ScratchDirectoryTestCase {
    /// The built `mlp` beside the test bundle.
    var executable: URL {
        let products = Bundle.main.bundleURL
        return products.appendingPathComponent("mlp")
    }

    func mlp(_ arguments: String..., environment: [String: String] = [:]) throws -> ProcessResult {
        try mlpArguments(arguments, environment: environment)
    }

    func mlpArguments(_ arguments: [String], environment: [String: String] = [:]) throws -> ProcessResult {
        try runProcess(executable, arguments, environment: environment, currentDirectory: directory)
    }

    /// A separable 3-class problem as CSV: columns x0, x1, label.
    func threeClassCSV(_ name: String, rows: Int = 90) throws -> String {
        var text = "x0,x1,label\n"
        for i in 0..<rows {
            let label = i % 3
            let angle = Double(label) * 2.1 + Double(i % 7) * 0.05
            text += String(format: "%.4f,%.4f,%d\n", cos(angle) * 2 + Double(i % 5) * 0.03, sin(angle) * 2, label)
        }
        return try write(name, text)
    }

    func assertOneLineError(_ result: ProcessResult, contains fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.status, 1, "exit status; stderr: \(result.stderr)", file: file, line: line)
        let lines = result.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "one line on stderr: \(result.stderr)", file: file, line: line)
        XCTAssertTrue(result.stderr.hasPrefix("error: "), result.stderr, file: file, line: line)
        XCTAssertTrue(result.stderr.contains(fragment), "expected '\(fragment)' in: \(result.stderr)", file: file, line: line)
    }

    // MARK: Contract

    func testSummaryOfTheSeedModelFromFlags() throws {
        let result = try mlp("summary", "--input-dim", "14", "--layers", "25:relu,36:relu,47:relu", "--output", "7:softmax")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains(" dense_3 (Dense)             (None, 7)                 336       \n"), result.stdout)
        XCTAssertTrue(result.stdout.contains("\nTotal params: 3386 (13.23 KB)\n"), result.stdout)
        let keras3 = try mlp("summary", "--input-dim", "14", "--layers", "25:relu", "--output", "7:softmax", "--style", "keras3")
        XCTAssertTrue(keras3.stdout.contains(" Total params: 557 (2.18 KB)"), keras3.stdout)
    }

    func testTrainSaveEvaluatePredictRoundTrip() throws {
        let train = try threeClassCSV("train.csv")
        let test = try threeClassCSV("test.csv", rows: 30)
        let result = try mlp("train", "--data", train, "--layers", "16:relu", "--epochs", "40", "--batch-size", "16",
                             "--learning-rate", "0.02", "--validation-split", "0.2", "--seed", "3", "--device", "cpu",
                             "--history-json", "history.json", "--save", "model.json", "--verbose", "2")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains(" dense_1 (Dense)             (None, 3)                 51        "), "output inferred as 3:softmax: \(result.stdout)")
        XCTAssertTrue(result.stdout.contains("Epoch 40/40\n"), result.stdout)
        let history = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("history.json"))) as! [String: [Double]]
        XCTAssertEqual(Set(history.keys), ["loss", "accuracy", "val_loss", "val_accuracy"])
        XCTAssertEqual(history["loss"]?.count, 40)

        let evaluation = try mlp("evaluate", "--model", "model.json", "--data", test, "--json")
        XCTAssertEqual(evaluation.status, 0, evaluation.stderr)
        let logs = try JSONSerialization.jsonObject(with: Data(evaluation.stdout.utf8)) as! [String: Double]
        XCTAssertEqual(Set(logs.keys), ["loss", "accuracy"])
        XCTAssertGreaterThan(logs["accuracy"]!, 0.9, evaluation.stdout)

        let predictions = try mlp("predict", "--model", "model.json", "--data", test)
        XCTAssertEqual(predictions.status, 0, predictions.stderr)
        let rows = predictions.stdout.split(separator: "\n")
        XCTAssertEqual(rows.count, 30)
        for row in rows {
            let values = row.split(separator: ",").map { Double($0)! }
            XCTAssertEqual(values.count, 3)
            XCTAssertEqual(values.reduce(0, +), 1, accuracy: 1e-5)
        }
        let toFile = try mlp("predict", "--model", "model.json", "--data", test, "--output", "preds.csv")
        XCTAssertEqual(toFile.status, 0)
        XCTAssertEqual(try String(contentsOfFile: directory.appendingPathComponent("preds.csv").path, encoding: .utf8), predictions.stdout)

        // Same seed, same device: the same numbers.
        let again = try mlp("train", "--data", train, "--layers", "16:relu", "--epochs", "40", "--batch-size", "16",
                            "--learning-rate", "0.02", "--validation-split", "0.2", "--seed", "3", "--device", "cpu",
                            "--history-json", "history2.json", "--verbose", "0")
        XCTAssertEqual(again.stdout, "")
        XCTAssertEqual(try Data(contentsOf: directory.appendingPathComponent("history.json")),
                       try Data(contentsOf: directory.appendingPathComponent("history2.json")))
    }

    func testCheckRunsTheSanityProcedure() throws {
        let result = try mlp("check", "--input-dim", "14", "--layers", "25:relu,36:relu,47:relu", "--output", "7:softmax",
                             "--seed", "1", "--device", "cpu")
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("output shape: [64, 7]"), result.stdout)
        XCTAssertTrue(result.stdout.contains("went down"), result.stdout)
        XCTAssertTrue(result.stdout.hasSuffix("check passed: the model is ready for real training\n"), result.stdout)
        let withData = try mlp("check", "--data", try threeClassCSV("real.csv"), "--layers", "8:relu", "--seed", "1", "--device", "cpu")
        XCTAssertEqual(withData.status, 0, withData.stdout + withData.stderr)
        XCTAssertTrue(withData.stdout.contains("5. real data (90 samples"), withData.stdout)
        XCTAssertTrue(result.stdout.contains("2. compile: loss sparse_categorical_crossentropy, optimizer Adam(learning_rate=0.01)\n"),
                      "without optimizer flags the check keeps Adam at 0.01: \(result.stdout)")
        let sgd = try mlp("check", "--input-dim", "4", "--layers", "8:relu", "--output", "1", "--optimizer", "sgd",
                          "--learning-rate", "0.05", "--seed", "1", "--device", "cpu")
        XCTAssertEqual(sgd.status, 0, sgd.stdout + sgd.stderr)
        XCTAssertTrue(sgd.stdout.contains("2. compile: loss mean_squared_error, optimizer SGD(learning_rate=0.05)\n"), sgd.stdout)
    }

    func testDevicesListsTheCPUAndOpenCL() throws {
        let result = try mlp("devices")
        XCTAssertEqual(result.status, 0)
        XCTAssertTrue(result.stdout.hasPrefix("cpu: CPU (pure Swift"), result.stdout)
        XCTAssertTrue(result.stdout.contains("\nopencl:0:0: "), "CI installs PoCL, so an OpenCL device is listed: \(result.stdout)")
        XCTAssertTrue(result.stdout.contains("compute units"), result.stdout)
    }

    func testTrainingOnTheOpenCLDevice() throws {
        let result = try mlp("train", "--device", "gpu", "--epochs", "30", "--seed", "5", "--verbose", "2")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("Device: OpenCL "), result.stdout)
        let accuracy = Float(result.stdout.split(separator: "\n").last!.split(separator: " ").last!)!
        XCTAssertGreaterThanOrEqual(accuracy, 0.95, result.stdout)
        let auto = try mlp("train", "--epochs", "1", "--verbose", "1")
        XCTAssertTrue(auto.stdout.contains("auto: CPU backend ("), "a small model stays on the CPU: \(auto.stdout)")
    }

    func testDiagnosePrintsATableAndJSONWithVerdicts() throws {
        let table = try mlp("diagnose", "--seed", "1", "--device", "cpu", "--steps", "20")
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.contains("Layer       Grad norm   ÷ output    Update/W    Dead    Saturated  Verdict\n"), table.stdout)
        XCTAssertTrue(table.stdout.contains("Recommendation: none;"), table.stdout)
        let sigmoid = Array(repeating: "32:sigmoid", count: 9).joined(separator: ",")
        let json = try mlp("diagnose", "--seed", "1", "--device", "cpu", "--layers", sigmoid, "--json")
        XCTAssertEqual(json.status, 0, json.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let layers = try XCTUnwrap(object?["layers"] as? [[String: Any]])
        XCTAssertEqual(layers.count, 10)
        XCTAssertEqual(Set(layers[0].keys), ["name", "grad_norm", "relative_grad_norm", "update_ratio", "dead_fraction", "saturated_fraction", "verdict"])
        XCTAssertEqual(layers[0]["verdict"] as? String, "vanishing")
        XCTAssertEqual(layers[9]["relative_grad_norm"] as? Double, 1)
        let exploding = try mlp("diagnose", "--seed", "1", "--device", "cpu", "--optimizer", "sgd", "--learning-rate", "10000")
        XCTAssertTrue(exploding.stdout.contains("Recommendation: exploding in dense"), exploding.stdout)
        assertOneLineError(try mlp("diagnose", "--data", "missing.csv"), contains: "missing.csv")
    }

    func testDeviceErrors() throws {
        assertOneLineError(try mlp("train", "--device", "opencl:9:0", "--epochs", "1"), contains: "no OpenCL device opencl:9:0; available: ")
        let empty = directory.appendingPathComponent("no-icd").path
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let noOpenCL = try mlp("train", "--device", "gpu", "--epochs", "1", environment: ["OCL_ICD_VENDORS": empty])
        assertOneLineError(noOpenCL, contains: "no OpenCL platform found")
        XCTAssertTrue(noOpenCL.stderr.contains("apt-get install pocl-opencl-icd") && noOpenCL.stderr.contains("--device cpu"), noOpenCL.stderr)
        let auto = try mlp("train", "--epochs", "1", "--verbose", "0", environment: ["OCL_ICD_VENDORS": empty])
        XCTAssertEqual(auto.status, 0, "auto falls back to the CPU without OpenCL: \(auto.stderr)")
        let badModel = try write("cost-model.json", "[1, 2]")
        assertOneLineError(try mlp("train", "--epochs", "1", environment: ["MLPKIT_COST_MODEL": badModel]),
                           contains: "\(badModel): not an MLPKit cost model (")
    }

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

    func testTensorBoardFlagsWriteRuns() throws {
        let result = try mlp("train", "--epochs", "2", "--verbose", "0", "--validation-split", "0.2", "--seed", "1", "--device", "cpu",
                             "--tensorboard", "logs/run-1", "--histogram-freq", "1", "--update-freq", "10", "--embeddings-samples", "20")
        XCTAssertEqual(result.status, 0, result.stderr)
        for folder in ["logs/run-1/train", "logs/run-1/validation"] {
            let files = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent(folder).path)
            XCTAssertEqual(files.count, 1, folder)
            XCTAssertTrue(files[0].hasPrefix("events.out.tfevents.") && files[0].hasSuffix(".v2"), files[0])
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent("logs/run-1/projector_config.pbtxt").path))
        try "x".write(to: directory.appendingPathComponent("blocked"), atomically: true, encoding: .utf8)
        assertOneLineError(try mlp("train", "--epochs", "1", "--tensorboard", "blocked/logs"),
                           contains: "cannot create TensorBoard log folder 'blocked': it is a file")
        assertOneLineError(try mlp("train", "--epochs", "1", "--tensorboard", "logs", "--update-freq", "often"), contains: "--update-freq")
    }

    /// Peak resident memory (VmHWM, KiB) of `mlp` with `arguments`, polled from /proc while it runs.
    func peakMemory(_ arguments: [String]) throws -> (kib: Int, status: Int32) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        var peak = 0
        while process.isRunning {
            if let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
               let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
               let value = Int(line.split(separator: " ").dropFirst().first { Int($0) != nil } ?? "") {
                peak = max(peak, value)
            }
            usleep(2_000)
        }
        process.waitUntilExit()
        return (peak, process.terminationStatus)
    }

    /// `--stream` keeps memory flat: a file 4× larger than the cap this test sets (8 MiB above a small file's
    /// peak) trains within it, while loading the same file into memory does not.
    func testStreamingKeepsMemoryFlat() throws {
        var chunk = "a,b,c,d,e,f,label\n"
        var random = UInt64(5)
        for _ in 0..<2000 {
            var fields: [String] = []
            for _ in 0..<6 {
                random = random &* 6364136223846793005 &+ 1442695040888963407
                fields.append(String(format: "%.5f", Double(random >> 40) / Double(1 << 24)))
            }
            chunk += fields.joined(separator: ",") + ",\(random >> 63)\n"
        }
        let body = chunk.split(separator: "\n", maxSplits: 1)[1]
        let small = directory.appendingPathComponent("small.csv")
        try chunk.write(to: small, atomically: true, encoding: .utf8)
        let big = directory.appendingPathComponent("big.csv")
        XCTAssertTrue(FileManager.default.createFile(atPath: big.path, contents: Data(chunk.utf8)))
        let handle = try FileHandle(forWritingTo: big)
        handle.seekToEndOfFile()
        let bodyData = Data(body.utf8)
        var size = chunk.utf8.count
        while size < 32 << 20 {
            handle.write(bodyData)
            size += bodyData.count
        }
        try handle.close()
        let arguments = ["train", "--epochs", "1", "--verbose", "0", "--layers", "4:relu", "--device", "cpu", "--batch-size", "256", "--seed", "1"]
        let baseline = try peakMemory(arguments + ["--data", small.path, "--stream"])
        let streamed = try peakMemory(arguments + ["--data", big.path, "--stream"])
        let loaded = try peakMemory(arguments + ["--data", big.path])
        XCTAssertEqual(baseline.status, 0)
        XCTAssertEqual(streamed.status, 0)
        XCTAssertEqual(loaded.status, 0)
        let cap = 8 * 1024
        print("peak RSS: small file streamed \(baseline.kib) KiB, 32 MiB file streamed \(streamed.kib) KiB, loaded \(loaded.kib) KiB")
        XCTAssertLessThan(streamed.kib - baseline.kib, cap, "streaming a 32 MiB file stays within 8 MiB of a small file's peak")
        XCTAssertGreaterThan(loaded.kib - baseline.kib, cap, "loading it into memory does not (the measure is sensitive)")
    }

    func testDataFlags() throws {
        let train = try threeClassCSV("stream.csv")
        let streamed = try mlp("train", "--data", train, "--stream", "--workers", "2", "--prefetch", "3", "--standardize", "--epochs", "30",
                               "--layers", "16:relu", "--learning-rate", "0.02", "--batch-size", "16", "--seed", "3", "--device", "cpu",
                               "--verbose", "0", "--save", "scaled.h5")
        XCTAssertEqual(streamed.status, 0, streamed.stderr)
        // The saved model carries its scaler: raw features predict as well as in training.
        let evaluation = try mlp("evaluate", "--model", "scaled.h5", "--data", train, "--json")
        XCTAssertEqual(evaluation.status, 0, evaluation.stderr)
        let logs = try JSONSerialization.jsonObject(with: Data(evaluation.stdout.utf8)) as! [String: Double]
        XCTAssertGreaterThan(logs["accuracy"]!, 0.9, evaluation.stdout)
        let noShuffle = try mlp("train", "--data", train, "--shuffle", "false", "--epochs", "1", "--verbose", "0", "--device", "cpu")
        XCTAssertEqual(noShuffle.status, 0, noShuffle.stderr)
        let holes = try write("holes.csv", "a,b,label\n1,2,0\n,3,1\n4,5,1\n6,NA,0\n")
        assertOneLineError(try mlp("train", "--data", holes, "--epochs", "1"), contains: "holes.csv:3: column 'a': missing value ''")
        let skipped = try mlp("train", "--data", holes, "--missing", "skip", "--epochs", "1", "--verbose", "0", "--device", "cpu")
        XCTAssertEqual(skipped.status, 0, skipped.stderr)
        let infinite = try write("inf.csv", "a,label\n1,0\ninf,1\n")
        assertOneLineError(try mlp("train", "--data", infinite, "--epochs", "1"), contains: "inf.csv:3: column 'a': 'inf' is not a finite number")
        assertOneLineError(try mlp("train", "--data", train, "--stream", "--validation-split", "0.2"), contains: "--stream cannot take --validation-split")
        assertOneLineError(try mlp("train", "--idx", "no-such-folder"), contains: "train-images-idx3-ubyte': no such file (nor .gz)")
    }

    // MARK: Mistakes: one clear line, non-zero exit

    func testBadInputGetsOneClearLine() throws {
        let good = try threeClassCSV("good.csv")
        assertOneLineError(try mlp("train", "--data", "missing.csv"), contains: "cannot read 'missing.csv': no such file")
        let ragged = try write("ragged.csv", "a,b,label\n1,2,0\n3,4\n")
        assertOneLineError(try mlp("train", "--data", ragged), contains: "ragged.csv:3: 2 fields, but the header has 3")
        let text = try write("text.csv", "a,b,label\n1,2,0\n3,abc,1\n")
        assertOneLineError(try mlp("train", "--data", text), contains: "text.csv:3: column 'b': 'abc' is not a number")
        assertOneLineError(try mlp("train", "--data", good, "--output", "2:softmax"),
                           contains: "good.csv:4: label 2 is out of range for an output layer of 2 units")
        assertOneLineError(try mlp("train", "--data", good, "--input-dim", "5"),
                           contains: "the data has 2 feature columns but --input-dim is 5")
        assertOneLineError(try mlp("train", "--data", good, "--layers", "16:rleu"), contains: "unknown activation 'rleu'")
        assertOneLineError(try mlp("train", "--data", good, "--loss", "hinge"), contains: "unknown loss 'hinge'")
        assertOneLineError(try mlp("train", "--data", good, "--optimizer", "adamax"), contains: "unknown optimizer 'adamax'")
        assertOneLineError(try mlp("train", "--data", good, "--layers", "16relu"), contains: "--layers: '16relu' is not UNITS:ACTIVATION")
        assertOneLineError(try mlp("train", "--data", good, "--layers", "0:relu"), contains: "needs a positive number of units")
        assertOneLineError(try mlp("train", "--data", good, "--device", "tpu"), contains: "The value 'tpu' is invalid for '--device <device>'")
        assertOneLineError(try mlp("summary", "--input-dim", "3"), contains: "summary needs --output")

        // A model expecting other features than the data has.
        let train = try mlp("train", "--data", good, "--layers", "4:relu", "--epochs", "1", "--verbose", "0", "--save", "m.json")
        XCTAssertEqual(train.status, 0, train.stderr)
        let wide = try write("wide.csv", "a,b,c,label\n1,2,3,0\n")
        assertOneLineError(try mlp("predict", "--model", "m.json", "--data", wide), contains: "wide.csv has 3 feature columns but the model expects 2")
        assertOneLineError(try mlp("evaluate", "--model", "nothing.json", "--data", good), contains: "cannot read 'nothing.json'")
    }
}
