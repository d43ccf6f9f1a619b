import XCTest
import MLPCore

/// Deterministic test data: the Philox uniforms of (seed, stream 99) in [low, high), drawn by
/// ``CPUReference/randomUniform(_:count:seed:stream:low:high:)`` (the one loop that draws them).
public func randomValues(_ count: Int, seed: UInt64, low: Float = -1, high: Float = 1) -> [Float] {
    [Float](unsafeUninitializedCapacity: count) { values, initialized in
        if let start = values.baseAddress { CPUReference.randomUniform(start, count: count, seed: seed, stream: 99, low: low, high: high) }
        initialized = count
    }
}

/// Asserts two arrays agree within `absolute + relative·|expected|`; on failure prints the first values and
/// the largest difference, as llm.c's tests do.
public func assertClose(_ actual: [Float], _ expected: [Float], absolute: Float = 1e-5, relative: Float = 1e-4,
                 _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "count differs \(message)", file: file, line: line)
    var worst: (index: Int, difference: Float) = (0, 0)
    var failed = false
    for (index, (a, e)) in zip(actual, expected).enumerated() {
        let difference = abs(a - e)
        if difference > worst.difference || difference.isNaN { worst = (index, difference) }
        if !(difference <= absolute + relative * abs(e)) { failed = true }
    }
    if failed {
        XCTFail("""
            \(message) max |difference| \(worst.difference) at \(worst.index): \(actual[worst.index]) vs \(expected[worst.index])
            actual:   \(actual.prefix(6))
            expected: \(expected.prefix(6))
            """, file: file, line: line)
    }
}
