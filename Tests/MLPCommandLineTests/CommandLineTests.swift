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
        let (baseline, streamed, loaded) = try streamingPeaks(["--data", small.path], ["--data", big.path])
        let cap = 8 * 1024
        print("peak RSS: small file streamed \(baseline) KiB, 32 MiB file streamed \(streamed) KiB, loaded \(loaded) KiB")
        XCTAssertLessThan(streamed - baseline, cap, "streaming a 32 MiB file stays within 8 MiB of a small file's peak")
        XCTAssertGreaterThan(loaded - baseline, cap, "loading it into memory does not (the measure is sensitive)")
    }

    /// Peak memory (KiB) of one training epoch on the `small` data streamed, the `big` data streamed, and the
    /// `big` data loaded; every run must succeed.
    func streamingPeaks(_ small: [String], _ big: [String]) throws -> (baseline: Int, streamed: Int, loaded: Int) {
        let arguments = ["train", "--epochs", "1", "--verbose", "0", "--layers", "4:relu", "--device", "cpu", "--batch-size", "256", "--seed", "1"]
        let runs = try [small + ["--stream"], big + ["--stream"], big].map { try peakMemory(arguments + $0) }
        for run in runs { XCTAssertEqual(run.status, 0) }
        return (runs[0].kib, runs[1].kib, runs[2].kib)
    }

    /// `--idx --stream` keeps memory flat too: 20000 images of 28×28 pixels (15 MiB) train within 8 MiB of 2000
    /// images' peak, while loading them (as floats) costs far more.
    func testStreamingIDXKeepsMemoryFlat() throws {
        func folder(_ name: String, images: Int) throws -> String {
            let folder = directory.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            var random = UInt64(3)
            for (stem, count) in [("train", images), ("t10k", 100)] {
                func header(_ dims: [Int]) -> [UInt8] {
                    [0, 0, 8, UInt8(dims.count)] + dims.flatMap { d in [24, 16, 8, 0].map { UInt8(d >> $0 & 0xFF) } }
                }
                var pixels = header([count, 28, 28])
                pixels.reserveCapacity(pixels.count + count * 784)
                for _ in 0..<(count * 784) {
                    random = random &* 6364136223846793005 &+ 1442695040888963407
                    pixels.append(UInt8(truncatingIfNeeded: random >> 56))
                }
                try Data(pixels).write(to: folder.appendingPathComponent("\(stem)-images-idx3-ubyte"))
                try Data(header([count]) + (0..<count).map { UInt8($0 % 10) }).write(to: folder.appendingPathComponent("\(stem)-labels-idx1-ubyte"))
            }
            return folder.path
        }
        let small = try folder("small", images: 2000), big = try folder("big", images: 20_000)
        let (baseline, streamed, loaded) = try streamingPeaks(["--idx", small], ["--idx", big])
        let cap = 8 * 1024
        print("peak RSS: 2000 images streamed \(baseline) KiB, 20000 streamed \(streamed) KiB, loaded \(loaded) KiB")
        XCTAssertLessThan(streamed - baseline, cap, "streaming 15 MiB of images stays within 8 MiB of 2000 images' peak")
        XCTAssertGreaterThan(loaded - baseline, 4 * cap, "loading them into memory does not")
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
        assertOneLineError(try mlp("train", "--stream"), contains: "--stream needs --data FILE or --idx FOLDER")
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
