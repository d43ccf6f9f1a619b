import Foundation
import XCTest
import MLPTestSupport

/// `mlp-bench scale`: the three configurations of one workload under `mpirun`, and its argument errors.
extension CommandLineTests {
    /// The workloads file of this checkout (the scratch directory has none).
    var workloadsFile: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Benchmarks/workloads.json").path
    }

    /// 20 steps of seed as 1 × 1, 1 × 2 and 2 × 1: one JSON object with the three runs; the single rank never
    /// allreduces, the two ranks allreduce once a step, 4 bytes per parameter plus the running sums.
    func testBenchScaleRunsOneAndTwoRanks() throws {
        _ = try mpirun()
        let bench = Bundle.main.bundleURL.appendingPathComponent("mlp-bench")
        let result = try runProcess(bench, ["scale", "--workload", "seed", "--steps", "20", "--json"],
                                    environment: ["MLPKIT_BENCH_WORKLOADS": workloadsFile], currentDirectory: directory)
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], result.stdout)
        let runs = try XCTUnwrap(object["runs"] as? [[String: Any]])
        XCTAssertEqual(runs.map { $0["ranks"] as? Int }, [1, 1, 2])
        XCTAssertEqual(runs.map { $0["threads_per_rank"] as? Int }, [1, 2, 1])
        for run in runs {
            XCTAssertEqual(run["workload"] as? String, "seed")
            XCTAssertEqual(run["steps"] as? Int, 20)
            XCTAssertGreaterThan(run["steps_per_second"] as? Double ?? 0, 0)
        }
        XCTAssertEqual(runs[0]["allreduce_bytes_per_step"] as? Double, 0)
        let two = runs[2]
        let parameters = try XCTUnwrap(two["parameters"] as? Int)
        XCTAssertEqual(parameters, 14 * 25 + 25 + 25 * 36 + 36 + 36 * 47 + 47 + 47 * 7 + 7)
        XCTAssertEqual(two["allreduce_calls_per_step"] as? Double, 1)
        let bytes = try XCTUnwrap(two["allreduce_bytes_per_step"] as? Double)
        XCTAssertGreaterThan(bytes, Double(4 * parameters))
        XCTAssertLessThan(bytes, Double(4 * (parameters + 16)))
        XCTAssertNotNil(two["probe_small_seconds"] as? Double)
    }

    /// A bad count is one `error:` line naming it, status 1, before anything is launched.
    func testBenchScaleRejectsABadStepCount() throws {
        let bench = Bundle.main.bundleURL.appendingPathComponent("mlp-bench")
        let result = try runProcess(bench, ["scale", "--steps", "0"], currentDirectory: directory)
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stdout, "")
        XCTAssertEqual(result.stderr, "error: --steps needs a positive count (received 0)\n")
    }
}
