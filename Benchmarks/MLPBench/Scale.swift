import ArgumentParser
import Foundation
import MLPKit

/// One configuration of `mlp-bench scale`: ranks × threads per rank.
struct ScaleConfiguration {
    let ranks: Int, threads: Int
    var label: String { "\(ranks) × \(threads)" }
}

/// `mlp-bench scale [--workload W] [--steps N] [--json]`: steps per second of the workloads' training over 1 and 2
/// ranks (data-parallel over Open MPI, the global batch split over the ranks), with the time and bytes of the
/// allreduce per step. Not under `mpirun` itself: it launches itself with `mpirun -np R … scale --worker`.
struct ScaleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale",
        abstract: "Steps/s of the workloads over 1 and 2 MPI ranks, with the allreduce's time and bytes per step.",
        discussion: """
            Runs each workload as 1 rank × 1 thread, 1 rank × 2 threads and 2 ranks × 1 thread (mpirun --bind-to none), \
            the same global batch (the workload's) in every case, so the two-core configurations show what the \
            second core buys as threads or as a rank. Needs Open MPI's mpirun on PATH.
            """)

    @OptionGroup var workloadOptions: WorkloadOptions
    @OptionGroup var output: JSONOptions
    @Option(help: "Timed steps per run (default: seed 400, mnist 60, wide 8), after a tenth as many warm-up steps (at least 2).")
    var steps: Int?
    @Option(help: "Threads per rank (a worker's; the parent runs 1 and 2).")
    var threads = 1
    @Flag(help: .hidden)
    var worker = false

    func validate() throws {
        if let steps, steps <= 0 { throw ValidationError("--steps needs a positive count (received \(steps))") }
        if threads <= 0 { throw ValidationError("--threads needs a positive count (received \(threads))") }
        if worker && workloadOptions.workload == nil { throw ValidationError("scale --worker needs --workload") }
    }

    static func defaultSteps(_ name: WorkloadName) -> Int {
        switch name {
        case .seed: 400
        case .mnist: 60
        case .wide: 8
        }
    }

    func run() throws {
        if worker {
            let name = workloadOptions.workload!  // checked by `validate`
            let workload = try Workload.named(name)
            if let figures = try runScaleRank(workload, steps: steps ?? Self.defaultSteps(name), threads: threads) {
                printJSON(figures)
            }
            return
        }
        let mpirun = try Self.mpirun()
        let names = workloadOptions.workload.map { [$0] } ?? WorkloadName.allCases
        let configurations = [ScaleConfiguration(ranks: 1, threads: 1), ScaleConfiguration(ranks: 1, threads: 2),
                              ScaleConfiguration(ranks: 2, threads: 1)]
        let cores = ProcessInfo.processInfo.activeProcessorCount
        if !output.json {
            print("Data-parallel scaling on this machine (\(cores) cores; Open MPI's shared-memory transport): the workload's")
            print("global batch split over the ranks; 2 ranks × 1 thread uses the same two cores as 1 rank × 2 threads.")
            print("Allreduce: the MPI call alone; wait: a barrier before it (the slower rank's lag), apart.")
            print("  workload  ranks×threads  steps/s  speed-up  allreduce ms/step  wait ms/step  MB/step  share of step")
        }
        var runs: [[String: Any]] = []
        for name in names {
            var base: Double?
            for configuration in configurations {
                var figures = try Self.launch(mpirun, name: name, steps: steps ?? Self.defaultSteps(name), configuration)
                let rate = figures["steps_per_second"] as? Double ?? 0
                base = base ?? rate
                figures["speedup"] = rate / (base ?? rate)
                runs.append(figures)
                if !output.json {
                    let allreduce = figures["allreduce_seconds_per_step"] as? Double ?? 0
                    let bytes = figures["allreduce_bytes_per_step"] as? Double ?? 0
                    let wait = figures["wait_seconds_per_step"] as? Double ?? 0
                    let label = name.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0) + "  "
                        + configuration.label.padding(toLength: 13, withPad: " ", startingAt: 0)
                    let cells = String(format: "  %7.1f  %7.2f×  %17.3f  %12.3f  %7.2f  %12.1f%%", rate, rate / (base ?? rate),
                                       allreduce * 1e3, wait * 1e3, bytes / 1e6, allreduce * rate * 100)
                    print("  " + label + cells)
                }
            }
        }
        if output.json { printJSON(["cores": cores, "runs": runs]) }
    }

    /// `mpirun` on PATH, else a clear error.
    static func mpirun() throws -> URL {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
            .map { URL(fileURLWithPath: String($0)).appendingPathComponent("mpirun") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
        guard let path else {
            throw ValidationError("scale needs Open MPI's mpirun on PATH (Scripts/install-deps.sh installs openmpi-bin)")
        }
        return path
    }

    /// Runs one configuration under `mpirun` and returns rank 0's JSON line.
    static func launch(_ mpirun: URL, name: WorkloadName, steps: Int, _ configuration: ScaleConfiguration) throws -> [String: Any] {
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        // --oversubscribe: 2 ranks on a 1-core machine too; --bind-to none: a rank's second thread gets a core.
        var arguments = ["--oversubscribe", "--bind-to", "none", "-np", "\(configuration.ranks)"]
        if getuid() == 0 { arguments = ["--allow-run-as-root"] + arguments }
        arguments += [me.path, "scale", "--worker", "--workload", name.rawValue, "--steps", "\(steps)",
                      "--threads", "\(configuration.threads)"]
        let process = Process()
        process.executableURL = mpirun
        process.arguments = arguments
        // Standard error to a scratch file (read only on failure), so neither pipe can fill up and stall the job.
        let errorURL = FileManager.default.temporaryDirectory.appendingPathComponent("mlp-bench-scale-\(getpid()).err")
        _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errorURL) }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = try FileHandle(forWritingTo: errorURL)
        try process.run()
        let outputData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let errorData = (try? Data(contentsOf: errorURL)) ?? Data()
        let text = String(decoding: outputData, as: UTF8.self)
        guard process.terminationStatus == 0,
              let line = text.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
              let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            let tail = String(decoding: errorData, as: UTF8.self).split(separator: "\n").suffix(3).joined(separator: " | ")
            throw ValidationError("mpirun -np \(configuration.ranks) \(name.rawValue) exited \(process.terminationStatus): \(tail)")
        }
        return object
    }
}
