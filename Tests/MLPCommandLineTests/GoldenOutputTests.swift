import Foundation
import XCTest
import MLPTestSupport

/// The CLI's deterministic outputs compared byte for byte with `Goldens/*.txt` (help, summaries, one-line errors,
/// a seeded CPU training run with its timings masked, `evaluate --json`). `MLPKIT_UPDATE_GOLDENS=1` rewrites them.
final class GoldenOutputTests: ScratchDirectoryTestCase {
    /// Help is wrapped to `COLUMNS`; fixed here so the goldens do not depend on the terminal.
    func mlp(_ arguments: [String]) throws -> ProcessResult {
        try runProcess(Bundle.main.bundleURL.appendingPathComponent("mlp"), arguments,
                       environment: ["COLUMNS": "100", "MLP_DEVICE": "cpu"], currentDirectory: directory)
    }

    static let subcommands = ["train", "evaluate", "predict", "summary", "check", "diagnose", "convert", "devices"]

    func testHelpTexts() throws {
        let root = try mlp(["--help"])
        XCTAssertEqual(root.status, 0, root.stderr)
        Golden.assertMatches(root.stdout, "help")
        for command in Self.subcommands {
            let help = try mlp([command, "--help"])
            XCTAssertEqual(help.status, 0, help.stderr)
            XCTAssertEqual(help.stderr, "")
            Golden.assertMatches(help.stdout, "help-\(command)")
        }
    }

    func testSummariesOfTheSeedModel() throws {
        let flags = ["summary", "--input-dim", "14", "--layers", "25:relu,36:relu,47:relu", "--output", "7:softmax"]
        for style in ["keras2", "keras3"] {
            let result = try mlp(flags + ["--style", style])
            XCTAssertEqual(result.status, 0, result.stderr)
            Golden.assertMatches(result.stdout, "summary-seed-\(style)")
        }
        let deep = try mlp(["summary", "--input-dim", "8", "--layers", "16:relu*3,8:tanh:dropout=0.1*2", "--output", "1"])
        XCTAssertEqual(deep.status, 0, deep.stderr)
        Golden.assertMatches(deep.stdout, "summary-repeated-layers")
    }

    /// Each user mistake: the command, its exit status and its one stderr line.
    func testOneLineErrors() throws {
        _ = try write("data.csv", "x0,x1,x2,label\n0.1,0.2,0.3,0\n0.4,0.5,0.6,1\n")
        let data = "data.csv"  // relative to the scratch directory, so the transcript names no temporary path
        let cases: [[String]] = [
            ["train", "--device", "tpu"],
            ["train", "--tensorboard", "logs", "--update-freq", "often"],
            ["train", "--layers", "64:relu*0"],
            ["train", "--layers", "64:relu*many"],
            ["train", "--layers", "64:relu*1001"],
            ["train", "--epochs", "-1"],
            ["train", "--validation-split", "1"],
            ["train", "--save", "model.txt"],
            ["train", "--frobnicate"],
            ["evaluate", "--model", "missing.h5", "--data", data],
            ["evaluate", "--model", "missing.h5", "--data", data, "--loss", "huber"],
            ["predict", "--model", "missing.h5", "--data", data, "--seed", "1"],
            ["predict", "--model", "missing.h5", "--data", data, "--verbose", "2"],
            ["summary", "--input-dim", "14"],
            ["check", "--input-dim", "3", "--output", "2:softmax", "--optimizer", "lbfgs"],
        ]
        var transcript = ""
        for arguments in cases {
            let result = try mlp(arguments)
            XCTAssertEqual(result.status, 1, "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "\(arguments): one line: \(result.stderr)")
            XCTAssertEqual(result.stdout, "", "\(arguments)")
            transcript += "$ mlp \(arguments.joined(separator: " "))\nexit \(result.status)\n\(result.stderr)\n"
        }
        Golden.assertMatches(transcript, "errors")
    }

    /// Two seeded epochs on the embedded digits on the CPU: the summary, the per-epoch lines (timings masked) and
    /// the test line.
    func testSeededTrainingRun() throws {
        let result = try mlp(["train", "--seed", "1", "--epochs", "2", "--verbose", "2", "--device", "cpu"])
        XCTAssertEqual(result.status, 0, result.stderr)
        Golden.assertMatches(Golden.maskingTimings(result.stdout), "train-digits-seed1")
    }

    /// `evaluate --json` of a model Keras 3 compiled with `loss=keras.losses.sparse_categorical_crossentropy`
    /// (the file stores the loss as a function), and the same with `--loss`; `predict` of it; `--verbose 1`
    /// adds the device line on standard error.
    func testEvaluateJSONOfAKerasFileWithALossFunction() throws {
        let model = repositoryFile("Tests/MLPTrainingTests/Fixtures/models/loss-function-keras3.keras").path
        let data = try write("eval.csv", """
            x0,x1,x2,label
            0.5,-1.25,2,0
            1.5,0.25,-0.75,1
            -0.5,0.75,0.125,2
            2,-2,0.5,1

            """)
        let evaluation = try mlp(["evaluate", "--model", model, "--data", data, "--json"])
        XCTAssertEqual(evaluation.status, 0, evaluation.stderr)
        XCTAssertEqual(evaluation.stderr, "", "nothing on stderr at the default verbosity")
        let chosen = try mlp(["evaluate", "--model", model, "--data", data, "--json", "--loss", "sparse_categorical_crossentropy"])
        XCTAssertEqual(chosen.status, 0, chosen.stderr)
        XCTAssertEqual(chosen.stdout, evaluation.stdout, "the file's loss and metrics are the --loss defaults")
        let predictions = try mlp(["predict", "--model", model, "--data", data])
        XCTAssertEqual(predictions.status, 0, predictions.stderr)
        XCTAssertEqual(predictions.stderr, "")
        Golden.assertMatches(evaluation.stdout + predictions.stdout, "evaluate-json-keras-loss-function")
        let verbose = try mlp(["predict", "--model", model, "--data", data, "--verbose", "1"])
        XCTAssertEqual(verbose.status, 0, verbose.stderr)
        XCTAssertTrue(verbose.stderr.hasPrefix("Device: CPU"), verbose.stderr)
    }

    /// A model file whose loss MLPKit does not know: `predict` does not read the loss; `evaluate` says so in one
    /// line that points at `--loss`, and evaluates with `--loss`.
    func testAnUnknownLossInTheFileNeedsNoLossToPredict() throws {
        let data = try write("d.csv", "x0,x1,label\n0.5,1,0\n-1,0.25,1\n2,-0.5,2\n")
        XCTAssertEqual(try mlp(["train", "--data", data, "--layers", "4:relu", "--epochs", "0", "--verbose", "0",
                                "--seed", "1", "--save", "m.json"]).status, 0)
        let path = directory.appendingPathComponent("m.json").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(text.contains("\"sparse_categorical_crossentropy\""))
        try text.replacingOccurrences(of: "\"sparse_categorical_crossentropy\"", with: "\"huber\"")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let predicted = try mlp(["predict", "--model", "m.json", "--data", "d.csv"])
        XCTAssertEqual(predicted.status, 0, predicted.stderr)
        XCTAssertEqual(predicted.stdout.split(separator: "\n").count, 3)
        let refused = try mlp(["evaluate", "--model", "m.json", "--data", "d.csv"])
        XCTAssertEqual(refused.status, 1)
        let chosen = try mlp(["evaluate", "--model", "m.json", "--data", "d.csv", "--loss", "sparse_categorical_crossentropy"])
        XCTAssertEqual(chosen.status, 0, chosen.stderr)
        XCTAssertTrue(chosen.stdout.hasPrefix("loss: "), chosen.stdout)
        Golden.assertMatches("$ mlp evaluate --model m.json --data d.csv\nexit \(refused.status)\n\(refused.stderr)", "error-unknown-loss-in-file")
    }

    /// `mlp-bench` follows `mlp`'s convention: a usage error is one line `error: …` and exit status 1 (not
    /// ArgumentParser's `Error:` with the usage and 64); help is status 0 on standard output.
    func testBenchUsageErrorsAreOneLineWithStatusOne() throws {
        let bench = Bundle.main.bundleURL.appendingPathComponent("mlp-bench")
        var transcript = ""
        for arguments in [["--frobnicate"], ["gemm", "--m", "x"], ["train", "--workload", "huge"]] {
            let result = try runProcess(bench, arguments, environment: ["COLUMNS": "100"], currentDirectory: directory)
            XCTAssertEqual(result.status, 1, "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stdout, "", "\(arguments)")
            transcript += "$ mlp-bench \(arguments.joined(separator: " "))\nexit \(result.status)\n\(result.stderr)\n"
        }
        Golden.assertMatches(transcript, "errors-mlp-bench")
        let help = try runProcess(bench, ["--help"], environment: ["COLUMNS": "100"], currentDirectory: directory)
        XCTAssertEqual(help.status, 0, help.stderr)
        XCTAssertTrue(help.stdout.hasPrefix("OVERVIEW: Speed figures for MLPKit"), help.stdout)
    }
}
