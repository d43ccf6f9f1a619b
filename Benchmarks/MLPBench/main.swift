// mlp-bench: speed figures for MLPKit, each measured side by side with its reference in one run, and the
// backend parity suite. Every benchmark checks its result against the reference before timing it.
//
//   swift run -c release mlp-bench                          # the suite: GEMM, workloads, allocations, crossover
//   swift run -c release mlp-bench --device gpu             # … with the OpenCL device beside the CPU
//   swift run -c release mlp-bench --compare                # … and tf.keras / numpy from Scripts/bench-reference.py
//   swift run -c release mlp-bench --json-out results.json  # … and the table as JSON
//   mlp-bench train --workload seed|mnist|wide --device cpu|gpu --json [--epochs N] [--optimizer NAME]
//   mlp-bench gemm --m M --n N --k K [--trans-a] [--trans-b] --device cpu|gpu --json
//   mlp-bench monitor [--device gpu]                        # GradientMonitor's cost per training epoch
//   mlp-bench crossover [--device gpu]                      # step times CPU vs device; writes the cost model `auto` reads
//   mlp-bench parity --device gpu                           # every op and a training run, device vs CPU
//   mlp-bench data                                          # CSV parse MB/s, prefetch vs in-memory step time
//   mlp-bench gemm train [--quick]                          # the older tables (square GEMM, three MLPs)
import Foundation
import MallocCounter
import MLPBackendParity
import MLPKit
import MLPOpenCL

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

func randomValues(_ count: Int, seed: UInt64) -> [Float] {
    var random = PhiloxRandom(seed: seed)
    return (0..<count).map { _ in random.nextUniform() - 0.5 }
}

/// `count` uniform values in [low, high).
func randomValues(_ count: Int, seed: UInt64, low: Float, high: Float) -> [Float] {
    var random = PhiloxRandom(seed: seed)
    return (0..<count).map { _ in low + (high - low) * random.nextUniform() }
}

/// GEMM rates: the reference loop (small shapes only), the optimised CPU kernel, and the device's GEMM.
func benchGEMM(device: (any Backend)?) {
    print("GEMM C = A·B (Float32), GFLOP/s; every kernel checked against the reference loop first")
    print("  shape (m×k · k×n)       reference   CPU \(CPUBackend.defaultThreadCount) threads" + (device != nil ? "      device   device/CPU" : ""))
    let cpu = CPUBackend()
    for (m, n, k) in [(32, 64, 64), (256, 256, 256), (512, 512, 512), (2048, 2048, 2048)] {
        let a = randomValues(m * k, seed: 1), b = randomValues(k * n, seed: 2)
        let flops = 2.0 * Double(m * n * k)
        // The reference for checking: the CPU reference loop (optimised CPU for the largest shape).
        var reference = [Float](repeating: 0, count: m * n)
        var referenceRate = Double.nan
        if m <= 512 {
            let time = median(repeats: 1) {
                a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in reference.withUnsafeMutableBufferPointer { cp in
                    CPUReference.gemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: ap.baseAddress!,
                                      b: bp.baseAddress!, beta: 0, c: cp.baseAddress!)
                } } }
            }
            referenceRate = flops / time / 1e9
        }
        func rate(on backend: any Backend) -> Double {
            let (ab, bb, cb) = (backend.makeBuffer(a), backend.makeBuffer(b), backend.makeBuffer(count: m * n))
            backend.gemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: ab, b: bb, beta: 0, c: cb)
            let result = backend.download(cb)
            if m <= 512 {
                let worst = zip(result, reference).map { abs($0 - $1) }.max() ?? 0
                precondition(worst < 1e-3, "\(backend.deviceDescription): GEMM disagrees with the reference by \(worst)")
            } else if reference.allSatisfy({ $0 == 0 }) {
                reference = result
            } else {
                let worst = zip(result, reference).map { abs($0 - $1) }.max() ?? 0
                precondition(worst < 1e-2, "\(backend.deviceDescription): GEMM disagrees with the CPU by \(worst)")
            }
            let repeats = m >= 2048 ? 3 : 10
            let time = median(repeats: 3) {
                for _ in 0..<repeats {
                    backend.gemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: ab, b: bb, beta: 0, c: cb)
                }
                backend.synchronize()
            }
            return flops * Double(repeats) / time / 1e9
        }
        let cpuRate = rate(on: cpu)
        var line = String(format: "  %4d×%-4d · %4d×%-4d  %9.2f   %14.2f", m, k, k, n, referenceRate, cpuRate)
        if let device {
            let deviceRate = rate(on: device)
            line += String(format: "   %9.1f   %9.1f×", deviceRate, deviceRate / cpuRate)
        }
        print(line)
    }
}

/// Training throughput (samples/s, one epoch after a warm-up epoch) on the CPU backend and the device.
func benchTraining(device: (any Backend)?, quick: Bool) throws {
    print("Training throughput, samples/s (Adam, sparse categorical cross-entropy, one epoch after a warm-up)")
    let digits = Datasets.digits()
    let split = Datasets.trainTestSplit(x: digits.x, y: digits.y, testFraction: 0.2, seed: 0)
    struct Workload { let name: String; let inputs: Int; let hidden: [Int]; let classes: Int; let samples: Int; let batch: Int }
    let workloads = [
        Workload(name: "digits 64-64-32-10, batch 32", inputs: 64, hidden: [64, 32], classes: 10, samples: 1438, batch: 32),
        Workload(name: "784-1024-1024-10, batch 256", inputs: 784, hidden: [1024, 1024], classes: 10, samples: 8192, batch: 256),
        Workload(name: "784-4096-4096-10, batch 1024", inputs: 784, hidden: [4096, 4096], classes: 10, samples: 16384, batch: 1024),
    ]
    for workload in workloads {
        let x: Tensor, y: Tensor
        if workload.inputs == 64 {
            (x, y) = split.train
        } else {
            var random = PhiloxRandom(seed: 3)
            x = Tensor(shape: [workload.samples, workload.inputs], scalars: (0..<(workload.samples * workload.inputs)).map { _ in random.nextUniform() })
            y = Tensor(shape: [workload.samples, 1], scalars: (0..<workload.samples).map { _ in Float(random.nextInt(below: workload.classes)) })
        }
        var line = "  \(workload.name):"
        var rates: [Double] = []
        var losses: [Float] = []
        for backend in [CPUBackend() as any Backend] + (device.map { [$0] } ?? []) {
            // The CPU gets fewer samples on the big workloads (time), the rate is per sample either way.
            let cpuCount = min(x.rowCount, 2 * workload.batch * max(1, 4096 / workload.hidden[0]))
            let count = quick || (backend is CPUBackend && workload.inputs > 64) ? min(x.rowCount, cpuCount) : x.rowCount
            let xs = x.rows(0..<count), ys = y.rows(0..<count)
            let model = Sequential(inputDim: workload.inputs,
                                   workload.hidden.map { Dense($0, activation: .relu) } + [Dense(workload.classes, activation: .softmax)],
                                   seed: 1, backend: backend)
            try model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(fromLogits: false), metrics: [.accuracy])
            try model.fit(x: xs, y: ys, batchSize: workload.batch, epochs: 1, verbose: 0, shuffle: false)
            var history = History()
            let time = try seconds { history = try model.fit(x: xs, y: ys, batchSize: workload.batch, epochs: 1, verbose: 0, shuffle: false) }
            rates.append(Double(count) / time)
            losses.append(history.history["loss"]![0])
            line += String(format: "  %@ %.0f", backend is CPUBackend ? "CPU" : "device", Double(count) / time)
        }
        if rates.count == 2 { line += String(format: "  (device/CPU %.1f×)", rates[1] / rates[0]) }
        print(line)
    }
}

/// (a) CSV parse throughput; (b) step time of a slow generator with and without prefetch, against the same
/// batches from memory.
func benchData() throws {
    print("Data pipeline")
    var random = PhiloxRandom(seed: 7)
    var text = (0..<16).map { "f\($0)" }.joined(separator: ",") + ",label\n"
    for _ in 0..<40_000 {
        text += (0..<16).map { _ in String(format: "%.5f", Double(random.nextNormal())) }.joined(separator: ",") + ",\(random.nextInt(below: 10))\n"
    }
    let megabytes = Double(text.utf8.count) / 1_048_576
    let parseTime = try seconds { _ = try CSVTable(text: text) }
    let path = NSTemporaryDirectory() + "mlpbench-\(ProcessInfo.processInfo.processIdentifier).csv"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    var streamed: StreamingCSVSource!
    let scanTime = try seconds { streamed = try StreamingCSVSource(path: path, batchSize: 128) }
    print(String(format: "  CSV parse, in memory: %.1f MB/s (%.1f MB in %.2f s); streaming scan: %.1f MB/s", megabytes / parseTime, megabytes,
                 parseTime, megabytes / scanTime))

    let table = try CSVTable(text: text)
    let x = table.tensor(columns: Array(0..<16)), y = table.tensor(columns: [16])
    let memory = ArraySource(x: x, y: y, batchSize: 128)
    // A generator that costs 3 ms a batch (as parsing or augmenting would), then returns the in-memory batch.
    let slow = GeneratorSource(count: memory.batchCount) { index in
        Thread.sleep(forTimeInterval: 0.003)
        return try memory.batch(index)
    }
    func stepTime(_ source: BatchSource, workers: Int) throws -> Double {
        let model = Sequential(inputDim: 16, [Dense(256, activation: .relu), Dense(256, activation: .relu), Dense(10, activation: .softmax)],
                               seed: 1, backend: CPUBackend())
        try model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(fromLogits: false))
        try model.fit(source.take(20), epochs: 1, verbose: 0, shuffle: false, workers: workers, prefetch: 8)
        let steps = source.batchCount!
        return try seconds { try model.fit(source, epochs: 1, verbose: 0, shuffle: false, workers: workers, prefetch: 8) } / Double(steps)
    }
    let inMemory = try stepTime(memory, workers: 0)
    let noPrefetch = try stepTime(slow, workers: 0)
    let prefetched = try stepTime(slow, workers: 2)
    print(String(format: "  step time: in memory %.2f ms; 3 ms/batch generator without prefetch %.2f ms (%.2f× in-memory), with 2 workers %.2f ms (%.2f× in-memory)",
                 inMemory * 1e3, noPrefetch * 1e3, noPrefetch / inMemory, prefetched * 1e3, prefetched / inMemory))
}

func runParity(device: any Backend) throws -> Bool {
    print("Parity: \(device.deviceDescription) against the CPU backend")
    let checks = try BackendParity.ops(reference: CPUBackend(threadCount: 1), candidate: device)
        + BackendParity.training(reference: CPUBackend(threadCount: 1), candidate: device)
    for check in checks where !check.passed || check.name.hasPrefix("seed model") || check.name.hasPrefix("gemm 256") {
        print("  " + check.description)
    }
    let failed = checks.filter { !$0.passed }.count
    let worst = checks.map { $0.maxDifference / max($0.allowed, .leastNormalMagnitude) }.max() ?? 0
    print("  \(checks.count - failed) passed, \(failed) failed (worst difference \(String(format: "%.2f", worst)) of its allowance)")
    return failed == 0
}


// MARK: The scriptable contract and the suite

/// A fixed-seed synthetic workload: a random linear teacher labels random inputs, so the loss can go down.
struct Workload {
    let name: String
    let inputs: Int
    let hidden: [Int]
    let classes: Int
    let batch: Int
    let samples: Int
    /// Adam in the suite (and in the tf.keras reference); `train --optimizer NAME` picks another.
    var optimizer = OptimizerName.adam

    static let all: [String: Workload] = [
        "seed": Workload(name: "seed", inputs: 14, hidden: [25, 36, 47], classes: 7, batch: 32, samples: 16_384),
        "mnist": Workload(name: "mnist", inputs: 784, hidden: [512, 256], classes: 10, batch: 128, samples: 8_192),
        "wide": Workload(name: "wide", inputs: 1024, hidden: [2048, 2048], classes: 10, batch: 256, samples: 2_048),
    ]

    func data(samples count: Int? = nil) -> (x: Tensor, y: Tensor) {
        let n = count ?? samples
        var random = PhiloxRandom(seed: 11)
        let x = Tensor(shape: [n, inputs], scalars: (0..<(n * inputs)).map { _ in random.nextNormal() })
        let teacher = (0..<(inputs * classes)).map { _ in random.nextNormal() }
        var labels = [Float]()
        labels.reserveCapacity(n)
        for row in 0..<n {
            var best = 0, bestScore = -Float.infinity
            for c in 0..<classes {
                var score: Float = 0
                for j in 0..<inputs { score += x[row, j] * teacher[j * classes + c] }
                if score > bestScore { bestScore = score; best = c }
            }
            labels.append(Float(best))
        }
        return (x, Tensor(shape: [n, 1], scalars: labels))
    }

    /// Floating-point operations of one training sample: forward `2·m·n` per Dense layer, backward `2·m·n` for
    /// the weight gradient and `2·m·n` for the input gradient (not for the first layer: neither MLPKit nor Keras
    /// computes the gradient of the data). Bias, activation, loss and optimizer work are left out.
    var trainingFlopsPerSample: Double {
        let widths = [inputs] + hidden + [classes]
        let products = zip(widths, widths.dropFirst()).map { Double($0 * $1) }
        return 6 * products.reduce(0, +) - 2 * products[0]
    }

    /// Floating-point operations of one predicted sample: `2·m·n` per Dense layer.
    var predictionFlopsPerSample: Double {
        let widths = [inputs] + hidden + [classes]
        return 2 * zip(widths, widths.dropFirst()).map { Double($0 * $1) }.reduce(0, +)
    }

    func model(backend: any Backend) throws -> Sequential {
        let model = Sequential(inputDim: inputs, hidden.map { Dense($0, activation: .relu) } + [Dense(classes, activation: .softmax)],
                               seed: 1, backend: backend)
        try model.compile(optimizer: optimizer.make(), loss: .sparseCategoricalCrossentropy(fromLogits: false))
        return model
    }
}

struct TrainResult {
    let samplesPerSecond: Double
    let predictSamplesPerSecond: Double
    let losses: [Float]
    let allocationsPerStep: Double
    /// The process's peak resident memory after the run, MiB (getrusage; a process-wide high-water mark).
    let peakMemoryMiB: Double

    var json: [String: Any] {
        ["samples_per_second": samplesPerSecond, "predict_samples_per_second": predictSamplesPerSecond,
         "final_loss": Double(losses.last ?? .nan), "epoch_losses": losses.map(Double.init), "allocations_per_step": allocationsPerStep,
         "peak_memory_mib": peakMemoryMiB]
    }
}

/// Steady state: one warm-up epoch, then `timedEpochs` timed epochs, and more until `minimumSeconds` have passed
/// (the losses are the warm-up's and the first timed epochs'); prediction: the median of the timed passes after a
/// warm-up call, three or as many as fill `minimumSeconds`; allocations per
/// step from two epochs of different lengths (their difference cancels the per-epoch allocations).
func runWorkload(_ workload: Workload, backend: any Backend, samples: Int? = nil, timedEpochs: Int = 2,
                 minimumSeconds: Double = 1) throws -> TrainResult {
    let (x, y) = workload.data(samples: samples)
    let model = try workload.model(backend: backend)
    model.output = { _ in }
    var losses: [Float] = []
    losses += try model.fit(x: x, y: y, batchSize: workload.batch, epochs: 1, verbose: 0, shuffle: false).history["loss"]!
    var history = History()
    var time = try seconds { history = try model.fit(x: x, y: y, batchSize: workload.batch, epochs: timedEpochs, verbose: 0, shuffle: false) }
    losses += history.history["loss"]!
    var timedSamples = timedEpochs * x.rowCount
    if time < minimumSeconds {
        // Short epochs (the seed's take ~10 ms): more of them, so that one scheduling hiccup cannot decide the figure.
        let more = Int(((minimumSeconds - time) / (time / Double(timedEpochs))).rounded(.up))
        time += try seconds { try model.fit(x: x, y: y, batchSize: workload.batch, epochs: more, verbose: 0, shuffle: false) }
        timedSamples += more * x.rowCount
    }
    _ = try model.predict(x.rows(0..<min(x.rowCount, 1024)), batchSize: workload.batch)
    var passes: [Double] = []
    repeat {
        passes.append(try seconds { _ = try model.predict(x, batchSize: workload.batch) })
    } while passes.count < 3 || passes.reduce(0, +) < minimumSeconds
    let predictTime = middle(passes)
    // Allocations: an epoch of 4 steps and one of 12 steps.
    let (ax, ay) = x.rowCount >= 12 * workload.batch ? (x, y) : workload.data(samples: 12 * workload.batch)
    let short = ax.rows(0..<(4 * workload.batch)), long = ax.rows(0..<(12 * workload.batch))
    let shortY = ay.rows(0..<(4 * workload.batch)), longY = ay.rows(0..<(12 * workload.batch))
    try model.fit(x: short, y: shortY, batchSize: workload.batch, epochs: 1, verbose: 0, shuffle: false)
    let a0 = mlp_allocation_count()
    try model.fit(x: short, y: shortY, batchSize: workload.batch, epochs: 1, verbose: 0, shuffle: false)
    let a1 = mlp_allocation_count()
    try model.fit(x: long, y: longY, batchSize: workload.batch, epochs: 1, verbose: 0, shuffle: false)
    let a2 = mlp_allocation_count()
    let perStep = (Double(a2 - a1) - Double(a1 - a0)) / 8
    return TrainResult(samplesPerSecond: Double(timedSamples) / time, predictSamplesPerSecond: Double(x.rowCount) / predictTime,
                       losses: losses, allocationsPerStep: perStep, peakMemoryMiB: peakMemoryMiB())
}

func peakMemoryMiB() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) / 1024
}

/// One GEMM shape on one backend: operands uploaded, and the product checked against the reference loop.
final class GEMMCase {
    let m: Int, n: Int, k: Int, transA: Bool, transB: Bool, backend: any Backend
    let a: DeviceBuffer, b: DeviceBuffer, c: DeviceBuffer
    let maxError: Float

    init(m: Int, n: Int, k: Int, transA: Bool, transB: Bool, backend: any Backend) {
        (self.m, self.n, self.k, self.transA, self.transB, self.backend) = (m, n, k, transA, transB, backend)
        let a = randomValues(m * k, seed: 1), b = randomValues(k * n, seed: 2)
        var reference = [Float](repeating: 0, count: m * n)
        if m * n * k <= 1 << 34 {
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in reference.withUnsafeMutableBufferPointer { cp in
                CPUReference.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: ap.baseAddress!, b: bp.baseAddress!,
                                  beta: 0, c: cp.baseAddress!)
            } } }
        }
        (self.a, self.b, self.c) = (backend.makeBuffer(a), backend.makeBuffer(b), backend.makeBuffer(count: m * n))
        backend.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: self.a, b: self.b, beta: 0, c: self.c)
        maxError = zip(backend.download(self.c), reference).map { abs($0 - $1) }.max() ?? 0
    }

    /// GFLOP/s of one timed block of about 2 GFLOP after 0.1 s of untimed lead-in (as the numpy reference does),
    /// so the pool is awake and the caches warm when timing starts.
    func timedBlock() -> Double {
        let flops = 2.0 * Double(m * n * k)
        let repeats = max(1, Int(2e9 / flops))
        let leadIn = DispatchTime.now().uptimeNanoseconds
        repeat {
            backend.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: a, b: b, beta: 0, c: c)
            backend.synchronize()
        } while DispatchTime.now().uptimeNanoseconds - leadIn < 100_000_000
        let time = seconds {
            for _ in 0..<repeats { backend.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: a, b: b, beta: 0, c: c) }
            backend.synchronize()
        }
        return flops * Double(repeats) / time / 1e9
    }
}

/// One GEMM on a backend: GFLOP/s (median of 5 blocks after a warm-up one) and the error against the reference.
func runGEMM(m: Int, n: Int, k: Int, transA: Bool, transB: Bool, backend: any Backend) -> (gflops: Double, maxError: Float) {
    let gemm = GEMMCase(m: m, n: n, k: k, transA: transA, transB: transB, backend: backend)
    _ = gemm.timedBlock()
    return (middle((0..<5).map { _ in gemm.timedBlock() }), gemm.maxError)
}

/// The median.
func middle(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

/// The GEMM shapes of the suite: square sizes and the Dense products of the mnist workload (batch 128).
let gemmShapes: [(name: String, m: Int, n: Int, k: Int, transA: Bool, transB: Bool)] = [
    ("square 256", 256, 256, 256, false, false), ("square 512", 512, 512, 512, false, false),
    ("square 1024", 1024, 1024, 1024, false, false), ("square 2048", 2048, 2048, 2048, false, false),
    ("mnist fwd NN 128x784·784x512", 128, 512, 784, false, false),
    ("mnist dW TN 784x128·128x512", 784, 512, 128, true, false),
    ("mnist dX NT 128x512·512x784", 128, 784, 512, false, true),
    ("narrow N=10 128x256·256x10", 128, 10, 256, false, false),
]

func value(after flag: String, in arguments: [String]) -> String? {
    arguments.firstIndex(of: flag).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
}

func printJSON(_ object: Any) {
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

func deviceBackend(_ name: String) throws -> any Backend {
    try Device(name: name).makeBackend(work: StepWork(parameters: 1 << 40, batchSize: 1 << 20)).backend
}

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

    func gemm(_ shape: (name: String, m: Int, n: Int, k: Int, transA: Bool, transB: Bool)) -> Double? {
        ask(["gemm": [shape.m, shape.n, shape.k, shape.transA ? 1 : 0, shape.transB ? 1 : 0]])?["gflops"] as? Double
    }

    func train(_ workload: String) -> [String: Any]? { ask(["train": workload]) }

    deinit {
        try? requests.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}

/// The machine's multiply-add peak, GFLOP/s: every thread (`threads`, default the CPU backend's) runs twelve
/// independent `SIMD8` multiply-add chains on registers only (no memory traffic), the fastest of five runs. A
/// GEMM or a training run can approach this bound, not pass it, so it says how far any implementation can get
/// ahead of another on this machine.
func peakGFLOPS(threads: Int = CPUBackend.defaultThreadCount) -> Double {
    let iterations = 20_000_000
    let sink = UnsafeMutablePointer<Float>.allocate(capacity: threads)
    defer { sink.deallocate() }
    var best = 0.0
    for _ in 0..<5 {
        let time = seconds {
            DispatchQueue.concurrentPerform(iterations: threads) { thread in
                let x = SIMD8<Float>(repeating: 0.999_999), y = SIMD8<Float>(repeating: 1e-7)
                var a0 = SIMD8<Float>(repeating: 1), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0
                var a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0
                for _ in 0..<iterations {
                    #if MLPKIT_FMA
                    a0.addProduct(a0, x); a1.addProduct(a1, x); a2.addProduct(a2, x); a3.addProduct(a3, x)
                    a4.addProduct(a4, x); a5.addProduct(a5, x); a6.addProduct(a6, x); a7.addProduct(a7, x)
                    a8.addProduct(a8, x); a9.addProduct(a9, x); a10.addProduct(a10, x); a11.addProduct(a11, x)
                    #else
                    a0 = a0 * x + y; a1 = a1 * x + y; a2 = a2 * x + y; a3 = a3 * x + y; a4 = a4 * x + y; a5 = a5 * x + y
                    a6 = a6 * x + y; a7 = a7 * x + y; a8 = a8 * x + y; a9 = a9 * x + y; a10 = a10 * x + y; a11 = a11 * x + y
                    #endif
                }
                sink[thread] = ((a0 + a1 + a2 + a3) + (a4 + a5 + a6 + a7) + (a8 + a9 + a10 + a11)).sum()
            }
        }
        best = max(best, Double(threads * iterations * 12 * 8 * 2) / time / 1e9)
    }
    return best
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

/// Every optimizer's update on `count` values (the size of a workload's largest kernel), ns per value: the backend's
/// op beside the scalar ``CPUReference`` loop it must match.
func benchOptimizers(count: Int, backend: any Backend) {
    func buffer(_ seed: UInt64, low: Float = -1, high: Float = 1) -> DeviceBuffer {
        backend.makeBuffer(randomValues(count, seed: seed, low: low, high: high))
    }
    // Small steps keep every value in its normal range however often the timing loop repeats the update.
    let w = buffer(1), g = buffer(2, low: -1e-3, high: 1e-3), s1 = buffer(3, low: 0.5, high: 1), s2 = buffer(4, low: 0.5, high: 1)
    let s3 = buffer(5, low: -1e-3, high: 1e-3)
    let schedule = NadamScalars(uT: 0.882, uNext: 0.8835, productT: 0.7793, productNext: 0.6885, beta2Power: 0.997)
    let cases: [(String, () -> Void)] = [
        ("SGD", { backend.sgdUpdate(weights: w, gradients: g, velocity: nil, count: count, learningRate: 1e-9, momentum: 0, nesterov: false) }),
        ("SGD, Nesterov momentum", { backend.sgdUpdate(weights: w, gradients: g, velocity: s3, count: count, learningRate: 1e-9, momentum: 0.9,
                                                       nesterov: true) }),
        ("RMSprop", { backend.rmspropUpdate(weights: w, gradients: g, v: s1, momentumBuffer: nil, average: nil, count: count,
                                            learningRate: 1e-9, rho: 0.9, momentum: 0, epsilon: 1e-7) }),
        ("RMSprop, centered, momentum", { backend.rmspropUpdate(weights: w, gradients: g, v: s1, momentumBuffer: s3, average: s2,
                                                                count: count, learningRate: 1e-9, rho: 0.9, momentum: 0.9, epsilon: 1e-7) }),
        ("Adagrad", { backend.adagradUpdate(weights: w, gradients: g, accumulator: s1, count: count, learningRate: 1e-9, epsilon: 1e-7) }),
        ("Adam", { backend.adamUpdate(weights: w, gradients: g, m: s3, v: s1, vMax: nil, count: count, stepSize: 1e-9, beta1: 0.9,
                                      beta2: 0.999, epsilon: 1e-7) }),
        ("AMSGrad", { backend.adamUpdate(weights: w, gradients: g, m: s3, v: s1, vMax: s2, count: count, stepSize: 1e-9, beta1: 0.9,
                                         beta2: 0.999, epsilon: 1e-7) }),
        ("Nadam", { backend.nadamUpdate(weights: w, gradients: g, m: s3, v: s1, count: count, learningRate: 1e-9, beta1: 0.9, beta2: 0.999,
                                        epsilon: 1e-7, schedule: schedule) })]
    // The reference loops on host copies (CPU backend only: its buffers are host memory).
    let host = backend is CPUBackend
    let hw = randomValues(count, seed: 1), hg = randomValues(count, seed: 2, low: -1e-3, high: 1e-3)
    var h1 = randomValues(count, seed: 3, low: 0.5, high: 1), h2 = randomValues(count, seed: 4, low: 0.5, high: 1)
    var h3 = randomValues(count, seed: 5, low: -1e-3, high: 1e-3), hwv = hw
    let references: [() -> Void] = [
        { CPUReference.sgdUpdate(w: &hwv, g: hg, velocity: nil, count: count, learningRate: 1e-9, momentum: 0, nesterov: false) },
        { CPUReference.sgdUpdate(w: &hwv, g: hg, velocity: &h3, count: count, learningRate: 1e-9, momentum: 0.9, nesterov: true) },
        { CPUReference.rmspropUpdate(w: &hwv, g: hg, v: &h1, momentumBuffer: nil, average: nil, count: count, learningRate: 1e-9,
                                     rho: 0.9, momentum: 0, epsilon: 1e-7) },
        { CPUReference.rmspropUpdate(w: &hwv, g: hg, v: &h1, momentumBuffer: &h3, average: &h2, count: count, learningRate: 1e-9,
                                     rho: 0.9, momentum: 0.9, epsilon: 1e-7) },
        { CPUReference.adagradUpdate(w: &hwv, g: hg, accumulator: &h1, count: count, learningRate: 1e-9, epsilon: 1e-7) },
        { CPUReference.adamUpdate(w: &hwv, g: hg, m: &h3, v: &h1, vMax: nil, count: count, stepSize: 1e-9, beta1: 0.9, beta2: 0.999,
                                  epsilon: 1e-7) },
        { CPUReference.adamUpdate(w: &hwv, g: hg, m: &h3, v: &h1, vMax: &h2, count: count, stepSize: 1e-9, beta1: 0.9, beta2: 0.999,
                                  epsilon: 1e-7) },
        { CPUReference.nadamUpdate(w: &hwv, g: hg, m: &h3, v: &h1, count: count, learningRate: 1e-9, beta1: 0.9, beta2: 0.999,
                                   epsilon: 1e-7, schedule: schedule) }]
    print("Optimizer updates of \(count) values, ns per value" + (host ? " (backend op, and the scalar reference loop it matches)" : ""))
    for (index, (name, body)) in cases.enumerated() {
        let mine = microsecondsPerCall(body) * 1e3 / Double(count)
        if host {
            let reference = microsecondsPerCall(references[index]) * 1e3 / Double(count)
            print(String(format: "  %-28@ %6.3f   reference %6.3f   %5.1f×", name as NSString, mine, reference, reference / mine))
        } else {
            print(String(format: "  %-28@ %6.3f", name as NSString, mine))
        }
    }
}

/// Every activation's bias + activation forward and its backward on a `rows`×`columns` layer (a workload's first
/// hidden layer), ns per value: the backend's op beside the ``CPUReference`` loop.
func benchActivations(rows: Int, columns: Int, backend: any Backend) {
    let count = rows * columns
    let z = backend.makeBuffer(randomValues(count, seed: 1, low: -4, high: 4)), bias = backend.makeBuffer(count: columns)
    let y = backend.makeBuffer(count: count), dy = backend.makeBuffer(randomValues(count, seed: 2)), dz = backend.makeBuffer(count: count)
    let host = backend is CPUBackend
    var hz = randomValues(count, seed: 1, low: -4, high: 4), hy = [Float](repeating: 0, count: count), hdz = hy
    let hbias = [Float](repeating: 0, count: columns), hdy = randomValues(count, seed: 2)
    print("Activations on \(rows)×\(columns), ns per value: bias + activation forward, then backward"
          + (host ? " (backend op, and the reference loop)" : ""))
    for activation in Activation.allCases where activation != .linear {
        let forward = microsecondsPerCall {
            backend.biasActivationForward(preActivation: z, bias: bias, output: y, rows: rows, columns: columns, activation: activation)
        } * 1e3 / Double(count)
        let backward = microsecondsPerCall {
            backend.activationBackward(outputGradient: dy, preActivation: z, output: y, inputGradient: dz, rows: rows, columns: columns,
                                       activation: activation)
        } * 1e3 / Double(count)
        var line = String(format: "  %-12@ forward %6.2f  backward %6.2f", activation.rawValue as NSString, forward, backward)
        if host {
            let referenceForward = microsecondsPerCall {
                CPUReference.biasActivationForward(z: &hz, bias: hbias, y: &hy, rows: rows, columns: columns, activation: activation)
            } * 1e3 / Double(count)
            let referenceBackward = microsecondsPerCall {
                CPUReference.activationBackward(dy: hdy, z: hz, y: hy, dz: &hdz, rows: rows, columns: columns, activation: activation)
            } * 1e3 / Double(count)
            line += String(format: "   reference %6.2f  %6.2f   (%4.1f×, %4.1f×)", referenceForward, referenceBackward,
                           referenceForward / forward, referenceBackward / backward)
        }
        print(line)
    }
}

/// Where a training step's time goes: every backend op of one step of `workload` (forward, loss, backward, Adam)
/// timed alone on its own shapes, repeated until 20 ms have passed, µs per call; beside the measured step time.
/// (An op alone runs with warm caches and no neighbours, so the sum is a lower bound of the step.)
func benchOps(_ workload: Workload, backend: any Backend) throws {
    let widths = [workload.inputs] + workload.hidden + [workload.classes]
    let batch = workload.batch
    func buffer(_ count: Int, seed: UInt64) -> DeviceBuffer { backend.makeBuffer(randomValues(count, seed: seed)) }
    var rows: [(String, Double)] = []
    func time(_ name: String, _ body: () -> Void) { rows.append((name, microsecondsPerCall(body))) }
    for layer in 0..<(widths.count - 1) {
        let m = widths[layer], n = widths[layer + 1]
        let x = buffer(batch * m, seed: 1), w = buffer(m * n, seed: 2), z = buffer(batch * n, seed: 3), y = backend.makeBuffer(count: batch * n)
        let bias = buffer(n, seed: 4), dz = buffer(batch * n, seed: 5), dw = backend.makeBuffer(count: m * n), dx = backend.makeBuffer(count: batch * m)
        let db = backend.makeBuffer(count: n), mState = buffer(m * n, seed: 6), vState = backend.makeBuffer(randomValues(m * n, seed: 7).map { $0 + 0.5 })
        let relu = layer < widths.count - 2
        time("layer \(layer + 1) forward GEMM \(batch)×\(m)·\(m)×\(n)") {
            backend.gemm(transA: false, transB: false, m: batch, n: n, k: m, alpha: 1, a: x, b: w, beta: 0, c: z)
        }
        time("layer \(layer + 1) bias + \(relu ? "relu" : "linear")") {
            backend.biasActivationForward(preActivation: z, bias: bias, output: y, rows: batch, columns: n, activation: relu ? .relu : .linear)
        }
        if relu {
            time("layer \(layer + 1) relu backward") {
                backend.activationBackward(outputGradient: dz, preActivation: z, output: y, inputGradient: dz, rows: batch, columns: n, activation: .relu)
            }
        }
        time("layer \(layer + 1) weight gradient TN \(m)×\(batch)·\(batch)×\(n)") {
            backend.gemm(transA: true, transB: false, m: m, n: n, k: batch, alpha: 1, a: x, b: dz, beta: 0, c: dw)
        }
        time("layer \(layer + 1) bias gradient (column sums)") { backend.columnSums(dz, rows: batch, columns: n, into: db) }
        if layer > 0 {
            time("layer \(layer + 1) input gradient NT \(batch)×\(n)·\(n)×\(m)") {
                backend.gemm(transA: false, transB: true, m: batch, n: m, k: n, alpha: 1, a: dz, b: w, beta: 0, c: dx)
            }
        }
        time("layer \(layer + 1) Adam, \(m * n) weights") {
            backend.adamUpdate(weights: w, gradients: dw, m: mState, v: vState, vMax: nil, count: m * n, stepSize: 1e-9, beta1: 0.9,
                               beta2: 0.999, epsilon: 1e-7)
        }
        time("layer \(layer + 1) Adam, \(n) biases") {
            backend.adamUpdate(weights: bias, gradients: db, m: mState, v: vState, vMax: nil, count: n, stepSize: 1e-9, beta1: 0.9,
                               beta2: 0.999, epsilon: 1e-7)
        }
    }
    let classes = workload.classes
    let logits = buffer(batch * classes, seed: 8), gradient = backend.makeBuffer(count: batch * classes)
    let labels = backend.makeBuffer((0..<batch).map { Float($0 % classes) }), accumulator = backend.makeBuffer(count: 1)
    time("loss and gradient, \(batch)×\(classes) logits") {
        backend.lossForwardBackward(.sparseCategoricalCrossentropy(fromLogits: true), predictions: logits, targets: labels, sampleWeights: nil,
                                    rows: batch, columns: classes, gradient: gradient, gradientScale: 1 / Float(batch),
                                    accumulator: accumulator, accumulatorIndex: 0)
    }
    let step = Double(batch) / (try runWorkload(workload, backend: backend, timedEpochs: 4).samplesPerSecond) * 1e6
    let total = rows.map(\.1).reduce(0, +)
    print("Backend ops of one \(workload.name) training step, each timed alone (µs per call)")
    for (name, micros) in rows { print(String(format: "  %-48@ %7.3f  %5.1f%%", name as NSString, micros, 100 * micros / step)) }
    print(String(format: "  %-48@ %7.3f  %5.1f%%", "sum" as NSString, total, 100 * total / step))
    print(String(format: "  %-48@ %7.3f", "measured training step" as NSString, step))
    benchOptimizers(count: zip(widths, widths.dropFirst()).map { $0 * $1 }.max()!, backend: backend)
    benchActivations(rows: batch, columns: widths[1], backend: backend)
}

/// Paired rounds per GEMM shape in `--compare` (MLPKit block, numpy block, …; the first pair is a warm-up).
let comparisonRounds = 7
/// Paired rounds per workload in `--compare` (MLPKit run, tf.keras run, …).
let workloadRounds = 3

func runSuite(device: (any Backend)?, compare: Bool, jsonOut: String?) throws {
    var results: [String: Any] = [:]
    let reference = compare ? ReferenceServer() : nil
    let cpu = CPUBackend()
    let firstPeak = peakGFLOPS(threads: cpu.threadCount)
    print("GEMM, GFLOP/s (checked against the reference loop first; max |error| in the last column)"
          + (reference == nil ? "" : "; numpy timed in \(comparisonRounds - 1) rounds alternating with MLPKit, ratio = median of the rounds' ratios"))
    var gemmRows: [[String: Any]] = []
    for shape in gemmShapes {
        let gemm = GEMMCase(m: shape.m, n: shape.n, k: shape.k, transA: shape.transA, transB: shape.transB, backend: cpu)
        var mine: [Double] = [], theirs: [Double] = []
        for round in 0..<(reference == nil ? 6 : comparisonRounds) {
            let block = gemm.timedBlock()
            let numpy = reference?.gemm(shape)
            if round > 0 {
                mine.append(block)
                if let numpy { theirs.append(numpy) }
            }
        }
        var row: [String: Any] = ["shape": shape.name, "cpu_gflops": middle(mine), "max_abs_error": Double(gemm.maxError)]
        var line = String(format: "  %-32@ CPU %7.1f", shape.name as NSString, middle(mine))
        if let device {
            let onDevice = runGEMM(m: shape.m, n: shape.n, k: shape.k, transA: shape.transA, transB: shape.transB, backend: device)
            row["device_gflops"] = onDevice.gflops
            line += String(format: "   device %8.1f", onDevice.gflops)
        }
        if theirs.count == mine.count {
            let ratios = zip(mine, theirs).map { $0 / $1 }
            row["numpy_gflops"] = middle(theirs)
            row["cpu_over_numpy"] = middle(ratios)
            row["cpu_over_numpy_rounds"] = ratios
            line += String(format: "   numpy %7.1f   CPU/numpy %5.2f× (rounds %.2f–%.2f)", middle(theirs), middle(ratios),
                           ratios.min()!, ratios.max()!)
        }
        print(line + String(format: "   err %.1e", Double(gemm.maxError)))
        gemmRows.append(row)
    }
    results["gemm"] = gemmRows
    // Measured twice, a minute apart, keeping the larger: a neighbour's burst can halve one measurement.
    let peak = max(firstPeak, peakGFLOPS(threads: cpu.threadCount))
    results["peak_gflops"] = peak
    print(String(format: "Multiply-add peak of this machine (%d threads, registers only, the larger of two measurements): %.1f GFLOP/s",
                 cpu.threadCount, peak))
    print("Training and prediction, samples/s (steady state, after a warm-up epoch)")
    var trainRows: [String: Any] = [:]
    var rooflines: [String] = []
    for name in ["seed", "mnist", "wide"] {
        let workload = Workload.all[name]!
        // With tf.keras beside it: paired rounds (MLPKit, then tf.keras on its kept model), the ratio the median
        // of the rounds' ratios, as for the GEMM shapes.
        var rounds: [(mine: TrainResult, keras: [String: Any]?)] = []
        for _ in 0..<(reference == nil ? 1 : workloadRounds) {
            let mine = try runWorkload(workload, backend: cpu)
            rounds.append((mine, reference?.train(name)))
        }
        let mine = rounds[0].mine
        let train = middle(rounds.map(\.mine.samplesPerSecond)), predict = middle(rounds.map(\.mine.predictSamplesPerSecond))
        var row = mine.json
        row["samples_per_second"] = train
        row["predict_samples_per_second"] = predict
        var line = String(format: "  %-6@ CPU train %9.0f  predict %9.0f  loss %.3f→%.3f  allocations/step %.1f  peak %.0f MiB", name as NSString,
                          train, predict, Double(mine.losses.first!), Double(mine.losses.last!),
                          rounds.map(\.mine.allocationsPerStep).max()!, mine.peakMemoryMiB)
        if let device {
            let theirs = try runWorkload(workload, backend: device)
            row["device"] = theirs.json
            line += String(format: "  | device train %9.0f  predict %9.0f", theirs.samplesPerSecond, theirs.predictSamplesPerSecond)
        }
        let keras = rounds.compactMap { round -> (mine: TrainResult, train: Double, predict: Double, answer: [String: Any])? in
            guard let answer = round.keras, let train = answer["samples_per_second"] as? Double,
                  let predict = answer["predict_samples_per_second"] as? Double else { return nil }
            return (round.mine, train, predict, answer)
        }
        if keras.count == rounds.count, let first = keras.first {
            let kerasTrain = middle(keras.map(\.train)), kerasPredict = middle(keras.map(\.predict))
            let trainRatios = keras.map { $0.mine.samplesPerSecond / $0.train }
            let predictRatios = keras.map { $0.mine.predictSamplesPerSecond / $0.predict }
            var answer = first.answer
            answer["samples_per_second"] = kerasTrain
            answer["predict_samples_per_second"] = kerasPredict
            answer["rounds"] = keras.map { ["samples_per_second": $0.train, "predict_samples_per_second": $0.predict] }
            row["keras"] = answer
            row["rounds"] = rounds.map { ["samples_per_second": $0.mine.samplesPerSecond, "predict_samples_per_second": $0.mine.predictSamplesPerSecond] }
            row["train_over_keras"] = middle(trainRatios)
            row["train_over_keras_rounds"] = trainRatios
            row["predict_over_keras"] = middle(predictRatios)
            row["predict_over_keras_rounds"] = predictRatios
            let kerasLosses = first.answer["epoch_losses"] as? [Double] ?? []
            line += String(format: "  | tf.keras train %8.0f predict %8.0f loss %.3f→%.3f → %.1f× (rounds %.1f–%.1f) / %.1f× (%.1f–%.1f)",
                           kerasTrain, kerasPredict, kerasLosses.first ?? .nan, kerasLosses.last ?? .nan,
                           middle(trainRatios), trainRatios.min()!, trainRatios.max()!,
                           middle(predictRatios), predictRatios.min()!, predictRatios.max()!)
            // How far ahead anyone could be: the GEMM arithmetic of both runs as a share of the peak.
            let flops = workload.trainingFlopsPerSample, predictFlops = workload.predictionFlopsPerSample
            let ours = train * flops / 1e9, theirs = kerasTrain * flops / 1e9
            let oursPredict = predict * predictFlops / 1e9, theirsPredict = kerasPredict * predictFlops / 1e9
            row["train_gflops"] = ours
            row["keras_train_gflops"] = theirs
            row["predict_gflops"] = oursPredict
            row["keras_predict_gflops"] = theirsPredict
            rooflines.append(String(format: "  %-6@ training: MLPKit %6.1f GFLOP/s (%4.1f%% of peak), tf.keras %6.1f (%4.1f%%), at most %.1f× "
                                    + "possible; prediction: %6.1f (%4.1f%%), %6.1f (%4.1f%%), at most %.1f×", name as NSString,
                                    ours, 100 * ours / peak, theirs, 100 * theirs / peak, peak / theirs,
                                    oursPredict, 100 * oursPredict / peak, theirsPredict, 100 * theirsPredict / peak, peak / theirsPredict))
        }
        print(line)
        trainRows[name] = row
    }
    results["train"] = trainRows
    if !rooflines.isEmpty {
        print("GEMM arithmetic against the peak (training \(Int(Workload.all["wide"]!.trainingFlopsPerSample / 1e6)), prediction "
              + "\(Int(Workload.all["wide"]!.predictionFlopsPerSample / 1e6)) MFLOP per wide sample); \"at most\": peak / tf.keras' rate, "
              + "the most any implementation could be ahead of that tf.keras run")
        rooflines.forEach { print($0) }
    }
    results["monitor"] = try benchMonitor(backend: cpu)
    if let device { results["crossover"] = try runCrossover(device: device) }
    if let jsonOut {
        let data = try JSONSerialization.data(withJSONObject: results, options: [.sortedKeys, .prettyPrinted])
        try data.write(to: URL(fileURLWithPath: jsonOut))
        print("Wrote \(jsonOut)")
    }
}

extension DeviceCostModel.Line {
    var json: [String: Double] {
        ["seconds_per_step": secondsPerStep, "seconds_per_flop": secondsPerFlop, "seconds_per_parameter": secondsPerParameter]
    }
}

/// GradientMonitor's cost: epochs of `workload` timed alternately without and with a monitor (every 10 steps, the
/// default), five pairs after a warm-up epoch; the overhead is the median of the pairs' time ratios minus 1.
func monitorOverhead(_ workload: Workload, backend: any Backend) throws -> (overhead: Double, ratios: [Double]) {
    let (x, y) = workload.data(samples: nil)
    let model = try workload.model(backend: backend)
    model.output = { _ in }
    try model.fit(x: x, y: y, batchSize: workload.batch, epochs: 1, verbose: 0, shuffle: false)
    var ratios: [Double] = []
    for _ in 0..<5 {
        let plain = try seconds { try model.fit(x: x, y: y, batchSize: workload.batch, epochs: 1, verbose: 0, shuffle: false) }
        let monitored = try seconds {
            try model.fit(x: x, y: y, batchSize: workload.batch, epochs: 1, verbose: 0, shuffle: false, callbacks: [GradientMonitor()])
        }
        ratios.append(monitored / plain)
    }
    return (middle(ratios) - 1, ratios)
}

func benchMonitor(backend: any Backend) throws -> [String: Any] {
    print("GradientMonitor(every: 10) overhead per training epoch (median of 5 alternating pairs)")
    var rows: [String: Any] = [:]
    for name in ["seed", "mnist"] {
        let result = try monitorOverhead(Workload.all[name]!, backend: backend)
        print(String(format: "  %-6@ %+.1f%%  (pairs %@)", name as NSString, result.overhead * 100,
                     result.ratios.map { String(format: "%.3f", $0) }.joined(separator: " ") as NSString))
        rows[name] = ["overhead": result.overhead, "ratios": result.ratios]
    }
    return rows
}

/// The CPU-vs-device crossover sweep (width × batch; 784 inputs, two hidden layers of `width`, 10 classes):
/// training steps timed on the CPU backend and on `device`, a ``DeviceCostModel/Line`` fitted per backend, and
/// the model written to ``DeviceCostModel/defaultURL`` for `--device auto` (merged with what is there).
func runCrossover(device: (any Backend)?) throws -> [String: Any] {
    // (The sweep's rows, filled below, are read again once the lines are fitted.)
    print("CPU vs device crossover (training samples/s; width × batch, 2 hidden layers of `width`, 784 inputs)")
    let cpu = CPUBackend.shared
    var sweep: [[String: Any]] = []
    var cpuPoints: [(work: StepWork, seconds: Double)] = [], devicePoints: [(work: StepWork, seconds: Double)] = []
    for width in [64, 256, 1024] {
        for batch in [32, 256] {
            let workload = Workload(name: "sweep", inputs: 784, hidden: [width, width], classes: 10, batch: batch, samples: batch * 16)
            let work = StepWork(parameters: 784 * width + width + width * width + width + width * 10 + 10, batchSize: batch)
            let flops = work.flops
            let onCPU = try runWorkload(workload, backend: cpu)
            cpuPoints.append((work, Double(batch) / onCPU.samplesPerSecond))
            var row: [String: Any] = ["width": width, "batch": batch, "mflop_per_step": flops / 1e6, "cpu": onCPU.samplesPerSecond]
            var line = String(format: "  width %5d batch %4d: %7.1f MFLOP/step  CPU %9.0f", width, batch, flops / 1e6, onCPU.samplesPerSecond)
            if let device {
                let onDevice = try runWorkload(workload, backend: device)
                devicePoints.append((work, Double(batch) / onDevice.samplesPerSecond))
                row["device"] = onDevice.samplesPerSecond
                line += String(format: "  device %9.0f  (%@ faster)", onDevice.samplesPerSecond,
                               (onDevice.samplesPerSecond > onCPU.samplesPerSecond ? "device" : "CPU") as NSString)
            }
            print(line)
            sweep.append(row)
        }
    }
    let url = DeviceCostModel.defaultURL
    var model = (try? DeviceCostModel.load(from: url)) ?? DeviceCostModel()
    var fitted: [String: Any] = [:]
    if let line = DeviceCostModel.Line.fit(cpuPoints) {
        model.cpu = line
        model.cpuThreads = cpu.threadCount
        fitted["cpu"] = line.json
        print("  CPU backend: " + line.formula)
    }
    if let device, let openCL = device as? OpenCLBackend, let line = DeviceCostModel.Line.fit(devicePoints) {
        let name = openCL.device.name
        fitted[name] = line.json
        print("  \(name): " + line.formula)
        if openCL.device.kind == .gpu {
            model.devices[name] = line
            // Where `auto` switches, for this sweep's shape of model.
            for row in sweep.indices {
                let work = cpuPoints[row].work
                sweep[row]["auto"] = model.choice(work, gpuName: name, cpuThreads: cpu.threadCount).useGPU ? "device" : "cpu"
            }
            print("  auto picks per point: " + sweep.map { "\($0["width"]!)×\($0["batch"]!) → \($0["auto"]!)" }.joined(separator: ", "))
        } else {
            print("  (not a GPU: `auto` only ever weighs GPUs against the CPU backend, so it is not stored)")
        }
    }
    model.measured = "measured " + ISO8601DateFormatter().string(from: Date())
    try model.save(to: url)
    print("  cost model written to \(url.path) (read by --device auto)")
    return ["sweep": sweep, "fitted": fitted, "cost_model": url.path]
}

var arguments = Array(CommandLine.arguments.dropFirst())
let deviceName = value(after: "--device", in: arguments)
let wantsJSON = arguments.contains("--json")
do {
    switch arguments.first {
    case "train" where arguments.contains("--workload"):
        guard let name = value(after: "--workload", in: arguments), var workload = Workload.all[name] else {
            throw MLPError.unknownName(kind: "workload", received: value(after: "--workload", in: arguments) ?? "", valid: ["seed", "mnist", "wide"])
        }
        // --optimizer NAME: a Keras optimizer name with its defaults, instead of Adam.
        if let optimizer = value(after: "--optimizer", in: arguments) { workload.optimizer = try OptimizerName(keras: optimizer) }
        // --epochs N: more timed epochs (default 2), e.g. for a profiler.
        let epochs = value(after: "--epochs", in: arguments).flatMap(Int.init) ?? 2
        guard epochs > 0 else { throw MLPError.invalidArgument("--epochs needs a positive count") }
        let result = try runWorkload(workload, backend: try deviceBackend(deviceName ?? "cpu"), timedEpochs: epochs)
        if wantsJSON { printJSON(result.json) } else { print(result.json) }
        exit(0)
    case "gemm" where arguments.contains("--m"):
        guard let m = value(after: "--m", in: arguments).flatMap(Int.init), let n = value(after: "--n", in: arguments).flatMap(Int.init),
              let k = value(after: "--k", in: arguments).flatMap(Int.init), m > 0, n > 0, k > 0 else {
            throw MLPError.invalidArgument("gemm needs --m M --n N --k K (positive)")
        }
        let result = runGEMM(m: m, n: n, k: k, transA: arguments.contains("--trans-a"), transB: arguments.contains("--trans-b"),
                             backend: try deviceBackend(deviceName ?? "cpu"))
        let object: [String: Any] = ["gflops": result.gflops, "max_abs_error": Double(result.maxError), "m": m, "n": n, "k": k]
        if wantsJSON { printJSON(object) } else { print(object) }
        // A wrong product fails the command (CI runs it on the FMA build, which the tests' debug build is not).
        if !(result.maxError <= Float(k) * 1e-5) {
            FileHandle.standardError.write(Data("gemm: max |error| \(result.maxError) against the reference loop exceeds \(Float(k) * 1e-5)\n".utf8))
            exit(1)
        }
        exit(0)
    default:
        break
    }
    if let index = arguments.firstIndex(of: "--device"), index + 1 < arguments.count { arguments.removeSubrange(index...(index + 1)) }
    let quick = arguments.contains("--quick")
    arguments.removeAll { $0 == "--quick" }
    let compare = arguments.contains("--compare")
    let jsonOut = value(after: "--json-out", in: arguments)
    let groups = Set(arguments.filter { !$0.hasPrefix("--") && $0 != jsonOut && $0 != value(after: "--workload", in: arguments) })
    let device = try deviceName.map(deviceBackend)
    if let device { print("Device: \(device.deviceDescription)") }
    if groups.isEmpty {
        try runSuite(device: device, compare: compare, jsonOut: jsonOut)
        exit(0)
    }
    var ok = true
    if groups.contains("parity") {
        guard let device else { throw MLPError.invalidArgument("parity needs --device (gpu or opencl:P:D)") }
        ok = try runParity(device: device)
    }
    if groups.contains("gemm") { benchGEMM(device: device) }
    if groups.contains("train") { try benchTraining(device: device, quick: quick) }
    if groups.contains("data") { try benchData() }
    if groups.contains("crossover") { _ = try runCrossover(device: device) }
    if groups.contains("ops") {
        let name = value(after: "--workload", in: arguments) ?? "seed"
        guard let workload = Workload.all[name] else {
            throw MLPError.unknownName(kind: "workload", received: name, valid: ["seed", "mnist", "wide"])
        }
        try benchOps(workload, backend: device ?? CPUBackend.shared)
    }
    if groups.contains("peak") { print(String(format: "Multiply-add peak (%d threads, registers only): %.1f GFLOP/s", CPUBackend.defaultThreadCount, peakGFLOPS())) }
    if groups.contains("monitor") { _ = try benchMonitor(backend: device ?? CPUBackend.shared) }
    exit(ok ? 0 : 1)
} catch {
    FileHandle.standardError.write("error: \(error)\n".data(using: .utf8)!)
    exit(1)
}
