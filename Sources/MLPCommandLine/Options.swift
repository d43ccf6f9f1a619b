import ArgumentParser
import Foundation
import MLPKit

/// Model flags shared by `train`, `summary` and `check`.
struct ModelOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Features per sample (a command that reads data takes it from the data's feature columns).")
    var inputDim: Int?

    @Option(parsing: .unconditional, help: "Hidden layers, comma-separated: UNITS:ACTIVATION[:dropout=R][:l1=X][:l2=Y][:init=NAME], bn, dropout=R; ENTRY*N repeats an entry N times (64:relu*8, N ≤ \(HiddenLayerSpec.maxRepeat)). (default: 64:relu,32:relu)")
    var layers: String?

    /// The `--layers` text, or the default.
    var layerText: String { layers ?? "64:relu,32:relu" }

    @Option(parsing: .unconditional, help: "The output layer as UNITS:ACTIVATION (inferred from the labels when omitted).")
    var output: String?

    func validate() throws {
        try FlagCheck.count(inputDim, "--input-dim", 1...FlagCheck.maxCount)
        _ = try HiddenLayerSpec.list(layerText)
        _ = try outputSpec()
    }

    /// The layers these flags describe, not yet built (nothing is allocated).
    func layers(output: LayerSpec) throws -> [Layer] {
        try HiddenLayerSpec.list(layerText).flatMap(\.layers) + [Dense(output.units, activation: output.activation)]
    }

    /// The sizes of the model these flags describe, from the shapes alone.
    func size(inputDim: Int, output: LayerSpec) throws -> ModelSize {
        try ModelSize(inputDim: inputDim, layers(output: output))
    }

    /// Builds the Sequential model these flags describe.
    func makeModel(inputDim: Int, output: LayerSpec, seed: UInt64?, backend: any Backend) throws -> Sequential {
        Sequential(inputDim: inputDim, try layers(output: output), seed: seed, backend: backend)
    }

    func outputSpec() throws -> LayerSpec? {
        try output.map { try LayerSpec($0, flag: "--output") }
    }

    /// The training step's size for `auto` device selection.
    func stepWork(inputDim: Int, output: LayerSpec, batchSize: Int) throws -> StepWork {
        StepWork(parameters: try size(inputDim: inputDim, output: output).parameters, batchSize: batchSize)
    }
}

/// Refuses, before anything is allocated, a model whose training run would not fit `backend`'s memory (the
/// machine's RAM on the CPU; the device's global memory and largest allocation on OpenCL).
func checkFits(_ size: ModelSize, optimizer: Optimizer?, batchSize: Int, on backend: any Backend) throws {
    try size.memoryEstimate(optimizerSlots: optimizer?.slotCount ?? 0, batchSize: batchSize)
        .check(against: MemoryLimit.of(backend))
}

/// `--device`, for every command that runs a model.
struct DeviceOptions: ParsableArguments {
    @Option(help: "The device to run on (default: $MLP_DEVICE, else auto); `mlp devices` lists them.")
    var device: DeviceArgument?

    /// The device `--device` (or `MLP_DEVICE`) names; `auto` when neither is set.
    func selectedDevice() throws -> Device {
        if let device { return device.device }
        return try Device(name: ProcessInfo.processInfo.environment["MLP_DEVICE"] ?? "auto")
    }

    /// The backend for the selected device, sized for `work` when it is `auto`, and the lines that say which
    /// device is used (and why, for `auto` or a fallback). A rank of a data-parallel job (`local`: its rank and the
    /// job's size on this machine) takes its own GPU and its share of the CPU.
    func backend(work: StepWork?, local: (rank: Int, size: Int)? = nil) throws -> (backend: any Backend, announcement: String) {
        let (backend, note) = try selectedDevice().makeBackend(work: work, local: local)
        return (backend, (note.map { $0 + "\n" } ?? "") + "Device: \(backend.deviceDescription)\n")
    }
}

/// `--device` and `--seed`, for the commands that build and train a model.
struct RunOptions: ParsableArguments {
    @OptionGroup var deviceOptions: DeviceOptions

    @Option(parsing: .unconditional, help: "Seed for initial weights and shuffling: the same seed on the same device gives the same numbers.")
    var seed: UInt64?

    func selectedDevice() throws -> Device { try deviceOptions.selectedDevice() }

    func backend(work: StepWork?, local: (rank: Int, size: Int)? = nil) throws -> (backend: any Backend, announcement: String) {
        try deviceOptions.backend(work: work, local: local)
    }
}

/// Writes `text` to standard error (for commands whose standard output is data).
func printToStandardError(_ text: String) {
    // Nowhere to report a failure to write standard error; it must not crash (FileHandle.write would).
    try? FileHandle.standardError.write(contentsOf: Data(text.utf8))
}

/// Label-column flags shared by commands that read labelled CSV files.
struct LabelOptions: ParsableArguments {
    @Option(help: "The label column, by name or 0-based index (default: the column named 'label', else the last).")
    var labelColumn: String?

    @Option(help: "One-hot label columns, comma-separated (instead of --label-column).")
    var labelColumns: String?
}

/// Runs `body`, turning an ``MLPError`` into one line on standard error and exit status 1; what it printed
/// is flushed and checked, so output the OS refused (`> /dev/full`) is such an error too.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
        try StandardOutput.flush()
    } catch let error as MLPError {
        printToStandardError("error: \(error)\n")
        throw ExitCode(1)
    }
}

/// Writes `text` to `path` through a temporary file and a rename.
func writeAtomically(_ text: String, to path: String) throws {
    try ModelFile.writeAtomically(Data(text.utf8), to: path)
}

/// `loss: 0.1234 - accuracy: 0.9500`.
func formatLogs(_ logs: [(String, Float)]) -> String {
    logs.map { "\($0.0): " + String(format: "%.4f", Double($0.1)) }.joined(separator: " - ")
}

/// `{"loss": 0.1234, "accuracy": 0.95}` with full float precision.
func jsonLogs(_ logs: [(String, Float)]) -> String {
    "{" + logs.map { "\"\($0.0)\": \(History.jsonNumber($0.1))" }.joined(separator: ", ") + "}"
}
