// MLPBench: speed figures for MLPKit, each measured side by side with its reference in one run, and the
// backend parity suite.
//
//   swift run -c release MLPBench                       # gemm and train on the CPU backend
//   swift run -c release MLPBench gemm train --device gpu   # the same, plus the OpenCL device beside the CPU
//   swift run -c release MLPBench parity --device gpu   # every op and a training run, device vs CPU
//   swift run -c release MLPBench data                  # CSV parse MB/s, prefetch vs in-memory step time
//   … --quick                                           # large training workloads cut to a few batches
//
// Every benchmark checks its result against the reference before timing it.
import Foundation
import MLPKit

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
func benchTraining(device: (any Backend)?) throws {
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

var arguments = Array(CommandLine.arguments.dropFirst())
var deviceName: String?
if let index = arguments.firstIndex(of: "--device"), index + 1 < arguments.count {
    deviceName = arguments[index + 1]
    arguments.removeSubrange(index...(index + 1))
}
let quick = arguments.contains("--quick")
arguments.removeAll { $0 == "--quick" }
let groups = Set(arguments)
do {
    let device = try deviceName.map { try Device(name: $0).makeBackend(flopsPerStep: .infinity).backend }
    if let device { print("Device: \(device.deviceDescription)") }
    var ok = true
    if groups.contains("parity") {
        guard let device else { throw MLPError.invalidArgument("parity needs --device (gpu or opencl:P:D)") }
        ok = try runParity(device: device)
    }
    if groups.isEmpty || groups.contains("gemm") { benchGEMM(device: device) }
    if groups.isEmpty || groups.contains("train") { try benchTraining(device: device) }
    if groups.isEmpty || groups.contains("data") { try benchData() }
    exit(ok ? 0 : 1)
} catch {
    FileHandle.standardError.write("error: \(error)\n".data(using: .utf8)!)
    exit(1)
}
