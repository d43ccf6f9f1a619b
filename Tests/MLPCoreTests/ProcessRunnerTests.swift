import Foundation
import MLPTestSupport
import XCTest

final class ProcessRunnerTests: XCTestCase {
    /// A child that writes more than a pipe buffer (64 KiB) to stderr before it writes to stdout must not
    /// deadlock the runner.
    func testLargeStderrBeforeStdoutDoesNotDeadlock() throws {
        let script = "head -c 300000 /dev/zero | tr '\\0' x >&2; echo done"
        let result = try runProcess(URL(fileURLWithPath: "/bin/sh"), ["-c", script])
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(result.stdout, "done\n")
        XCTAssertEqual(result.stderr.count, 300_000)
        XCTAssertTrue(result.stderr.allSatisfy { $0 == "x" })
    }
}
