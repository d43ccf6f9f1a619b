import XCTest
@testable import MLPCore
import MLPTestSupport

/// Every element-wise op of the CPU backend against hand-computed values and finite differences.
final class CPUOpsTests: XCTestCase {
    let host = Host()

    // MARK: Activations

    /// Values of Keras 3 formulas computed in float64 with Python's math module: f(-1.5), f(0.5), f(2).
    func testActivationValuesMatchKerasFormulas() {
        let z: [Float] = [-1.5, 0.5, 2]
        let expected: [Activation: [Float]] = [
            .linear: [-1.5, 0.5, 2],
            .relu: [0, 0.5, 2],
            .sigmoid: [0.18242552, 0.62245933, 0.88079708],
            .tanh: [-0.90514825, 0.46211716, 0.96402758],
            .softplus: [0.20141328, 0.97407698, 2.12692801],
            .softsign: [-0.6, 0.33333333, 0.66666667],
            .elu: [-0.77686984, 0.5, 2],
            .selu: [-1.36581435, 0.52535049, 2.10140197],
            .gelu: [-0.10021080, 0.34573123, 1.95449974],
            .silu: [-0.27363829, 0.31122967, 1.76159416],
            .leakyRelu: [-0.3, 0.5, 2],
            .relu6: [0, 0.5, 2],
            .hardSigmoid: [0.25, 0.58333333, 0.83333333],
            .exponential: [0.22313016, 1.64872127, 7.3890561],
            .mish: [-0.29809974, 0.37524521, 1.94395896],
        ]
        for (activation, values) in expected {
            let zb = host.buffer(z), y = host.backend.makeBuffer(count: 3)
            host.backend.biasActivationForward(preActivation: zb, bias: nil, output: y, rows: 1, columns: 3, activation: activation)
            assertClose(host.values(y), values, absolute: 1e-6, relative: 1e-5, activation.rawValue)
        }
    }

    func testBiasIsAddedPerColumnAndSoftmaxIsRowWise() {
        let z = host.buffer([1, 2, 3, 1, 1, 1]), y = host.backend.makeBuffer(count: 6)
        host.backend.biasActivationForward(preActivation: z, bias: host.buffer([0, 0, -1]), output: y, rows: 2, columns: 3,
                                           activation: .softmax)
        XCTAssertEqual(host.values(z), [1, 2, 2, 1, 1, 0])
        // softmax([1,2,2]) and softmax([1,1,0])
        assertClose(host.values(y), [0.15536240, 0.42231879, 0.42231879, 0.42231879, 0.42231879, 0.15536240], absolute: 1e-6)
        // Stable for large logits.
        let big = host.buffer([1000, 1001]), out = host.backend.makeBuffer(count: 2)
        host.backend.biasActivationForward(preActivation: big, bias: nil, output: out, rows: 1, columns: 2, activation: .softmax)
        assertClose(host.values(out), [0.26894142, 0.73105858], absolute: 1e-6)
    }

    /// `activationBackward` against central differences of the forward op, for every activation.
    func testActivationBackwardMatchesFiniteDifferences() {
        let rows = 3, columns = 4
        let z = randomValues(rows * columns, seed: 5, low: -2.5, high: 2.5)
        let dy = randomValues(rows * columns, seed: 6)
        for activation in Activation.allCases {
            let forward = { (input: [Float]) -> [Float] in
                let y = self.host.backend.makeBuffer(count: input.count)
                self.host.backend.biasActivationForward(preActivation: self.host.buffer(input), bias: nil, output: y,
                                                        rows: rows, columns: columns, activation: activation)
                return self.host.values(y)
            }
            let y = forward(z)
            let dz = host.backend.makeBuffer(count: z.count)
            host.backend.activationBackward(outputGradient: host.buffer(dy), preActivation: host.buffer(z), output: host.buffer(y),
                                            inputGradient: dz, rows: rows, columns: columns, activation: activation)
            let h: Float = 1e-2
            var numeric = [Float](repeating: 0, count: z.count)
            for i in z.indices {
                var plus = z, minus = z
                plus[i] += h
                minus[i] -= h
                let fPlus = forward(plus), fMinus = forward(minus)
                // d(Σ dy·f(z))/dz_i
                numeric[i] = zip(dy, zip(fPlus, fMinus)).reduce(0) { $0 + $1.0 * ($1.1.0 - $1.1.1) } / (2 * h)
            }
            assertClose(host.values(dz), numeric, absolute: 2e-3, relative: 1e-2, activation.rawValue)
        }
    }

    func testColumnSumsAndGather() {
        let sums = host.backend.makeBuffer(count: 2)
        host.backend.columnSums(host.buffer([1, 2, 3, 4, 5, 6]), rows: 3, columns: 2, into: sums)
        XCTAssertEqual(host.values(sums), [9, 12])
        let out = host.backend.makeBuffer(count: 4)
        let indices = host.backend.makeIndexBuffer([1, 2, 0])
        host.backend.gatherRows(source: host.buffer([1, 2, 3, 4, 5, 6]), rowLength: 2, indices: indices, indexOffset: 1, rows: 2,
                                destination: out)
        XCTAssertEqual(host.values(out), [5, 6, 1, 2])
        host.backend.uploadIndices([2], to: indices)
        host.backend.gatherRows(source: host.buffer([1, 2, 3, 4, 5, 6]), rowLength: 2, indices: indices, indexOffset: 0, rows: 1,
                                destination: out)
        XCTAssertEqual(host.values(out), [5, 6, 1, 2])
    }

    func testRandomUniformIsThePhiloxStream() {
        let out = host.backend.makeBuffer(count: 7)
        host.backend.randomUniform(out, count: 7, seed: 99, stream: 5, low: -2, high: 2)
        var random = PhiloxRandom(seed: 99, stream: 5)
        XCTAssertEqual(host.values(out), (0..<7).map { _ in -2 + 4 * random.nextUniform() })
    }

    // MARK: Losses

    func lossValue(_ loss: LossKind, _ p: [Float], _ t: [Float], rows: Int, columns: Int) -> Float {
        let accumulator = host.buffer([0])
        host.backend.lossForwardBackward(loss, predictions: host.buffer(p), targets: host.buffer(t), rows: rows, columns: columns,
                                         gradient: nil, gradientScale: 1, accumulator: accumulator, accumulatorIndex: 0)
        return host.values(accumulator)[0] / Float(rows)
    }

    /// Mean losses computed by hand with Keras 3 formulas.
    func testLossValuesMatchKeras() {
        XCTAssertEqual(lossValue(.meanSquaredError, [1, 2, 3, 4], [0, 2, 1, 4], rows: 2, columns: 2), (1 + 0 + 4 + 0) / 4, accuracy: 1e-6)
        XCTAssertEqual(lossValue(.meanAbsoluteError, [1, 2, 3, 4], [0, 2, 1, 4], rows: 2, columns: 2), (1 + 0 + 2 + 0) / 4, accuracy: 1e-6)
        // BCE(p=0.8, t=1) and (p=0.3, t=0): −(log 0.8 + log 0.7)/2
        XCTAssertEqual(lossValue(.binaryCrossentropy(fromLogits: false), [0.8, 0.3], [1, 0], rows: 2, columns: 1),
                       -(log(0.8) + log(0.7)) / 2, accuracy: 1e-6)
        // From logits: z=0 → log 2.
        XCTAssertEqual(lossValue(.binaryCrossentropy(fromLogits: true), [0, 0], [1, 0], rows: 2, columns: 1), log(2), accuracy: 1e-6)
        // Clipping: p = 0 with t = 1 gives −log(1e-7).
        XCTAssertEqual(lossValue(.binaryCrossentropy(fromLogits: false), [0], [1], rows: 1, columns: 1), -log(1e-7), accuracy: 1e-3)
        // CCE: −log(0.7)
        XCTAssertEqual(lossValue(.categoricalCrossentropy(fromLogits: false), [0.2, 0.7, 0.1], [0, 1, 0], rows: 1, columns: 3),
                       -log(0.7), accuracy: 1e-6)
        // Keras 3 renormalises probabilities that do not sum to 1: [0.4, 1.4, 0.2] → [0.2, 0.7, 0.1].
        XCTAssertEqual(lossValue(.categoricalCrossentropy(fromLogits: false), [0.4, 1.4, 0.2], [0, 1, 0], rows: 1, columns: 3),
                       -log(0.7), accuracy: 1e-6)
        XCTAssertEqual(lossValue(.sparseCategoricalCrossentropy(fromLogits: false), [0.2, 0.7, 0.1], [1], rows: 1, columns: 3),
                       -log(0.7), accuracy: 1e-6)
        // Logits [1, 2, 3], class 2: −(3 − log(e+e²+e³)) = 0.40760596
        XCTAssertEqual(lossValue(.sparseCategoricalCrossentropy(fromLogits: true), [1, 2, 3], [2], rows: 1, columns: 3),
                       0.40760596, accuracy: 1e-6)
        XCTAssertEqual(lossValue(.categoricalCrossentropy(fromLogits: true), [1000, 1001, 1002], [0, 0, 1], rows: 1, columns: 3),
                       0.40760596, accuracy: 1e-4, "stable for large logits")
        XCTAssertTrue(lossValue(.sparseCategoricalCrossentropy(fromLogits: true), [1, 2, 3], [3], rows: 1, columns: 3).isNaN,
                      "an out-of-range label gives NaN, never a wild read")
    }

    /// Every loss's gradient against central differences of its value.
    func testLossGradientsMatchFiniteDifferences() {
        let rows = 3, columns = 4
        var probabilities = randomValues(rows * columns, seed: 11, low: 0.05, high: 1)
        for r in 0..<rows {
            let sum = probabilities[(r * columns)..<((r + 1) * columns)].reduce(0, +)
            for j in 0..<columns { probabilities[r * columns + j] /= sum }
        }
        let logits = randomValues(rows * columns, seed: 12, low: -3, high: 3)
        let real = randomValues(rows * columns, seed: 13)
        var oneHot = [Float](repeating: 0, count: rows * columns)
        let labels: [Float] = [2, 0, 3]
        for r in 0..<rows { oneHot[r * columns + Int(labels[r])] = 1 }
        let bits = randomValues(rows * columns, seed: 14, low: 0, high: 1).map { $0 > 0.5 ? Float(1) : 0 }
        let cases: [(LossKind, [Float], [Float])] = [
            (.meanSquaredError, real, randomValues(rows * columns, seed: 15)),
            (.meanAbsoluteError, real, randomValues(rows * columns, seed: 16)),
            (.binaryCrossentropy(fromLogits: false), randomValues(rows * columns, seed: 17, low: 0.05, high: 0.95), bits),
            (.binaryCrossentropy(fromLogits: true), logits, bits),
            (.categoricalCrossentropy(fromLogits: false), probabilities, oneHot),
            (.categoricalCrossentropy(fromLogits: true), logits, oneHot),
            (.sparseCategoricalCrossentropy(fromLogits: false), probabilities, labels),
            (.sparseCategoricalCrossentropy(fromLogits: true), logits, labels),
        ]
        for (loss, predictions, targets) in cases {
            let gradient = host.backend.makeBuffer(count: predictions.count)
            let scale: Float = 1 / Float(rows)
            host.backend.lossForwardBackward(loss, predictions: host.buffer(predictions), targets: host.buffer(targets),
                                             rows: rows, columns: columns, gradient: gradient, gradientScale: scale,
                                             accumulator: host.buffer([0]), accumulatorIndex: 0)
            let h: Float = 1e-3
            var numeric = [Float](repeating: 0, count: predictions.count)
            for i in predictions.indices {
                var plus = predictions, minus = predictions
                plus[i] += h
                minus[i] -= h
                numeric[i] = (lossValue(loss, plus, targets, rows: rows, columns: columns)
                              - lossValue(loss, minus, targets, rows: rows, columns: columns)) / (2 * h)
            }
            assertClose(host.values(gradient), numeric, absolute: 2e-3, relative: 1e-2, "\(loss)")
        }
    }

    // MARK: Metrics

    func testAccuracyCounts() {
        func count(_ kind: AccuracyKind, _ p: [Float], _ t: [Float], rows: Int, columns: Int) -> Float {
            let accumulator = host.buffer([0, 0])
            host.backend.accuracyCount(kind, predictions: host.buffer(p), targets: host.buffer(t), rows: rows, columns: columns,
                                       accumulator: accumulator, accumulatorIndex: 1)
            return host.values(accumulator)[1]
        }
        XCTAssertEqual(count(.sparseCategorical, [0.1, 0.9, 0.8, 0.2, 0.3, 0.7], [1, 1, 1], rows: 3, columns: 2), 2)
        XCTAssertEqual(count(.categorical, [0.1, 0.9, 0.8, 0.2], [0, 1, 0, 1], rows: 2, columns: 2), 1)
        XCTAssertEqual(count(.binary, [0.6, 0.4, 0.5], [1, 1, 0], rows: 3, columns: 1), 2, "0.5 is not above the threshold")
        XCTAssertEqual(count(.binary, [0.6, 0.4], [1, 1], rows: 1, columns: 2), 0.5, "mean over a sample's outputs")
    }

    // MARK: Optimizers

    /// Two SGD steps by hand: w=1, g=0.5, lr=0.1, μ=0.9.
    func testSGDUpdatesMatchKeras() {
        let w = host.buffer([1]), g = host.buffer([0.5])
        host.backend.sgdUpdate(weights: w, gradients: g, velocity: nil, count: 1, learningRate: 0.1, momentum: 0, nesterov: false)
        XCTAssertEqual(host.values(w)[0], 0.95, accuracy: 1e-7)

        let w2 = host.buffer([1]), v = host.buffer([0])
        for _ in 0..<2 {
            host.backend.sgdUpdate(weights: w2, gradients: g, velocity: v, count: 1, learningRate: 0.1, momentum: 0.9, nesterov: false)
        }
        // v1 = −0.05, w1 = 0.95; v2 = −0.045 − 0.05 = −0.095, w2 = 0.855
        XCTAssertEqual(host.values(v)[0], -0.095, accuracy: 1e-7)
        XCTAssertEqual(host.values(w2)[0], 0.855, accuracy: 1e-6)

        let w3 = host.buffer([1]), v3 = host.buffer([0])
        host.backend.sgdUpdate(weights: w3, gradients: g, velocity: v3, count: 1, learningRate: 0.1, momentum: 0.9, nesterov: true)
        // v1 = −0.05; w += 0.9·(−0.05) − 0.05 = −0.095
        XCTAssertEqual(host.values(w3)[0], 0.905, accuracy: 1e-6)
    }

    func testAdamAndRMSpropUpdatesMatchTheirFormulas() {
        let w = host.buffer([1]), g = host.buffer([0.5]), m = host.buffer([0]), v = host.buffer([0])
        // Step 1 with lr 0.001: α = 0.001·√(1−0.999)/(1−0.9); m = 0.05, v = 0.00025; w −= α·m/(√v+1e-7) ≈ 0.001
        let alpha = Float(0.001 * (1 - 0.999).squareRoot() / (1 - 0.9))
        host.backend.adamUpdate(weights: w, gradients: g, m: m, v: v, vMax: nil, count: 1, stepSize: alpha, beta1: 0.9, beta2: 0.999, epsilon: 1e-7)
        XCTAssertEqual(host.values(m)[0], 0.05, accuracy: 1e-7)
        XCTAssertEqual(host.values(v)[0], 0.00025, accuracy: 1e-8)
        XCTAssertEqual(host.values(w)[0], 1 - alpha * 0.05 / (Float(0.00025).squareRoot() + 1e-7), accuracy: 1e-7)
        XCTAssertEqual(host.values(w)[0], 0.999, accuracy: 1e-6)

        let w2 = host.buffer([1]), v2 = host.buffer([0])
        host.backend.rmspropUpdate(weights: w2, gradients: g, v: v2, momentumBuffer: nil, average: nil, count: 1, learningRate: 0.001,
                                   rho: 0.9, momentum: 0, epsilon: 1e-7)
        // v = 0.1·0.25 = 0.025; w = 1 − 0.001·0.5/√(0.025 + 1e-7)
        XCTAssertEqual(host.values(v2)[0], 0.025, accuracy: 1e-8)
        XCTAssertEqual(host.values(w2)[0], 1 - 0.0005 / (0.025 + 1e-7).squareRoot(), accuracy: 1e-7)
    }

    func testMemoryOps() {
        let b = host.backend.makeBuffer(count: 5)
        host.backend.fill(b, value: 2, offset: 0, count: 5)
        host.backend.upload([7, 8], to: b, offset: 1)
        XCTAssertEqual(host.values(b), [2, 7, 8, 2, 2])
        let c = host.backend.makeBuffer(count: 3)
        host.backend.copy(b, sourceOffset: 1, to: c, destinationOffset: 0, count: 3)
        XCTAssertEqual(host.backend.download(c, offset: 1, count: 2), [8, 2])
    }
}
