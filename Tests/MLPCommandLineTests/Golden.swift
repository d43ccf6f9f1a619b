import Foundation
import XCTest

/// Exact-output checks against `Goldens/NAME.txt`. With `MLPKIT_UPDATE_GOLDENS=1` in the environment the files
/// are rewritten from the actual output instead (review the diff, then commit it).
enum Golden {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Goldens")
    static var updating: Bool { ProcessInfo.processInfo.environment["MLPKIT_UPDATE_GOLDENS"] == "1" }

    /// `actual` must equal the golden file `name` byte for byte; a failure names the first line that differs.
    static func assertMatches(_ actual: String, _ name: String, file: StaticString = #filePath, line: UInt = #line) {
        let url = directory.appendingPathComponent(name + ".txt")
        if updating {
            do {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                try Data(actual.utf8).write(to: url)
            } catch {
                XCTFail("cannot write \(url.path): \(error)", file: file, line: line)
            }
            return
        }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            XCTFail("no golden file \(url.path); run the test with MLPKIT_UPDATE_GOLDENS=1 to write it", file: file, line: line)
            return
        }
        let expected = String(decoding: data, as: UTF8.self)
        guard expected != actual else { return }
        let a = actual.components(separatedBy: "\n"), e = expected.components(separatedBy: "\n")
        let index = (0..<min(a.count, e.count)).first { a[$0] != e[$0] } ?? min(a.count, e.count)
        XCTFail("""
            \(name).txt differs at line \(index + 1) (MLPKIT_UPDATE_GOLDENS=1 rewrites it):
              expected: \(index < e.count ? e[index] : "<end of file>")
              actual:   \(index < a.count ? a[index] : "<end of output>")
            """, file: file, line: line)
    }

    /// Timings (`0s`, `12ms/step`, `40ms/epoch`) and the CPU thread count replaced by `#`, so run-to-run noise
    /// does not reach the golden file.
    static func maskingTimings(_ text: String) -> String {
        var masked = text
        for pattern in [#"\b\d+(\.\d+)?(s|ms|us|µs)(/step|/sample|/epoch)?\b"#, #"\b\d+ threads?\b"#] {
            masked = masked.replacingOccurrences(of: pattern, with: "#", options: .regularExpression)
        }
        return masked
    }
}
