import Foundation
import MLPKit

/// Scripts/bench-reference.py in `--serve` mode (numpy and tf.keras, `MLPKIT_KERAS_PYTHON`): one request per
/// measurement, so `--compare` alternates its own timings with the reference's and the machine's noise hits
/// both sides of each ratio alike.
final class ReferenceServer {
    let process = Process()
    let requests = Pipe(), answers = Pipe()
    var pending = Data()

    /// Starts the script; nil (with the reason printed) when it cannot run.
    init?() {
        let python = ProcessInfo.processInfo.environment["MLPKIT_KERAS_PYTHON"] ?? "python3"
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Scripts/bench-reference.py").path
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var environment = ProcessInfo.processInfo.environment
        environment["OPENBLAS_CORETYPE"] = nil
        environment["OPENBLAS_L2_SIZE"] = nil
        process.environment = environment
        process.arguments = [python, script, "--serve"]
        process.standardInput = requests
        process.standardOutput = answers
        process.standardError = FileHandle.standardError
        do { try process.run() } catch {
            print("  (no reference: \(error))")
            return nil
        }
    }

    /// Sends `request`, waits for the answer line; nil when the script has failed.
    func ask(_ request: [String: Any]) -> [String: Any]? {
        guard process.isRunning, let line = try? JSONSerialization.data(withJSONObject: request) else { return nil }
        requests.fileHandleForWriting.write(line + Data("\n".utf8))
        while !pending.contains(UInt8(ascii: "\n")) {
            let chunk = answers.fileHandleForReading.availableData
            if chunk.isEmpty {
                print("  (the reference script stopped: set MLPKIT_KERAS_PYTHON to a python with tensorflow-cpu and numpy)")
                return nil
            }
            pending += chunk
        }
        let end = pending.firstIndex(of: UInt8(ascii: "\n"))!
        let answer = pending[pending.startIndex..<end]
        pending = Data(pending[(end + 1)...])
        return try? JSONSerialization.jsonObject(with: answer) as? [String: Any]
    }

    func gemm(_ shape: WorkloadsFile.GEMMShape) -> Double? {
        ask(["gemm": [shape.m, shape.n, shape.k, shape.transA ? 1 : 0, shape.transB ? 1 : 0]])?["gflops"] as? Double
    }

    func train(_ workload: String) -> [String: Any]? { ask(["train": workload]) }

    /// The BLAS numpy's matmul runs and the kernels it chose (e.g. "OpenBLAS 0.3.31 SkylakeX kernels, 2 threads"),
    /// for the tables: `OPENBLAS_CORETYPE`/`OPENBLAS_L2_SIZE` are removed, so this is OpenBLAS's own choice.
    func blas() -> String? { ask(["blas": 1])?["blas"] as? String }

    deinit {
        try? requests.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}
