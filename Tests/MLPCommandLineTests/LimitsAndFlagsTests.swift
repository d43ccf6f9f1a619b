import Foundation
import XCTest
import MLPTestSupport

/// `mlp`'s limits and flag checks: models too large are refused before allocation (and summarised without
/// it), every numeric flag is range-checked, and every user error — ArgumentParser's own included — is one
/// line `error: …` on stderr with exit status 1.
final class LimitsAndFlagsTests: ScratchDirectoryTestCase {
    func mlp(_ arguments: String..., environment: [String: String] = [:]) throws -> ProcessResult {
        try runProcess(Bundle.main.bundleURL.appendingPathComponent("mlp"), arguments, environment: environment,
                       currentDirectory: directory)
    }

    func assertOneLineError(_ result: ProcessResult, contains fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.status, 1, "exit status; stderr: \(result.stderr)", file: file, line: line)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "one line on stderr: \(result.stderr)", file: file, line: line)
        XCTAssertTrue(result.stderr.hasPrefix("error: "), result.stderr, file: file, line: line)
        XCTAssertFalse(result.stderr.contains("Usage") || result.stderr.contains("USAGE"), "no usage dump: \(result.stderr)", file: file, line: line)
        XCTAssertTrue(result.stderr.contains(fragment), "expected '\(fragment)' in: \(result.stderr)", file: file, line: line)
    }

    // MARK: Models too large

    /// 64 → 2147483647 → BatchNormalization → 10 has 1.7e11 parameters (632 GB): summary prints its table from the shapes alone.
    func testSummaryOfAHugeModelPrintsTheTableWithoutAllocating() throws {
        let started = Date()
        let result = try mlp("summary", "--input-dim", "64", "--layers", "2147483647:relu,bn", "--output", "10:softmax")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains(" dense (Dense)               (None, 2147483647)        1395864370\n                                                       55        \n"), result.stdout)
        XCTAssertTrue(result.stdout.contains(" batch_normalization (Batch  (None, 2147483647)        8589934588"), result.stdout)
        XCTAssertTrue(result.stdout.contains("\nTotal params: 169651208123 (632.00 GB)\n"), result.stdout)
        XCTAssertTrue(result.stdout.contains("\nNon-trainable params: 4294967294 (16.00 GB)\n"), result.stdout)
        XCTAssertLessThan(Date().timeIntervalSince(started), 30, "nothing was allocated")
    }

    func testTrainCheckAndDiagnoseRefuseAModelTooLargeWithItsBytes() throws {
        let limit = ["MLPKIT_MEMORY_LIMIT": "1000000000"]
        // 64 → 1000 → 10 with Adam and batches of 32 needs 1.1 MB: under the limit it trains.
        let small = try mlp("train", "--layers", "1000:relu", "--epochs", "1", "--verbose", "0", "--device", "cpu", environment: limit)
        XCTAssertEqual(small.status, 0, small.stderr)
        let train = try mlp("train", "--layers", "100000000:relu", "--epochs", "1", "--device", "cpu", environment: limit)
        assertOneLineError(train, contains: "the model is too large: training it needs 159.4 GiB (171200022944 bytes): weights 27.9 GiB, gradients and optimizer state 83.8 GiB, activations for batches of 32 47.7 GiB; the limit is 953.7 MiB (1000000000 bytes), set by MLPKIT_MEMORY_LIMIT; use fewer or narrower layers or a smaller --batch-size")
        let sgd = try mlp("train", "--layers", "100000000:relu", "--optimizer", "sgd", "--batch-size", "1", "--device", "cpu", environment: limit)
        assertOneLineError(sgd, contains: "training it needs 57.4 GiB (61600000792 bytes): weights 27.9 GiB, gradients and optimizer state 27.9 GiB, activations for batches of 1 1.5 GiB")
        assertOneLineError(try mlp("check", "--input-dim", "64", "--layers", "100000000:relu", "--output", "10:softmax", "--device", "cpu", environment: limit),
                           contains: "the model is too large: training it needs ")
        assertOneLineError(try mlp("diagnose", "--layers", "100000000:relu", "--device", "cpu", environment: limit),
                           contains: "the model is too large: training it needs 159.4 GiB (171200022944 bytes)")
        // Without the variable the limit is the machine's memory; 2147483647 units need terabytes.
        assertOneLineError(try mlp("train", "--layers", "2147483647:relu", "--epochs", "1", "--device", "cpu"),
                           contains: "TiB")
    }

    func testOverflowingSizesAndZeroWidthsAreOneLineErrors() throws {
        assertOneLineError(try mlp("train", "--layers", "9223372036854775807:relu"),
                           contains: "--layers: '9223372036854775807:relu' needs a positive number of units (at most 2147483647), got 9223372036854775807")
        assertOneLineError(try mlp("summary", "--input-dim", "2147483647", "--layers", "2147483647,2147483647,2147483647", "--output", "2147483647"),
                           contains: "the model is too large: more than 9223372036854775807 parameters in all")
        assertOneLineError(try mlp("summary", "--input-dim", "0", "--output", "1"), contains: "--input-dim must be an integer ≥ 1 (at most 2147483647), got 0")
        assertOneLineError(try mlp("summary", "--input-dim", "4", "--output", "0:linear"), contains: "--output: '0:linear' needs a positive number of units")
    }

    /// A model file whose config asks for 1e12 units is refused, naming the file, before its layers are built.
    func testAModelFileWithHugeUnitsIsRefused() throws {
        XCTAssertEqual(try mlp("train", "--layers", "4:relu", "--epochs", "0", "--verbose", "0", "--device", "cpu", "--save", "small.json").status, 0)
        let path = directory.appendingPathComponent("small.json")
        var root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: path)) as? [String: Any])
        var modelConfig = try XCTUnwrap(root["model_config"] as? [String: Any])
        var config = try XCTUnwrap(modelConfig["config"] as? [String: Any])
        var layers = try XCTUnwrap(config["layers"] as? [[String: Any]])
        var dense = try XCTUnwrap(layers[0]["config"] as? [String: Any])
        dense["units"] = 1e12
        layers[0]["config"] = dense
        config["layers"] = layers
        modelConfig["config"] = config
        root["model_config"] = modelConfig
        try JSONSerialization.data(withJSONObject: root).write(to: directory.appendingPathComponent("huge.json"))
        for command in [["summary", "huge.json"], ["train", "--model", "huge.json", "--epochs", "1"], ["convert", "huge.json", "out.h5"]] {
            let result = try runProcess(Bundle.main.bundleURL.appendingPathComponent("mlp"), command, currentDirectory: directory)
            assertOneLineError(result, contains: "huge.json: the model is too large: its weights and gradients need ")
        }
    }

    // MARK: Flags

    func testEveryNumericFlagIsRangeChecked() throws {
        let cases: [([String], String)] = [
            (["train", "--learning-rate", "nan"], "--learning-rate must be a finite number ≥ 0, got nan"),
            (["train", "--learning-rate", "inf"], "--learning-rate must be a finite number ≥ 0, got inf"),
            (["train", "--learning-rate", "-1"], "--learning-rate must be a finite number ≥ 0, got -1"),
            (["train", "--optimizer", "sgd", "--momentum", "-1"], "--momentum must be a finite number in [0, 1], got -1"),
            (["diagnose", "--optimizer", "sgd", "--momentum", "1.5"], "--momentum must be a finite number in [0, 1], got 1.5"),
            (["train", "--weight-decay", "-0.1"], "--weight-decay must be a finite number ≥ 0, got -0.1"),
            (["train", "--clipnorm", "0"], "--clipnorm must be a finite number > 0, got 0"),
            (["train", "--global-clipnorm", "nan"], "--global-clipnorm must be a finite number > 0, got nan"),
            (["train", "--clipvalue", "-2"], "--clipvalue must be a finite number > 0, got -2"),
            (["train", "--epochs", "-1"], "--epochs must be an integer ≥ 0 (at most 2147483647), got -1"),
            (["train", "--batch-size", "0"], "--batch-size must be an integer ≥ 1 (at most 2147483647), got 0"),
            (["train", "--validation-split", "1"], "--validation-split must be a finite number in [0, 1), got 1"),
            (["train", "--validation-split", "nan"], "--validation-split must be a finite number in [0, 1), got nan"),
            (["train", "--workers", "-1"], "--workers must be an integer in 0...256, got -1"),
            (["train", "--prefetch", "0"], "--prefetch must be an integer in 1...1024, got 0"),
            (["train", "--histogram-freq", "-1"], "--histogram-freq must be an integer ≥ 0"),
            (["train", "--embeddings-samples", "-5"], "--embeddings-samples must be an integer ≥ 0"),
            (["train", "--update-freq", "0"], "The value '0' is invalid for '--update-freq <update-freq>'. Please provide one of 'epoch', 'batch' or 'N'."),
            (["train", "--verbose", "3"], "The value '3' is invalid for '--verbose <verbose>'. Please provide one of '0', '1' or '2'."),
            (["train", "--seed", "-1"], "The value '-1' is invalid for '--seed <seed>'"),
            (["train", "--input-dim", "-3"], "--input-dim must be an integer ≥ 1"),
            (["train", "--layers", "-5:relu"], "--layers: '-5:relu' needs a positive number of units"),
            (["train", "--layers", "8:relu:dropout=nan"], "dropout rate 'nan'"),
            (["train", "--layers", "dropout=-0.5"], "dropout rate '-0.5'"),
            (["train", "--layers", "8:relu:l2=inf"], "--layers: l2 'inf' in '8:relu:l2=inf' must be a finite number ≥ 0"),
            (["train", "--early-stopping", "patience=-1"], "--early-stopping: patience=-1 must be in 0...2147483647"),
            (["train", "--early-stopping", "min-delta=nan"], "--early-stopping: min-delta=nan is not a finite number"),
            (["train", "--reduce-lr-on-plateau", "factor=0"], "--reduce-lr-on-plateau: factor must be in (0, 1), got 0"),
            (["train", "--reduce-lr-on-plateau", "min-lr=-1"], "--reduce-lr-on-plateau: min-lr must be ≥ 0, got -1"),
            (["train", "--reduce-lr-on-plateau", "cooldown=-2"], "--reduce-lr-on-plateau: cooldown=-2 must be in 0...2147483647"),
            (["train", "--lr-schedule", "exponential:decay-steps=10,decay-rate=-1"], "decay-rate=R with R > 0"),
            (["train", "--lr-schedule", "cosine:decay-steps=10,alpha=2"], "--lr-schedule: alpha must be in [0, 1], got 2"),
            (["train", "--lr-schedule", "cosine:decay-steps=10,initial=inf"], "initial=inf is not a finite number"),
            (["train", "--class-weight", "0=inf"], "--class-weight: '0=inf' is not CLASS=WEIGHT"),
            (["train", "--device", "tpu"], "The value 'tpu' is invalid for '--device <device>'. Please provide one of 'cpu', 'gpu', 'auto' or 'opencl:P:D'."),
            (["train", "--optimizer", "adamax"], "unknown optimizer 'adamax'; expected one of: sgd, rmsprop, adagrad, adam, adamw, nadam"),
            (["check", "--input-dim", "3", "--output", "1", "--epochs", "0"], "--epochs must be an integer ≥ 1"),
            (["diagnose", "--steps", "0"], "--steps must be an integer ≥ 1"),
            (["diagnose", "--batch-size", "-4"], "--batch-size must be an integer ≥ 1"),
            (["evaluate", "--model", "m.h5", "--data", "d.csv", "--batch-size", "0"], "--batch-size must be an integer ≥ 1"),
            (["predict", "--model", "m.h5", "--data", "d.csv", "--batch-size", "0"], "--batch-size must be an integer ≥ 1"),
            (["summary", "--input-dim", "3", "--output", "1", "--style", "keras4"], "unknown summary style 'keras4'; expected one of: keras2, keras3"),
        ]
        for (arguments, fragment) in cases {
            let result = try runProcess(Bundle.main.bundleURL.appendingPathComponent("mlp"), arguments, currentDirectory: directory)
            assertOneLineError(result, contains: fragment)
            XCTAssertTrue(result.stdout.isEmpty, "\(arguments): nothing ran: \(result.stdout)")
        }
    }

    /// ArgumentParser's own parse errors follow the same convention: one line, exit status 1 (not 64 with usage);
    /// `--help` and `--version` exit 0 on standard output.
    func testArgumentParserErrorsAreOneLineWithExitStatusOne() throws {
        assertOneLineError(try mlp("train", "--bogus"), contains: "error: Unknown option '--bogus'")
        assertOneLineError(try mlp("train", "--epochs", "abc"), contains: "error: The value 'abc' is invalid for '--epochs <epochs>'")
        assertOneLineError(try mlp("train", "--epochs"), contains: "Missing value for '--epochs <epochs>'")
        assertOneLineError(try mlp("evaluate", "--data", "d.csv"), contains: "error: Missing expected argument '--model <model>'")
        assertOneLineError(try mlp("frobnicate"), contains: "error: Unexpected argument 'frobnicate'")
        let help = try mlp("train", "--help")
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("USAGE: mlp train <options>"), help.stdout)
        XCTAssertTrue(help.stdout.contains("--optimizer <optimizer> One of sgd, rmsprop, adagrad, adam, adamw, nadam"), help.stdout)
        XCTAssertTrue(help.stdout.contains("--verbose <verbose>"), help.stdout)
        XCTAssertTrue(help.stderr.isEmpty, help.stderr)
        let version = try mlp("--version")
        XCTAssertEqual(version.status, 0)
        XCTAssertEqual(version.stdout, "0.1.0\n")
        let bare = try mlp()
        XCTAssertEqual(bare.status, 0, "mlp alone prints its help")
        XCTAssertTrue(bare.stdout.contains("SUBCOMMANDS:"), bare.stdout)
    }
}
