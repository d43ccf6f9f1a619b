import Foundation
import MLPCore
import MLPTraining

/// The time a training step takes on each device, as `auto` estimates it: per device a ``Line``
/// `seconds = perStep + perFlop·flops + perParameter·parameters`, fitted to the benchmark's crossover sweep.
///
/// `mlp-bench crossover [--device gpu]` times training steps of a range of sizes (width × batch) on the CPU
/// backend and on the device, fits one ``Line`` per device (least squares over the measured step times) and
/// writes the model to ``defaultURL`` (`$MLPKIT_COST_MODEL`, else `~/.cache/mlpkit/cost-model.json`).
/// `--device auto` reads it and takes the device with the smaller estimate for the model and batch at hand.
/// Devices without measurements use ``builtInCPU`` (scaled to the thread count) and ``builtInGPU``.
///
/// ```swift
/// let model = try DeviceCostModel.load() ?? DeviceCostModel()
/// let work = StepWork(parameters: 535_818, batchSize: 128)     // the mnist workload
/// print(model.choice(work, gpuName: "NVIDIA H200", cpuThreads: 2).reason)
/// ```
public struct DeviceCostModel: Codable, Equatable, Sendable {
    /// One device's step time: `seconds = perStep + perFlop·flops + perParameter·parameters` — a fixed cost
    /// (dispatch, kernel launches), the arithmetic, and the memory-bound work that grows with the weights and not
    /// with the batch (optimizer update, weight-gradient writes).
    public struct Line: Codable, Equatable, Sendable {
        /// The fixed cost of a step, in seconds.
        public var secondsPerStep: Double
        /// Seconds per floating-point operation (the inverse of the sustained FLOP/s).
        public var secondsPerFlop: Double
        /// Seconds per parameter per step (the memory-bound work).
        public var secondsPerParameter: Double

        /// Creates a line from its three coefficients.
        public init(secondsPerStep: Double, secondsPerFlop: Double, secondsPerParameter: Double) {
            self.secondsPerStep = secondsPerStep
            self.secondsPerFlop = secondsPerFlop
            self.secondsPerParameter = secondsPerParameter
        }

        /// The predicted seconds for one step of `work`.
        public func seconds(_ work: StepWork) -> Double {
            secondsPerStep + secondsPerFlop * work.flops + secondsPerParameter * Double(work.parameters)
        }

        /// "25 µs + flops / 100 GFLOP/s + parameters / 400 M/s per step".
        public var formula: String {
            var text = String(format: "%.0f µs", secondsPerStep * 1e6)
            if secondsPerFlop > 0 { text += String(format: " + flops / %.1f GFLOP/s", 1e-9 / secondsPerFlop) }
            if secondsPerParameter > 0 { text += String(format: " + parameters / %.0f M/s", 1e-6 / secondsPerParameter) }
            return text + " per step"
        }

        /// The line through measured steps with the least relative error (each point weighted by 1/time, since
        /// a small step's 20 µs matter as much as a large one's 20 ms), all three coefficients ≥ 0: every subset
        /// of the terms is fitted and the best non-negative fit kept. Nil for fewer than two points.
        public static func fit(_ points: [(work: StepWork, seconds: Double)]) -> Line? {
            guard points.count >= 2, points.allSatisfy({ $0.seconds > 0 }) else { return nil }
            // Features scaled to at most 1 so the normal equations stay well conditioned.
            let raw = points.map { [1, $0.work.flops, Double($0.work.parameters)] }
            let scale = (0..<3).map { column in max(raw.map { $0[column] }.max() ?? 1, 1e-30) }
            let rows = raw.enumerated().map { index, features in (0..<3).map { features[$0] / scale[$0] / points[index].seconds } }
            var best: (coefficients: [Double], error: Double)?
            for mask in 1..<8 {
                let terms = (0..<3).filter { mask & (1 << $0) != 0 }
                guard let solution = leastSquares(rows.map { row in terms.map { row[$0] } }, target: [Double](repeating: 1, count: rows.count)),
                      solution.allSatisfy({ $0 >= 0 }) else { continue }
                var coefficients = [0.0, 0, 0]
                for (term, value) in zip(terms, solution) { coefficients[term] = value }
                var error = 0.0
                for row in rows {
                    let fitted: Double = row[0] * coefficients[0] + row[1] * coefficients[1] + row[2] * coefficients[2]
                    error += (fitted - 1) * (fitted - 1)
                }
                if best == nil || error < best!.error - 1e-15 { best = (coefficients, error) }
            }
            guard let coefficients = best?.coefficients else { return nil }
            return Line(secondsPerStep: coefficients[0] / scale[0], secondsPerFlop: coefficients[1] / scale[1],
                        secondsPerParameter: coefficients[2] / scale[2])
        }

        /// Solves `min ‖A·x − b‖` by the normal equations (A has at most three columns); nil when singular.
        static func leastSquares(_ a: [[Double]], target b: [Double]) -> [Double]? {
            let n = a.first?.count ?? 0
            guard n > 0, a.count >= n else { return nil }
            // The augmented normal equations [AᵀA | Aᵀb].
            var m = [[Double]](repeating: [Double](repeating: 0, count: n + 1), count: n)
            for (row, value) in zip(a, b) {
                for i in 0..<n {
                    for j in 0..<n { m[i][j] += row[i] * row[j] }
                    m[i][n] += row[i] * value
                }
            }
            for column in 0..<n {
                guard let pivot = (column..<n).max(by: { abs(m[$0][column]) < abs(m[$1][column]) }), abs(m[pivot][column]) > 1e-12 else { return nil }
                m.swapAt(column, pivot)
                for row in 0..<n where row != column {
                    let factor = m[row][column] / m[column][column]
                    for j in column...n { m[row][j] -= factor * m[column][j] }
                }
            }
            return (0..<n).map { m[$0][n] / m[$0][$0] }
        }
    }

    /// The CPU backend's line, and the thread count it was measured with.
    public var cpu: Line?
    /// The thread count ``cpu`` was measured with (its line scales with the threads used).
    public var cpuThreads: Int?
    /// OpenCL devices' lines, by device name (as `mlp devices` prints it).
    public var devices: [String: Line]
    /// When and where the measurements were taken (free text, shown in `auto`'s note).
    public var measured: String?

    /// Creates a model; with nothing measured, `auto` uses the built-in estimates.
    public init(cpu: Line? = nil, cpuThreads: Int? = nil, devices: [String: Line] = [:], measured: String? = nil) {
        self.cpu = cpu
        self.cpuThreads = cpuThreads
        self.devices = devices
        self.measured = measured
    }

    /// Unmeasured CPU figures: 25 µs per step, 50 GFLOP/s per thread, 2.5 ns per parameter (the suite's
    /// measurements of the CPU backend on a 2-core AMD EPYC with AVX2+FMA, rounded).
    public static let builtInCPU = Line(secondsPerStep: 25e-6, secondsPerFlop: 1 / 50e9, secondsPerParameter: 2.5e-9)
    /// Unmeasured GPU figures: 500 µs per step (dozens of kernel launches), 5 TFLOP/s, 0.01 ns per parameter.
    /// With the CPU figures on 2 threads they cross at 21 MFLOP per step for batch 32, 42 MFLOP for batch 256.
    public static let builtInGPU = Line(secondsPerStep: 500e-6, secondsPerFlop: 1 / 5e12, secondsPerParameter: 1e-11)

    /// The CPU line for `threads` threads: the measured one (its arithmetic rate scaled if it was measured with
    /// another thread count), else ``builtInCPU`` with the arithmetic spread over the threads.
    public func cpuLine(threads: Int) -> (line: Line, measured: Bool) {
        var line = cpu ?? Self.builtInCPU
        line.secondsPerFlop *= Double(cpu == nil ? 1 : cpuThreads ?? threads) / Double(max(threads, 1))
        return (line, cpu != nil)
    }

    /// The GPU line for the device named `name`: measured, else ``builtInGPU``.
    public func gpuLine(name: String) -> (line: Line, measured: Bool) {
        devices[name].map { ($0, true) } ?? (Self.builtInGPU, false)
    }

    /// Whether no GPU this model knows of (measured or built-in) beats the CPU on `work`: `auto` then takes the
    /// CPU without looking for OpenCL devices.
    public func cpuBeatsEveryGPU(_ work: StepWork, cpuThreads: Int) -> Bool {
        let cpuSeconds = cpuLine(threads: cpuThreads).line.seconds(work)
        return ([Self.builtInGPU] + Array(devices.values)).allSatisfy { $0.seconds(work) >= cpuSeconds }
    }

    /// `auto`'s decision between the CPU backend and the GPU named `gpuName` for `work`, and the sentence that
    /// says why: both estimates and where the figures come from.
    public func choice(_ work: StepWork, gpuName: String, cpuThreads: Int, source: String? = nil) -> (useGPU: Bool, reason: String) {
        let (cpu, cpuMeasured) = cpuLine(threads: cpuThreads), (gpu, gpuMeasured) = gpuLine(name: gpuName)
        let cpuSeconds = cpu.seconds(work), gpuSeconds = gpu.seconds(work)
        var origin: String
        switch (cpuMeasured, gpuMeasured) {
        case (true, true): origin = "measured"
        case (true, false): origin = "CPU measured, GPU built-in estimate"
        case (false, true): origin = "GPU measured, CPU built-in estimate"
        case (false, false): origin = "built-in estimates; `mlp-bench crossover --device gpu` measures them"
        }
        if cpuMeasured || gpuMeasured, let detail = [measured, source].compactMap({ $0 }).joined(separator: ", ").nilIfEmpty {
            origin += "; " + detail
        }
        let reason = ReportFormat.cFormatted("%.1f", work.flops / 1e6) + " MFLOP per step: estimated " + Self.format(cpuSeconds)
            + " per step on the CPU backend vs " + Self.format(gpuSeconds) + " on OpenCL GPU " + gpuName + " (" + origin + ")"
        return (gpuSeconds < cpuSeconds, reason)
    }

    static func format(_ seconds: Double) -> String {
        seconds < 1e-3 ? ReportFormat.cFormatted("%.0f", seconds * 1e6) + " µs" : ReportFormat.cFormatted("%.2f", seconds * 1e3) + " ms"
    }

    // MARK: File

    /// `$MLPKIT_COST_MODEL`, else `$XDG_CACHE_HOME/mlpkit/cost-model.json`, else `~/.cache/mlpkit/cost-model.json`.
    public static var defaultURL: URL {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["MLPKIT_COST_MODEL"], !path.isEmpty { return URL(fileURLWithPath: path) }
        let cache = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        return cache.appendingPathComponent("mlpkit/cost-model.json")
    }

    /// The model in `url`, nil when there is no such file; throws `MLPError.malformedFile(path:line:reason:)` for a
    /// file that is not a cost model.
    public static func load(from url: URL = defaultURL) throws -> DeviceCostModel? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            return try JSONDecoder().decode(DeviceCostModel.self, from: Data(contentsOf: url))
        } catch {
            throw MLPError.malformedFile(path: url.path, line: 0, reason: "not an MLPKit cost model (\(error.localizedDescription)); delete it or rerun `mlp-bench crossover`")
        }
    }

    /// Writes the model (atomically: a reader never sees half a file), creating the folder.
    public func save(to url: URL = defaultURL) throws {
        let folder = url.deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw MLPError.fileNotWritable(path: url.path, reason: "cannot create the folder '\(folder)'")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(self), to: url.path)
    }
}

/// The size of one training step, which is what `auto` weighs: the model's parameters and the batch.
public struct StepWork: Equatable, Sendable {
    /// The model's parameter count.
    public var parameters: Int
    /// Rows per training step.
    public var batchSize: Int

    /// Creates the work of one step.
    public init(parameters: Int, batchSize: Int) {
        self.parameters = parameters
        self.batchSize = batchSize
    }

    /// About 6·batch·parameters: a forward and two backward GEMMs per Dense layer.
    public var flops: Double { 6 * Double(batchSize) * Double(parameters) }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
