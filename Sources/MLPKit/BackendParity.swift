import Foundation
import MLPCore
import MLPTraining

/// The parity suite: every ``Backend`` op, and whole training runs, on a candidate backend against a
/// reference (the CPU backend), on seeded random inputs.
///
/// The OpenCL tests run it on PoCL in CI; `MLPBench parity` runs it on a real GPU (Scripts/gpu-check.sh).
/// A check passes when max |candidate − reference| ≤ tolerance · max(1, max |reference|).
public enum BackendParity {
    /// One comparison's outcome.
    public struct Check: CustomStringConvertible, Sendable {
        public let name: String
        public let maxDifference: Float
        /// The allowed difference, already scaled by the reference's magnitude.
        public let allowed: Float
        /// The first reference and candidate values, for failure messages.
        public let firstReference: [Float]
        public let firstCandidate: [Float]

        public var passed: Bool { maxDifference <= allowed }

        public var description: String {
            String(format: "%@ %@: max |diff| %.3g (allowed %.3g)", passed ? "ok  " : "FAIL", name, Double(maxDifference), Double(allowed))
                + (passed ? "" : "\n       reference \(firstReference)\n       candidate \(firstCandidate)")
        }
    }

    static func values(_ count: Int, seed: UInt64, low: Float = -1, high: Float = 1) -> [Float] {
        var random = PhiloxRandom(seed: seed, stream: 99)
        return (0..<count).map { _ in low + (high - low) * random.nextUniform() }
    }

    static func compare(_ name: String, _ reference: [Float], _ candidate: [Float], tolerance: Float) -> Check {
        let magnitude = max(1, reference.filter(\.isFinite).map(abs).max() ?? 1)
        var worst: Float = 0
        for (a, b) in zip(reference, candidate) {
            let difference = abs(a - b)
            if difference.isNaN || a.isNaN != b.isNaN { worst = .infinity } else { worst = max(worst, difference) }
        }
        if reference.count != candidate.count { worst = .infinity }
        return Check(name: name, maxDifference: worst, allowed: tolerance * magnitude,
                     firstReference: Array(reference.prefix(4)), firstCandidate: Array(candidate.prefix(4)))
    }

    /// Runs `op` on both backends with the same `inputs` and compares the `outputs` buffers.
    static func check(_ name: String, reference: any Backend, candidate: any Backend, inputs: [[Float]], outputs: [Int],
                      tolerance: Float = 1e-5, _ op: (any Backend, [DeviceBuffer]) -> Void) throws -> [Check] {
        var results: [[[Float]]] = []
        for backend in [reference, candidate] {
            let buffers = inputs.map { backend.makeBuffer($0) }
            op(backend, buffers)
            results.append(outputs.map { backend.download(buffers[$0]) })
            try backend.checkError()
        }
        return zip(results[0], results[1]).enumerated().map { index, pair in
            compare(outputs.count > 1 ? "\(name) [output \(index)]" : name, pair.0, pair.1, tolerance: tolerance)
        }
    }

    /// Every op on seeded random inputs.
    public static func ops(reference: any Backend, candidate: any Backend) throws -> [Check] {
        var checks: [Check] = []
        for (m, n, k) in [(1, 1, 1), (3, 5, 7), (33, 17, 9), (64, 70, 31), (100, 10, 64), (256, 256, 256)] {
            for transA in [false, true] {
                for transB in [false, true] {
                    checks += try check("gemm \(m)x\(n)x\(k) tA=\(transA) tB=\(transB)", reference: reference, candidate: candidate,
                                        inputs: [values(m * k, seed: 1), values(k * n, seed: 2), values(m * n, seed: 3)], outputs: [2]) { b, x in
                        b.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: x[0], b: x[1], beta: 1, c: x[2])
                    }
                }
            }
        }
        checks += try check("gemm k=0 (C = beta*C)", reference: reference, candidate: candidate,
                            inputs: [[0], [0], values(6, seed: 4)], outputs: [2]) { b, x in
            b.gemm(transA: false, transB: false, m: 2, n: 3, k: 0, alpha: 1, a: x[0], b: x[1], beta: 0.5, c: x[2])
        }
        // 13 columns: a whole vector and an overlapping tail on the CPU backend's vectorised activations.
        let rows = 7, columns = 13
        let cpu = CPUBackend(threadCount: 1)
        for activation in Activation.allCases {
            for withBias in [true, false] {
                checks += try check("forward \(activation.rawValue) bias=\(withBias)", reference: reference, candidate: candidate,
                                    inputs: [values(rows * columns, seed: 5, low: -3, high: 3), values(columns, seed: 6),
                                             [Float](repeating: 0, count: rows * columns)], outputs: [0, 2]) { b, x in
                    b.biasActivationForward(preActivation: x[0], bias: withBias ? x[1] : nil, output: x[2], rows: rows,
                                            columns: columns, activation: activation)
                }
            }
            let z = values(rows * columns, seed: 7, low: -3, high: 3)
            let y = cpu.makeBuffer(count: z.count)
            cpu.biasActivationForward(preActivation: cpu.makeBuffer(z), bias: nil, output: y, rows: rows, columns: columns,
                                      activation: activation)
            checks += try check("backward \(activation.rawValue)", reference: reference, candidate: candidate,
                                inputs: [values(rows * columns, seed: 8), z, cpu.download(y), [Float](repeating: 0, count: z.count)],
                                outputs: [3]) { b, x in
                b.activationBackward(outputGradient: x[0], preActivation: x[1], output: x[2], inputGradient: x[3], rows: rows,
                                     columns: columns, activation: activation)
            }
        }
        checks += try check("column sums", reference: reference, candidate: candidate,
                            inputs: [values(37 * 11, seed: 9), [Float](repeating: 0, count: 11)], outputs: [1]) { b, x in
            b.columnSums(x[0], rows: 37, columns: 11, into: x[1])
        }
        checks += try lossesAndMetrics(reference: reference, candidate: candidate)
        checks += try optimizers(reference: reference, candidate: candidate)
        checks += try layers(reference: reference, candidate: candidate)
        return checks
    }

    static func lossesAndMetrics(reference: any Backend, candidate: any Backend) throws -> [Check] {
        let rows = 19, columns = 4
        var probabilities = values(rows * columns, seed: 11, low: 0.01, high: 1)
        for r in 0..<rows {
            let sum = probabilities[(r * columns)..<((r + 1) * columns)].reduce(0, +)
            for j in 0..<columns { probabilities[r * columns + j] /= sum }
        }
        let logits = values(rows * columns, seed: 12, low: -4, high: 4)
        let labels = (0..<rows).map { Float(($0 * 7) % columns) }
        var oneHot = [Float](repeating: 0, count: rows * columns)
        for r in 0..<rows { oneHot[r * columns + Int(labels[r])] = 1 }
        let bits = values(rows * columns, seed: 13, low: 0, high: 1).map { $0 > 0.5 ? Float(1) : 0 }
        let losses: [(LossKind, [Float], [Float])] = [
            (.meanSquaredError, logits, values(rows * columns, seed: 14)),
            (.meanAbsoluteError, logits, values(rows * columns, seed: 15)),
            (.binaryCrossentropy(fromLogits: false), values(rows * columns, seed: 16, low: 0, high: 1), bits),
            (.binaryCrossentropy(fromLogits: true), logits, bits),
            (.categoricalCrossentropy(fromLogits: false), probabilities, oneHot),
            (.categoricalCrossentropy(fromLogits: true), logits, oneHot),
            (.sparseCategoricalCrossentropy(fromLogits: false), probabilities, labels),
            (.sparseCategoricalCrossentropy(fromLogits: true), logits, labels),
        ]
        var checks: [Check] = []
        for (loss, predictions, targets) in losses {
            checks += try check("loss \(loss.kerasName) logits=\(loss.isFromLogits)", reference: reference, candidate: candidate,
                                inputs: [predictions, targets, [Float](repeating: 0, count: predictions.count), [0.5, 0]],
                                outputs: [2, 3]) { b, x in
                b.lossForwardBackward(loss, predictions: x[0], targets: x[1], rows: rows, columns: columns, gradient: x[2],
                                      gradientScale: 1 / Float(rows), accumulator: x[3], accumulatorIndex: 0)
                b.lossForwardBackward(loss, predictions: x[0], targets: x[1], rows: rows - 3, columns: columns, gradient: nil,
                                      gradientScale: 0, accumulator: x[3], accumulatorIndex: 1)
            }
        }
        let weights = values(rows, seed: 18, low: 0, high: 3)
        for (loss, predictions, targets) in losses {
            checks += try check("weighted loss \(loss.kerasName) logits=\(loss.isFromLogits)", reference: reference, candidate: candidate,
                                inputs: [predictions, targets, [Float](repeating: 0, count: predictions.count), [0], weights],
                                outputs: [2, 3]) { b, x in
                b.lossForwardBackward(loss, predictions: x[0], targets: x[1], sampleWeights: x[4], rows: rows, columns: columns,
                                      gradient: x[2], gradientScale: 1 / Float(rows), accumulator: x[3], accumulatorIndex: 0)
            }
        }
        for (k, sparse, targets) in [(1, true, labels), (2, true, labels), (3, false, oneHot)] {
            checks += try check("top-\(k) accuracy sparse=\(sparse)", reference: reference, candidate: candidate,
                                inputs: [probabilities, targets, [0, 0]], outputs: [2]) { b, x in
                b.topKAccuracyCount(predictions: x[0], targets: x[1], rows: rows, columns: columns, k: k, sparse: sparse,
                                    accumulator: x[2], index: 1)
            }
        }
        let thresholds = (0..<20).map { Float($0) / 19 }
        checks += try check("confusion counts (20 thresholds)", reference: reference, candidate: candidate,
                            inputs: [values(rows * columns, seed: 19, low: 0, high: 1), bits, thresholds,
                                     [Float](repeating: 0, count: 82)], outputs: [3]) { b, x in
            b.confusionCounts(predictions: x[0], targets: x[1], count: rows * columns, thresholds: x[2], thresholdCount: 20,
                              accumulator: x[3], index: 2)
        }
        let metrics: [(AccuracyKind, [Float], [Float])] = [
            (.binary, values(rows * columns, seed: 17, low: 0, high: 1), bits),
            (.categorical, probabilities, oneHot),
            (.sparseCategorical, probabilities, labels),
        ]
        for (kind, predictions, targets) in metrics {
            checks += try check("accuracy \(kind.rawValue)", reference: reference, candidate: candidate,
                                inputs: [predictions, targets, [0, 1]], outputs: [2]) { b, x in
                b.accuracyCount(kind, predictions: x[0], targets: x[1], rows: rows, columns: columns, accumulator: x[2], accumulatorIndex: 1)
            }
        }
        return checks
    }

    static func optimizers(reference: any Backend, candidate: any Backend) throws -> [Check] {
        let n = 300
        let inputs = [values(n, seed: 20), values(n, seed: 21), values(n, seed: 22, low: 0, high: 0.1),
                      values(n, seed: 23, low: 0, high: 0.01)]
        var checks: [Check] = []
        for (momentum, nesterov) in [(Float(0), false), (0.9, false), (0.9, true)] {
            checks += try check("sgd momentum=\(momentum) nesterov=\(nesterov)", reference: reference, candidate: candidate,
                                inputs: inputs, outputs: [0, 2]) { b, x in
                for _ in 0..<3 {
                    b.sgdUpdate(weights: x[0], gradients: x[1], velocity: x[2], count: n, learningRate: 0.05, momentum: momentum,
                                nesterov: nesterov)
                }
            }
        }
        for amsgrad in [false, true] {
            checks += try check("adam amsgrad=\(amsgrad)", reference: reference, candidate: candidate, inputs: inputs + [[Float](repeating: 0, count: n)],
                                outputs: [0, 2, 3, 4]) { b, x in
                for step in 1...3 {
                    let stepSize = Float(0.01 * (1 - pow(0.999, Double(step))).squareRoot() / (1 - pow(0.9, Double(step))))
                    b.adamUpdate(weights: x[0], gradients: x[1], m: x[2], v: x[3], vMax: amsgrad ? x[4] : nil, count: n,
                                 stepSize: stepSize, beta1: 0.9, beta2: 0.999, epsilon: 1e-7)
                }
            }
        }
        // A zero gradient takes m and v just under the smallest normal float: both backends store them as 0, exactly
        // (tolerance 0; a backend that kept the subnormals would differ by them), and w does not move.
        let edge = (0..<n).map { Float.leastNormalMagnitude * (1 + Float($0) / Float(n) * 0.0009) }
        checks += try check("adam subnormal moments", reference: reference, candidate: candidate,
                            inputs: [values(n, seed: 24), [Float](repeating: 0, count: n), edge.enumerated().map { $1 * ($0 % 2 == 0 ? 1 : -1) }, edge],
                            outputs: [0, 2, 3], tolerance: 0) { b, x in
            b.adamUpdate(weights: x[0], gradients: x[1], m: x[2], v: x[3], vMax: nil, count: n, stepSize: 0.01, beta1: 0.9, beta2: 0.999,
                         epsilon: 1e-7)
        }
        for (momentum, centered) in [(Float(0), false), (0.9, false), (0, true), (0.9, true)] {
            checks += try check("rmsprop momentum=\(momentum) centered=\(centered)", reference: reference, candidate: candidate,
                                inputs: inputs + [[Float](repeating: 0, count: n)], outputs: [0, 2, 3, 4]) { b, x in
                for _ in 0..<3 {
                    b.rmspropUpdate(weights: x[0], gradients: x[1], v: x[3], momentumBuffer: momentum > 0 ? x[2] : nil,
                                    average: centered ? x[4] : nil, count: n, learningRate: 0.01, rho: 0.9, momentum: momentum,
                                    epsilon: 1e-7)
                }
            }
        }
        checks += try check("adagrad", reference: reference, candidate: candidate, inputs: inputs, outputs: [0, 2]) { b, x in
            for _ in 0..<3 { b.adagradUpdate(weights: x[0], gradients: x[1], accumulator: x[2], count: n, learningRate: 0.01, epsilon: 1e-7) }
        }
        checks += try check("nadam", reference: reference, candidate: candidate, inputs: inputs, outputs: [0, 2, 3]) { b, x in
            let schedule = NadamScalars(uT: 0.882, uNext: 0.8835, productT: 0.7793, productNext: 0.6885, beta2Power: 0.997)
            for _ in 0..<3 {
                b.nadamUpdate(weights: x[0], gradients: x[1], m: x[2], v: x[3], count: n, learningRate: 0.01, beta1: 0.9, beta2: 0.999,
                              epsilon: 1e-7, schedule: schedule)
            }
        }
        checks += try check("nadam subnormal moments", reference: reference, candidate: candidate,
                            inputs: [values(n, seed: 24), [Float](repeating: 0, count: n), edge.enumerated().map { $1 * ($0 % 2 == 0 ? 1 : -1) }, edge],
                            outputs: [0, 2, 3], tolerance: 0) { b, x in
            let schedule = NadamScalars(uT: 0.882, uNext: 0.8835, productT: 0.7793, productNext: 0.6885, beta2Power: 0.997)
            b.nadamUpdate(weights: x[0], gradients: x[1], m: x[2], v: x[3], count: n, learningRate: 0.01, beta1: 0.9, beta2: 0.999,
                          epsilon: 1e-7, schedule: schedule)
        }
        checks += try check("weight decay", reference: reference, candidate: candidate, inputs: inputs, outputs: [0]) { b, x in
            b.decayWeights(x[0], count: n, decay: 0.004, learningRate: 0.01)
        }
        checks += try check("clip by norm (per tensor and global)", reference: reference, candidate: candidate,
                            inputs: [values(n, seed: 24, low: -3, high: 3), values(40, seed: 25), [0, 0]], outputs: [0, 1, 2]) { b, x in
            b.accumulateSumOfSquares(x[0], count: n, accumulator: x[2], index: 0)
            b.clipByNorm(x[0], count: n, sumOfSquares: x[2], index: 0, clipNorm: 1.5)
            b.accumulateSumOfSquares(x[1], count: 40, accumulator: x[2], index: 1)
            b.clipByNorm(x[1], count: 40, sumOfSquares: x[2], index: 1, clipNorm: 100)
        }
        checks += try check("clip by value", reference: reference, candidate: candidate, inputs: [values(n, seed: 26, low: -3, high: 3)],
                            outputs: [0]) { b, x in
            b.clipByValue(x[0], count: n, limit: 0.5)
        }
        checks += try check("L1/L2 penalty and gradient", reference: reference, candidate: candidate,
                            inputs: [values(n, seed: 27) + [0], values(n + 1, seed: 28), [1, 2]], outputs: [1, 2]) { b, x in
            b.regularizationPenalty(x[0], count: n + 1, l1: 0.01, l2: 0.02, scale: 32, accumulator: x[2], index: 1)
            b.regularizationGradient(x[0], gradients: x[1], count: n + 1, l1: 0.01, l2: 0.02)
        }
        return checks
    }

    /// Dropout masks (identical on every backend) and batch normalization, forward and backward.
    public static func layers(reference: any Backend, candidate: any Backend) throws -> [Check] {
        var checks: [Check] = []
        for (count, block) in [(1, UInt64(0)), (1001, 7), (4096, 1 << 33)] {
            checks += try check("dropout count=\(count) block=\(block)", reference: reference, candidate: candidate,
                                inputs: [values(count, seed: 30), [Float](repeating: 0, count: count)], outputs: [1], tolerance: 0) { b, x in
                b.dropout(x[0], output: x[1], count: count, rate: 0.3, seed: 77, stream: 5 << 32 | 3, block: block)
            }
        }
        let rows = 13, columns = 6
        let gamma = values(columns, seed: 31, low: 0.5, high: 1.5), beta = values(columns, seed: 32)
        checks += try check("batch norm training (y, x̂, 1/σ, moving mean, moving variance)", reference: reference, candidate: candidate,
                            inputs: [values(rows * columns, seed: 33, low: -2, high: 3), [Float](repeating: 0, count: rows * columns),
                                     [Float](repeating: 0, count: rows * columns), [Float](repeating: 0, count: columns), gamma, beta,
                                     values(columns, seed: 34), values(columns, seed: 35, low: 0.5, high: 1.5)],
                            outputs: [1, 2, 3, 6, 7]) { b, x in
            b.batchNormTraining(x[0], output: x[1], normalized: x[2], inverseStd: x[3], gamma: x[4], beta: x[5], movingMean: x[6],
                                movingVariance: x[7], rows: rows, columns: columns, momentum: 0.99, epsilon: 1e-3)
        }
        checks += try check("batch norm inference", reference: reference, candidate: candidate,
                            inputs: [values(rows * columns, seed: 36), [Float](repeating: 0, count: rows * columns), gamma, beta,
                                     values(columns, seed: 37), values(columns, seed: 38, low: 0.5, high: 1.5)], outputs: [1]) { b, x in
            b.batchNormInference(x[0], output: x[1], gamma: x[2], beta: x[3], movingMean: x[4], movingVariance: x[5], rows: rows,
                                 columns: columns, epsilon: 1e-3)
        }
        checks += try check("batch norm backward (dx, dγ, dβ)", reference: reference, candidate: candidate,
                            inputs: [values(rows * columns, seed: 39), values(rows * columns, seed: 40, low: -2, high: 2),
                                     values(columns, seed: 41, low: 0.5, high: 2), gamma, [Float](repeating: 0, count: rows * columns),
                                     [Float](repeating: 0, count: columns), [Float](repeating: 0, count: columns)],
                            outputs: [4, 5, 6]) { b, x in
            b.batchNormBackward(outputGradient: x[0], normalized: x[1], inverseStd: x[2], gamma: x[3], inputGradient: x[4],
                                gammaGradient: x[5], betaGradient: x[6], rows: rows, columns: columns)
        }
        return checks
    }

    /// The seed model (14→25→36→47→7) trained 5 epochs from the same seed on both backends: per-epoch
    /// losses within 1e-4 relative, and predictions of the trained models within 1e-5.
    public static func training(reference: any Backend, candidate: any Backend) throws -> [Check] {
        var random = PhiloxRandom(seed: 11, stream: 77)
        let samples = 300
        let x = Tensor(shape: [samples, 14], scalars: (0..<(samples * 14)).map { _ in random.nextNormal() })
        let y = Tensor(shape: [samples, 1], scalars: (0..<samples).map { Float(Int((x[$0, 0] + x[$0, 1] * 2 + 10) * 1.7) % 7) })
        var losses: [[Float]] = [], predictions: [[Float]] = []
        for backend in [reference, candidate] {
            let model = Sequential(inputDim: 14, [Dense(25, activation: .relu), Dense(36, activation: .relu),
                                                  Dense(47, activation: .relu), Dense(7, activation: .softmax)], seed: 2024, backend: backend)
            try model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(fromLogits: false), metrics: [.accuracy])
            let history = try model.fit(x: x, y: y, batchSize: 32, epochs: 5, verbose: 0, validationSplit: 0.2)
            losses.append(history.history["loss"]! + history.history["val_loss"]!)
            predictions.append(try model.predict(x).scalars)
        }
        let relative = zip(losses[0], losses[1]).map { abs($0 - $1) / abs($0) }.max() ?? .infinity
        return [Check(name: "seed model, 5 epochs: loss and val_loss (relative)", maxDifference: relative, allowed: 1e-4,
                      firstReference: Array(losses[0].prefix(4)), firstCandidate: Array(losses[1].prefix(4))),
                compare("seed model, 5 epochs: predictions", predictions[0], predictions[1], tolerance: 1e-5)]
    }
}
