import ArgumentParser
import Foundation
import MLPKit

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

/// `mlp-bench ops [--workload W] [--device D]`.
struct OpsCommand: DeviceCommand {
    static let configuration = CommandConfiguration(
        commandName: "ops",
        abstract: "Every backend op of one training step of a workload (default seed), µs each, beside the measured step; "
            + "then every optimizer update and every activation beside its reference loop.")

    @OptionGroup var workloadOptions: WorkloadOptions
    @OptionGroup var device: DeviceOptions
    @Option(help: "CPU backend threads (default: all processors); 1 times each kernel alone on the caller's core, without the pool.")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("ops needs --threads of at least 1 (received \(threads))") }
        if threads != nil, device.device != nil { throw ValidationError("ops takes --threads for the CPU backend only, not with --device") }
    }

    func run(on backend: (any Backend)?) throws {
        try benchOps(Workload.named(workloadOptions.workload ?? .seed),
                     backend: backend ?? threads.map { CPUBackend(threadCount: $0) } ?? CPUBackend.shared)
    }
}
