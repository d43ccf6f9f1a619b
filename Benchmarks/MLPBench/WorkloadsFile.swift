import Foundation
import MLPKit

/// `Benchmarks/workloads.json`: the workloads, GEMM shapes and sweeps that mlp-bench measures, in the one file that
/// the tests and `Scripts/bench-reference.py` read too.
struct WorkloadsFile: Decodable {
    struct TimingProtocol: Decodable {
        /// Timed epochs after the warm-up epoch (more follow until `minimumSeconds` have passed).
        let timedEpochs: Int
        let minimumSeconds: Double
    }

    /// A GEMM of the older table (`gemm-table`): `m×k · k×n`, no transposes.
    struct GEMMSize: Decodable {
        let m: Int, n: Int, k: Int
    }

    /// A GEMM of the suite.
    struct GEMMShape: Decodable {
        let name: String
        let m: Int, n: Int, k: Int
        let transA: Bool, transB: Bool
    }

    /// The CPU-vs-device sweep: `inputs`, two hidden layers of each width, `classes`; each batch size; `steps`
    /// batches per epoch.
    struct Crossover: Decodable {
        let inputs: Int
        let widths: [Int]
        let batches: [Int]
        let classes: Int
        let steps: Int
    }

    let `protocol`: TimingProtocol
    let workloads: [String: Workload]
    let gemmShapes: [GEMMShape]
    let gemmTable: [GEMMSize]
    let trainTable: [Workload]
    let crossover: Crossover
    let monitorWorkloads: [WorkloadName]

    /// Where the file is: `$MLPKIT_BENCH_WORKLOADS`, else `Benchmarks/workloads.json` below the working directory
    /// (mlp-bench runs from the repository root, as Scripts/gpu-check.sh runs the portable build), else beside
    /// this source file's folder.
    static var url: URL {
        if let path = ProcessInfo.processInfo.environment["MLPKIT_BENCH_WORKLOADS"] { return URL(fileURLWithPath: path) }
        let relative = URL(fileURLWithPath: "Benchmarks/workloads.json")
        if FileManager.default.fileExists(atPath: relative.path) { return relative }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("workloads.json")
    }

    static func load(from url: URL = url) throws -> WorkloadsFile {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw MLPError.invalidArgument("cannot read the benchmark workloads \(url.path) (\(error.localizedDescription)); "
                                           + "run mlp-bench from the repository root or set MLPKIT_BENCH_WORKLOADS")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let file: WorkloadsFile
        do { file = try decoder.decode(WorkloadsFile.self, from: data) } catch {
            throw MLPError.malformedFile(path: url.path, line: 0, reason: "not mlp-bench's workloads file (\(error))")
        }
        if let missing = WorkloadName.allCases.first(where: { file.workloads[$0.rawValue] == nil }) {
            throw MLPError.malformedFile(path: url.path, line: 0, reason: "no workload \"\(missing.rawValue)\"")
        }
        return file
    }

    /// The file, read once (a process reads it on first use).
    /// `nonisolated(unsafe)`: the benchmark reads it from its main thread only (the command's `run`), never from
    /// the backends' workers.
    nonisolated(unsafe) private static var loaded: WorkloadsFile?

    static func shared() throws -> WorkloadsFile {
        if let loaded { return loaded }
        let file = try load()
        loaded = file
        return file
    }

    /// The suite's workload `name`.
    func workload(_ name: WorkloadName) -> Workload {
        var workload = workloads[name.rawValue]!  // checked by `load`
        workload.name = name.rawValue
        return workload
    }
}

