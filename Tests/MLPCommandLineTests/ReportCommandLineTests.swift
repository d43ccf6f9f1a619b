import Foundation
import XCTest
import MLPTestSupport

/// `mlp train --report` and `mlp report` end to end.
final class ReportCommandLineTests: ScratchDirectoryTestCase {
    func mlp(_ arguments: String...) throws -> ProcessResult {
        try runProcess(Bundle.main.bundleURL.appendingPathComponent("mlp"), arguments, currentDirectory: directory)
    }

    func file(_ name: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
    }

    func testTrainWritesTheReportAndReportRebuildsItFromSavedFiles() throws {
        let train = try mlp("train", "--epochs", "3", "--seed", "1", "--verbose", "0", "--validation-split", "0.2",
                            "--early-stopping", "monitor=val_loss,patience=1,restore-best-weights",
                            "--report", "run.html", "--history-json", "h.json", "--save", "m.h5")
        XCTAssertEqual(train.status, 0, train.stderr)
        let page = try file("run.html")
        for section in ["id=\"training\"", "id=\"gradients\"", "id=\"distributions\"", "id=\"evaluation\"", "id=\"model\"", "id=\"settings\""] {
            XCTAssertTrue(page.contains(section), section)
        }
        XCTAssertTrue(page.contains("On the digits test split: loss"), "evaluated on the test split")
        XCTAssertTrue(page.contains("<table class=\"confusion\">"))
        XCTAssertTrue(try file("h.json").contains("\"grad_norm/dense\""), "the report's monitor logs into History")
        try "{\"loss\": [2.0, 1.0, NaN], \"val_loss\": [2.5, 1.5, Infinity]}".write(to: directory.appendingPathComponent("keras.json"),
                                                                                     atomically: true, encoding: .utf8)
        for history in ["h.json", "keras.json"] {
            let rebuilt = try mlp("report", "--history", history, "--model", "m.h5", "--output", "again.html")
            XCTAssertEqual(rebuilt.status, 0, rebuilt.stderr)
            let again = try file("again.html")
            XCTAssertTrue(again.contains("<polyline data-series=\"loss\""), history)
            XCTAssertTrue(again.contains("a history file does not record where EarlyStopping stopped"), "omitted with the reason")
        }
        let missing = try mlp("report", "--history", "nope.json", "--output", "x.html")
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderr, "error: cannot read 'nope.json': no such file\n")
        // The test line comes from the report's own evaluation of the test split: the same as without --report.
        let plain = try mlp("train", "--epochs", "2", "--seed", "1", "--verbose", "0", "--batch-size", "50")
        let reported = try mlp("train", "--epochs", "2", "--seed", "1", "--verbose", "0", "--batch-size", "50", "--report", "test.html")
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertEqual(reported.status, 0, reported.stderr)
        XCTAssertTrue(plain.stdout.hasPrefix("Test loss: "), plain.stdout)
        XCTAssertEqual(reported.stdout, plain.stdout)
        let unwritable = try mlp("train", "--epochs", "1", "--report", "no-such-folder/run.html")
        XCTAssertEqual(unwritable.status, 1)
        XCTAssertTrue(unwritable.stderr.hasPrefix("error: cannot write 'no-such-folder/run.html'"), unwritable.stderr)
    }
}
