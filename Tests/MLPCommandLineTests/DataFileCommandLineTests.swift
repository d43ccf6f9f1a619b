import Foundation
import XCTest
import MLPTestSupport

/// `mlp` on bad or unusual data files: one clear line naming the file and line, the same streamed or not; how
/// the output layer is inferred from labels, and how the user asks for regression.
final class DataFileCommandLineTests: ScratchDirectoryTestCase {
    var executable: URL { Bundle.main.bundleURL.appendingPathComponent("mlp") }

    func mlp(_ arguments: String...) throws -> ProcessResult {
        try runProcess(executable, arguments, currentDirectory: directory)
    }

    func assertOneLineError(_ result: ProcessResult, contains fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.status, 1, "exit status; stderr: \(result.stderr)", file: file, line: line)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "one line on stderr: \(result.stderr)", file: file, line: line)
        XCTAssertTrue(result.stderr.hasPrefix("error: "), result.stderr, file: file, line: line)
        XCTAssertTrue(result.stderr.contains(fragment), "expected '\(fragment)' in: \(result.stderr)", file: file, line: line)
    }

    /// `rows` samples of x0, x1 and a label from `label(row)`.
    func csv(_ name: String, rows: Int = 30, label: (Int) -> String) throws -> String {
        var text = "x0,x1,label\n"
        for row in 0..<rows { text += String(format: "%.3f,%.3f,", Double(row % 7) / 7, Double(row % 5) / 5) + label(row) + "\n" }
        return try write(name, text)
    }

    let quick = ["--epochs", "1", "--verbose", "0", "--device", "cpu", "--seed", "1"]

    func train(_ arguments: [String]) throws -> ProcessResult {
        try runProcess(executable, ["train"] + arguments + quick, currentDirectory: directory)
    }

    /// Labels that are not class indices are an error, streamed or not, unless the user chose regression.
    func testLabelsThatAreNotClassIndicesNeedARegressionChoice() throws {
        let negative = try csv("negative.csv") { $0 == 17 ? "-1" : String($0 % 2) }
        let fraction = try csv("fraction.csv") { $0 == 4 ? "2.5" : String($0 % 3) }
        for stream in [[], ["--stream"]] {
            assertOneLineError(try train(["--data", negative] + stream),
                               contains: "negative.csv:19: label -1 is not a class index (an integer 0 or more); for regression targets give --loss mse (or mae) or --output 1:linear")
            assertOneLineError(try train(["--data", fraction] + stream), contains: "fraction.csv:6: label 2.5 is not a class index")
            for choice in [["--loss", "mse"], ["--loss", "mae"], ["--output", "1:linear"]] {
                let result = try train(["--data", fraction, "--save", "r.json"] + stream + choice)
                XCTAssertEqual(result.status, 0, "\(choice) \(stream): \(result.stderr)")
                let summary = try mlp("summary", "r.json")
                XCTAssertTrue(summary.stdout.contains("(None, 1)"), summary.stdout)
            }
        }
        // --loss mse chooses regression even when the targets happen to be whole numbers.
        let counts = try csv("counts.csv") { String($0 * 3) }
        let regression = try train(["--data", counts, "--loss", "mse", "--layers", "4:relu", "--save", "counts.json"])
        XCTAssertEqual(regression.status, 0, regression.stderr)
        let summary = try mlp("summary", "counts.json")
        XCTAssertTrue(summary.stdout.contains(" dense_1 (Dense)             (None, 1)                 5         \n"), summary.stdout)
        // Soft labels in [0, 1] are fine with binary cross-entropy, chosen explicitly.
        let soft = try csv("soft.csv") { $0 % 4 == 0 ? "0.25" : String($0 % 2) }
        XCTAssertEqual(try train(["--data", soft, "--loss", "binary_crossentropy"]).status, 0)
        assertOneLineError(try train(["--data", soft]), contains: "soft.csv:2: label 0.25 is not a class index")
        // Class labels still infer the output layer as before.
        let classes = try csv("classes.csv") { String($0 % 3) }
        let classifier = try train(["--data", classes, "--layers", "4:relu", "--save", "c.json"])
        XCTAssertEqual(classifier.status, 0, classifier.stderr)
        XCTAssertTrue(try mlp("summary", "c.json").stdout.contains("(None, 3)"))
        // Labels out of range for the output layer the user chose: the first bad line, streamed or not.
        let wide = try csv("wide.csv") { $0 == 9 || $0 == 12 ? "5" : String($0 % 3) }
        for stream in [[], ["--stream"]] {
            assertOneLineError(try train(["--data", wide, "--output", "3:softmax"] + stream),
                               contains: "wide.csv:11: label 5 is out of range for an output layer of 3 units (expected an integer 0...2)")
            assertOneLineError(try train(["--data", classes, "--output", "1:sigmoid"] + stream),
                               contains: "classes.csv:4: label 2 is out of range for binary cross-entropy (expected 0...1)")
        }
        // Validation data with a label the classifier cannot produce names its own file and line.
        let badValidation = try csv("validation.csv", rows: 5) { $0 == 3 ? "1.5" : "0" }
        assertOneLineError(try train(["--data", classes, "--validation-data", badValidation]),
                           contains: "validation.csv:5: label 1.5 is out of range for an output layer of 3 units")
    }

    /// CRLF line endings and a byte-order mark train exactly like plain `\n`, streamed or in memory.
    func testCRLFAndBOMFilesTrainTheSameModelStreamedOrNot() throws {
        let plain = try csv("plain.csv") { String($0 % 3) }
        let text = try String(contentsOfFile: plain, encoding: .utf8)
        let windows = directory.appendingPathComponent("windows.csv").path
        try Data([0xEF, 0xBB, 0xBF] + Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8)).write(to: URL(fileURLWithPath: windows))
        var predictions: [String] = []
        for (file, stream) in [(plain, false), (windows, false), (windows, true)] {
            let result = try train(["--data", file, "--shuffle", "false", "--batch-size", "8", "--layers", "4:relu", "--save", "m.json"]
                                   + (stream ? ["--stream"] : []))
            XCTAssertEqual(result.status, 0, "\(file) stream \(stream): \(result.stderr)")
            let predicted = try mlp("predict", "--model", "m.json", "--data", windows)
            XCTAssertEqual(predicted.status, 0, predicted.stderr)
            predictions.append(predicted.stdout)
        }
        XCTAssertEqual(predictions[1], predictions[0], "CRLF + BOM in memory")
        XCTAssertEqual(predictions[2], predictions[0], "CRLF + BOM streamed")
        XCTAssertEqual(predictions[0].split(separator: "\n").count, 30)
    }

    /// Binary data, hexadecimal cells, duplicate names and non-finite fill values: one line each, both modes.
    func testBadDataFilesGetOneLineStreamedOrNot() throws {
        let zeros = directory.appendingPathComponent("zeros.csv").path
        XCTAssertTrue(FileManager.default.createFile(atPath: zeros, contents: Data(count: 1 << 20)))
        let hex = try write("hex.csv", "a,b,label\n1,2,0\n0x1F,2,1\n")
        let duplicate = try write("duplicate.csv", "a,b,a,label\n1,2,3,0\n")
        let inf = try write("inf.csv", "a,b,label\n1,2,0\n1,-inf,1\n")
        let overflow = try write("overflow.csv", "a,b,label\n1,2,0\n1,1e40,1\n")
        for stream in [[], ["--stream"]] {
            assertOneLineError(try train(["--data", zeros] + stream), contains: "zeros.csv:1: not a text CSV file: NUL byte at byte 0")
            assertOneLineError(try train(["--data", hex] + stream), contains: "hex.csv:3: column 'a': '0x1F' is not a decimal number (hexadecimal is not read)")
            assertOneLineError(try train(["--data", duplicate] + stream),
                               contains: "duplicate.csv:1: columns 1 and 3 (counting from 1) are both named 'a'; column names must be unique")
            assertOneLineError(try train(["--data", inf] + stream), contains: "inf.csv:3: column 'b': '-inf' is not a finite number")
            assertOneLineError(try train(["--data", overflow] + stream), contains: "overflow.csv:3: column 'b': '1e40' is not a finite number")
        }
        let holes = try write("holes.csv", "a,b,label\n1,,0\n2,3,1\n")
        for value in ["inf", "nan", "-Infinity", "0x10", "abc"] {
            assertOneLineError(try train(["--data", holes, "--missing", "fill=\(value)"]),
                               contains: "--missing fill=VALUE needs a finite decimal number, got '\(value)'")
        }
        XCTAssertEqual(try train(["--data", holes, "--missing", "fill=-1.5e0"]).status, 0)
        // predict and evaluate read data files the same way.
        let good = try csv("good.csv") { String($0 % 2) }
        XCTAssertEqual(try train(["--data", good, "--layers", "4:relu", "--save", "m.json"]).status, 0)
        assertOneLineError(try mlp("predict", "--model", "m.json", "--data", zeros), contains: "zeros.csv:1: not a text CSV file")
        assertOneLineError(try mlp("evaluate", "--model", "m.json", "--data", hex), contains: "hex.csv:3: column 'a': '0x1F' is not a decimal number")
    }
}
