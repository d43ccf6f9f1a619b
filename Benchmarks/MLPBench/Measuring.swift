import Foundation
import MLPKit

/// Wall-clock seconds of `body`.
func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// Median of `repeats` timings of `body`, after one warm-up call.
func median(repeats: Int, _ body: () -> Void) -> Double {
    body()
    let times = (0..<repeats).map { _ in seconds(body) }.sorted()
    return times[times.count / 2]
}

/// The median.
func middle(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

/// `count` uniform values in [low, high): the Philox uniforms of (seed, stream 0) through
/// ``CPUReference/randomUniform(_:count:seed:stream:low:high:)``, the one loop that draws them.
func randomValues(_ count: Int, seed: UInt64, low: Float = -0.5, high: Float = 0.5) -> [Float] {
    [Float](unsafeUninitializedCapacity: count) { values, initialized in
        if let start = values.baseAddress { CPUReference.randomUniform(start, count: count, seed: seed, stream: 0, low: low, high: high) }
        initialized = count
    }
}

/// `body`'s time per call in µs: after one untimed call, repeated in groups of 32 until 20 ms have passed.
func microsecondsPerCall(_ body: () -> Void) -> Double {
    body()
    var calls = 0
    let start = DispatchTime.now().uptimeNanoseconds
    var elapsed: UInt64 = 0
    repeat {
        for _ in 0..<32 { body() }
        calls += 32
        elapsed = DispatchTime.now().uptimeNanoseconds - start
    } while elapsed < 20_000_000
    return Double(elapsed) / 1e3 / Double(calls)
}

func printJSON(_ object: Any) {
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

func peakMemoryMiB() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) / 1024
}
