import XCTest
@testable import MLPOpenCL
import MLPCore
import MLPTestSupport

/// Every op, OpenCL against the CPU backend, on seeded random inputs. Tolerance: max |difference| ≤ 1e-5
/// relative to the magnitude of the values (1e-5 · max(1, max |expected|)); failures print the first values.
final class OpenCLParityTests: XCTestCase {
    var gpu: OpenCLBackend!
    let cpu = CPUBackend(threadCount: 1)

    override func setUpWithError() throws {
        gpu = try OpenCLTestDevice.backend()
    }

    /// Uploads the same inputs to both backends, runs `op` on each, and compares `outputs` buffers.
    func parity(_ label: String, inputs: [[Float]], outputs: [Int], tolerance: Float = 1e-5,
                file: StaticString = #filePath, line: UInt = #line,
                _ op: (any Backend, [DeviceBuffer]) -> Void) throws {
        var results: [[[Float]]] = []
        for backend in [cpu as any Backend, gpu as any Backend] {
            let buffers = inputs.map { backend.makeBuffer($0) }
            op(backend, buffers)
            results.append(outputs.map { backend.download(buffers[$0]) })
            try backend.checkError()
        }
        for (index, (expected, actual)) in zip(results[0], results[1]).enumerated() {
            let magnitude = max(1, expected.filter(\.isFinite).map(abs).max() ?? 1)
            assertClose(actual, expected, absolute: tolerance * magnitude, relative: 0, "\(label) output \(index)", file: file, line: line)
        }
    }

    func testGEMMEveryTransposeAndOddSizes() throws {
        for (m, n, k) in [(1, 1, 1), (3, 5, 7), (33, 17, 9), (64, 70, 31), (100, 10, 64)] {
            for transA in [false, true] {
                for transB in [false, true] {
                    for (alpha, beta) in [(Float(1), Float(0)), (0.5, 1)] {
                        try parity("gemm m=\(m) n=\(n) k=\(k) tA=\(transA) tB=\(transB) α=\(alpha) β=\(beta)",
                                   inputs: [randomValues(m * k, seed: 1), randomValues(k * n, seed: 2), randomValues(m * n, seed: 3)],
                                   outputs: [2]) { backend, b in
                            backend.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: b[0], b: b[1], beta: beta, c: b[2])
                        }
                    }
                }
            }
        }
        try parity("gemm k=0 scales C by beta", inputs: [[0], [0], randomValues(6, seed: 4)], outputs: [2]) { backend, b in
            backend.gemm(transA: false, transB: false, m: 2, n: 3, k: 0, alpha: 1, a: b[0], b: b[1], beta: 0.5, c: b[2])
        }
    }

    func testBiasActivationForwardAndBackwardForEveryActivation() throws {
        let rows = 7, columns = 5
        for activation in Activation.allCases {
            for withBias in [true, false] {
                try parity("forward \(activation.rawValue) bias=\(withBias)",
                           inputs: [randomValues(rows * columns, seed: 5, low: -3, high: 3), randomValues(columns, seed: 6),
                                    [Float](repeating: 0, count: rows * columns)],
                           outputs: [0, 2]) { backend, b in
                    backend.biasActivationForward(preActivation: b[0], bias: withBias ? b[1] : nil, output: b[2],
                                                  rows: rows, columns: columns, activation: activation)
                }
            }
            // Backward from consistent (z, y = f(z)) computed on the CPU.
            let z = randomValues(rows * columns, seed: 7, low: -3, high: 3)
            let yBuffer = cpu.makeBuffer(count: z.count)
            cpu.biasActivationForward(preActivation: cpu.makeBuffer(z), bias: nil, output: yBuffer, rows: rows, columns: columns,
                                      activation: activation)
            try parity("backward \(activation.rawValue)",
                       inputs: [randomValues(rows * columns, seed: 8), z, cpu.download(yBuffer), [Float](repeating: 0, count: z.count)],
                       outputs: [3]) { backend, b in
                backend.activationBackward(outputGradient: b[0], preActivation: b[1], output: b[2], inputGradient: b[3],
                                           rows: rows, columns: columns, activation: activation)
            }
        }
    }

    func testColumnSumsGatherCopyFill() throws {
        try parity("columnSums", inputs: [randomValues(37 * 11, seed: 9), [Float](repeating: 0, count: 11)], outputs: [1]) { backend, b in
            backend.columnSums(b[0], rows: 37, columns: 11, into: b[1])
        }
        for backend in [cpu as any Backend, gpu as any Backend] {
            let source = backend.makeBuffer((0..<20).map(Float.init))
            let indices = backend.makeIndexBuffer([9, 3, 0, 7, 2])
            let out = backend.makeBuffer(count: 6)
            backend.gatherRows(source: source, rowLength: 2, indices: indices, indexOffset: 1, rows: 3, destination: out)
            XCTAssertEqual(backend.download(out), [6, 7, 0, 1, 14, 15], "\(type(of: backend)) gather")
            backend.uploadIndices([4], to: indices)
            backend.gatherRows(source: source, rowLength: 2, indices: indices, indexOffset: 0, rows: 1, destination: out)
            XCTAssertEqual(backend.download(out, offset: 0, count: 2), [8, 9])
            backend.fill(out, value: 2.5, offset: 1, count: 4)
            backend.copy(source, sourceOffset: 3, to: out, destinationOffset: 4, count: 2)
            XCTAssertEqual(backend.download(out), [8, 2.5, 2.5, 2.5, 3, 4], "\(type(of: backend)) fill/copy")
            try backend.checkError()
        }
    }

    /// Philox on the device is bit-identical to the Swift generator.
    func testRandomUniformIsBitIdentical() throws {
        for (seed, stream) in [(UInt64(0), UInt64(0)), (42, 7), (0xFFFF_FFFF_FFFF_FFFF, 1 << 40)] {
            let count = 1001
            var random = PhiloxRandom(seed: seed, stream: stream)
            let expected = (0..<count).map { _ in -1 + 2 * random.nextUniform() }
            let out = gpu.makeBuffer(count: count)
            gpu.randomUniform(out, count: count, seed: seed, stream: stream, low: -1, high: 1)
            let actual = gpu.download(out)
            XCTAssertEqual(actual.map(\.bitPattern), expected.map(\.bitPattern), "seed \(seed) stream \(stream)")
        }
    }

    func testEveryLossAndMetric() throws {
        let rows = 19, columns = 4
        var probabilities = randomValues(rows * columns, seed: 11, low: 0.01, high: 1)
        for r in 0..<rows {
            let sum = probabilities[(r * columns)..<((r + 1) * columns)].reduce(0, +)
            for j in 0..<columns { probabilities[r * columns + j] /= sum }
        }
        let logits = randomValues(rows * columns, seed: 12, low: -4, high: 4)
        let labels = (0..<rows).map { Float(($0 * 7) % columns) }
        var oneHot = [Float](repeating: 0, count: rows * columns)
        for r in 0..<rows { oneHot[r * columns + Int(labels[r])] = 1 }
        let bits = randomValues(rows * columns, seed: 13, low: 0, high: 1).map { $0 > 0.5 ? Float(1) : 0 }
        let cases: [(LossKind, [Float], [Float])] = [
            (.meanSquaredError, logits, randomValues(rows * columns, seed: 14)),
            (.meanAbsoluteError, logits, randomValues(rows * columns, seed: 15)),
            (.binaryCrossentropy(fromLogits: false), randomValues(rows * columns, seed: 16, low: 0, high: 1), bits),
            (.binaryCrossentropy(fromLogits: true), logits, bits),
            (.categoricalCrossentropy(fromLogits: false), probabilities, oneHot),
            (.categoricalCrossentropy(fromLogits: true), logits, oneHot),
            (.sparseCategoricalCrossentropy(fromLogits: false), probabilities, labels),
            (.sparseCategoricalCrossentropy(fromLogits: true), logits, labels),
        ]
        for (loss, predictions, targets) in cases {
            try parity("loss \(loss)", inputs: [predictions, targets, [Float](repeating: 0, count: predictions.count), [0.5, 0]],
                       outputs: [2, 3]) { backend, b in
                backend.lossForwardBackward(loss, predictions: b[0], targets: b[1], rows: rows, columns: columns, gradient: b[2],
                                            gradientScale: 1 / Float(rows), accumulator: b[3], accumulatorIndex: 0)
                // A second batch without gradient accumulates on top.
                backend.lossForwardBackward(loss, predictions: b[0], targets: b[1], rows: rows - 3, columns: columns, gradient: nil,
                                            gradientScale: 0, accumulator: b[3], accumulatorIndex: 1)
            }
        }
        let metricCases: [(AccuracyKind, [Float], [Float])] = [
            (.binary, randomValues(rows * columns, seed: 17, low: 0, high: 1), bits),
            (.categorical, probabilities, oneHot),
            (.sparseCategorical, probabilities, labels),
        ]
        for (kind, predictions, targets) in metricCases {
            try parity("accuracy \(kind)", inputs: [predictions, targets, [0, 1]], outputs: [2]) { backend, b in
                backend.accuracyCount(kind, predictions: b[0], targets: b[1], rows: rows, columns: columns, accumulator: b[2], accumulatorIndex: 1)
            }
        }
    }

    func testOptimizerUpdates() throws {
        let n = 300
        let inputs = [randomValues(n, seed: 20), randomValues(n, seed: 21), randomValues(n, seed: 22, low: 0, high: 0.1),
                      randomValues(n, seed: 23, low: 0, high: 0.01)]
        for (momentum, nesterov) in [(Float(0), false), (0.9, false), (0.9, true)] {
            try parity("sgd μ=\(momentum) nesterov=\(nesterov)", inputs: inputs, outputs: [0, 2]) { backend, b in
                for _ in 0..<3 {
                    backend.sgdUpdate(weights: b[0], gradients: b[1], velocity: b[2], count: n, learningRate: 0.05,
                                      momentum: momentum, nesterov: nesterov)
                }
            }
        }
        try parity("adam", inputs: inputs, outputs: [0, 2, 3]) { backend, b in
            for step in 1...3 {
                let stepSize = Float(0.01 * (1 - pow(0.999, Double(step))).squareRoot() / (1 - pow(0.9, Double(step))))
                backend.adamUpdate(weights: b[0], gradients: b[1], m: b[2], v: b[3], count: n, stepSize: stepSize,
                                   beta1: 0.9, beta2: 0.999, epsilon: 1e-7)
            }
        }
        try parity("rmsprop", inputs: inputs, outputs: [0, 3]) { backend, b in
            for _ in 0..<3 {
                backend.rmspropUpdate(weights: b[0], gradients: b[1], v: b[3], count: n, learningRate: 0.01, rho: 0.9, epsilon: 1e-7)
            }
        }
    }
}

import Foundation
