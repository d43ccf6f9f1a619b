// mlp-bench: speed figures for MLPKit, each measured side by side with its reference in one run, and the
// backend parity suite. Every benchmark checks its result against the reference before timing it. The workloads
// and GEMM shapes are in Benchmarks/workloads.json (run from the repository root, or set MLPKIT_BENCH_WORKLOADS).
//
//   swift run -c release mlp-bench                          # the suite: GEMM, workloads, allocations, crossover
//   swift run -c release mlp-bench --device gpu             # … with the OpenCL device beside the CPU
//   swift run -c release mlp-bench --compare                # … and tf.keras / numpy from Scripts/bench-reference.py
//   swift run -c release mlp-bench --json-out results.json  # … and the table as JSON
//   mlp-bench train --workload seed|mnist|wide --device cpu|gpu --json [--epochs N] [--optimizer NAME]
//   mlp-bench gemm --m M --n N --k K [--trans-a] [--trans-b] --device cpu|gpu --json
//   mlp-bench ops [--workload seed|mnist|wide] [--device gpu]  # every backend op of one training step
//   mlp-bench peak                                          # the machine's multiply-add peak
//   mlp-bench monitor [--device gpu]                        # GradientMonitor's cost per training epoch
//   mlp-bench crossover [--device gpu]                      # step times CPU vs device; writes the cost model `auto` reads
//   mlp-bench parity --device gpu                           # every op and a training run, device vs CPU
//   mlp-bench data                                          # CSV parse MB/s, prefetch vs in-memory step time
//   mlp-bench gemm-table [--device gpu]                     # the older tables: square GEMM …
//   mlp-bench train-table [--device gpu] [--quick]          # … and three MLPs
//   mlp-bench scale [--workload W] [--steps N] [--json]     # steps/s over 1 and 2 MPI ranks, allreduce time and bytes
import ArgumentParser
import Foundation
import MLPKit

@main
struct MLPBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mlp-bench",
        abstract: "Speed figures for MLPKit, each beside its reference in the same run, and the backend parity suite.",
        discussion: """
            Every benchmark checks its result against the reference before timing it. The workloads and GEMM shapes \
            are in Benchmarks/workloads.json, found below the working directory (run from the repository root) or \
            at $MLPKIT_BENCH_WORKLOADS. Without a subcommand, mlp-bench runs the suite.
            """,
        subcommands: [SuiteCommand.self, GEMMCommand.self, TrainCommand.self, OpsCommand.self, PeakCommand.self,
                      MonitorCommand.self, CrossoverCommand.self, ParityCommand.self, DataCommand.self,
                      GEMMTableCommand.self, TrainTableCommand.self, ScaleCommand.self],
        defaultSubcommand: SuiteCommand.self)

    /// `mlp`'s convention (`MLPCommand.run` in MLPCommandLine; these lines are repeated so the bench needs no
    /// CLI module): help and version on standard output with status 0; an ``ExitCode`` thrown after its message
    /// keeps its status; any other error, usage errors included, is one line `error: …` on standard error and
    /// status 1 (ArgumentParser alone prints `Error: …` and the usage, and exits 64).
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            if exitCode(for: error) == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            let line = message(for: error).split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }.joined(separator: " ")
            FileHandle.standardError.write(Data(("error: " + line + "\n").utf8))
            Foundation.exit(1)
        }
    }
}

/// `--device`: the backend to measure, by the names `mlp --device` takes.
struct DeviceOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The device: cpu, gpu, auto or opencl:P:D.", valueName: "device"),
            transform: { try Device(name: $0) })
    var device: Device?

    /// The backend of `device` (nil when none was given).
    func backend() throws -> (any Backend)? { try device.map(Self.backend) }

    /// The backend of `device`, or of `fallback` when none was given.
    func backend(or fallback: Device) throws -> any Backend { try Self.backend(device ?? fallback) }

    private static func backend(_ device: Device) throws -> any Backend {
        try device.makeBackend(work: StepWork(parameters: 1 << 40, batchSize: 1 << 20)).backend
    }
}

/// `--workload`: one of the suite's workloads.
struct WorkloadOptions: ParsableArguments {
    @Option(help: "The workload of Benchmarks/workloads.json.")
    var workload: WorkloadName?
}

/// `--json`: the result as one JSON object on one line (else Swift's dictionary description).
struct JSONOptions: ParsableArguments {
    @Flag(help: "Print the result as one JSON object on one line.")
    var json = false

    func print(_ object: [String: Any]) {
        if json { printJSON(object) } else { Swift.print(object) }
    }
}

/// The suite's workloads, by name.
enum WorkloadName: String, CaseIterable, Decodable, ExpressibleByArgument {
    case seed, mnist, wide
}

/// A subcommand that measures on the `--device` backend (nil when none was given), named first ("Device: …").
protocol DeviceCommand: ParsableCommand {
    var device: DeviceOptions { get }
    func run(on backend: (any Backend)?) throws
}

extension DeviceCommand {
    func run() throws {
        let backend = try device.backend()
        if let backend { print("Device: \(backend.deviceDescription)") }
        try run(on: backend)
    }
}
