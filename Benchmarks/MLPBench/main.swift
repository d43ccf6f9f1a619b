// MLPBench: speed figures for MLPKit, each measured side by side with its reference in one run.
//
//   swift run -c release MLPBench            # all benchmarks
//   swift run -c release MLPBench gemm       # one group: gemm | train
//
// Every benchmark checks its result against the reference before timing it.
import Foundation
import MLPKit

func seconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// Median of `repeats` timings of `body`, after one warm-up call.
func median(repeats: Int, _ body: () -> Void) -> Double {
    body()
    let times = (0..<repeats).map { _ in seconds(body) }.sorted()
    return times[times.count / 2]
}

func benchGEMM() {
    print("GEMM C = A·B (Float32): optimised CPU kernel vs the reference triple loop")
    print("  shape (m×k · k×n)        reference GFLOP/s   optimised 1 thread   optimised \(CPUBackend.defaultThreadCount) threads   speed-up")
    for (m, n, k) in [(32, 64, 64), (32, 256, 256), (256, 256, 256), (512, 512, 512)] {
        var random = PhiloxRandom(seed: 1)
        let a = (0..<(m * k)).map { _ in random.nextUniform() - 0.5 }
        let b = (0..<(k * n)).map { _ in random.nextUniform() - 0.5 }
        var reference = [Float](repeating: 0, count: m * n)
        let flops = 2.0 * Double(m * n * k)
        let referenceTime = median(repeats: 3) {
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in reference.withUnsafeMutableBufferPointer { cp in
                CPUReference.gemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: ap.baseAddress!,
                                  b: bp.baseAddress!, beta: 0, c: cp.baseAddress!)
            } } }
        }
        var rates: [Double] = []
        for threads in [1, CPUBackend.defaultThreadCount] {
            let backend = CPUBackend(threadCount: threads)
            let (ab, bb, cb) = (backend.makeBuffer(a), backend.makeBuffer(b), backend.makeBuffer(count: m * n))
            backend.gemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: ab, b: bb, beta: 0, c: cb)
            let worst = zip(backend.download(cb), reference).map { abs($0 - $1) }.max() ?? 0
            precondition(worst < 1e-3, "optimised GEMM disagrees with the reference by \(worst)")
            let time = median(repeats: 5) {
                backend.gemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: ab, b: bb, beta: 0, c: cb)
            }
            rates.append(flops / time / 1e9)
        }
        let referenceRate = flops / referenceTime / 1e9
        print(String(format: "  %4d×%-4d · %4d×%-4d   %17.2f   %18.2f   %18.2f   %7.1f×",
                     m, k, k, n, referenceRate, rates[0], rates[1], rates[1] / referenceRate))
    }
}

func benchTraining() {
    print("Training on the embedded digits (1438 samples, 64→64 relu→32 relu→10 softmax, Adam, batch 32)")
    let digits = Datasets.digits()
    let split = Datasets.trainTestSplit(x: digits.x, y: digits.y, testFraction: 0.2, seed: 0)
    for threads in [1, CPUBackend.defaultThreadCount] {
        let model = Sequential(inputDim: 64, [Dense(64, activation: .relu), Dense(32, activation: .relu),
                                              Dense(10, activation: .softmax)], seed: 1, backend: CPUBackend(threadCount: threads))
        try! model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(fromLogits: false), metrics: [.accuracy])
        let epochs = 10
        let time = seconds { _ = try! model.fit(x: split.train.x, y: split.train.y, batchSize: 32, epochs: epochs, verbose: 0) }
        let accuracy = try! model.evaluate(x: split.test.x, y: split.test.y)[1].1
        print(String(format: "  %d thread(s): %8.0f samples/s (%d epochs in %.3f s), test accuracy %.4f",
                     threads, Double(epochs * split.train.x.rowCount) / time, epochs, time, accuracy))
    }
}

let groups = CommandLine.arguments.dropFirst()
if groups.isEmpty || groups.contains("gemm") { benchGEMM() }
if groups.isEmpty || groups.contains("train") { benchTraining() }
