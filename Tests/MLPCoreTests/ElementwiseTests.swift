import XCTest
@testable import MLPCore
import MLPTestSupport

/// The CPU backend's vectorised element-wise ops against their ``CPUReference`` loops: the same arithmetic in the
/// same order, so the results must be bit-identical — for counts that are not multiples of 8 or 16 (the tails: a
/// partial vector under the vector width, 8 or 16 on an AVX-512 build, an overlapping vector above) and above ``CPUBackend/elementwiseParallelThreshold`` (split among the pool).
final class ElementwiseTests: XCTestCase {
    static let counts = [1, 7, 8, 9, 15, 16, 17, 31, 33, 100, CPUBackend.elementwiseParallelThreshold + 13]

    /// `count` values and pointers to a copy of them, for the reference.
    func withCopies(_ arrays: [[Float]], _ body: ([UnsafeMutablePointer<Float>]) -> Void) {
        let pointers = arrays.map { values -> UnsafeMutablePointer<Float> in
            let pointer = UnsafeMutablePointer<Float>.allocate(capacity: max(values.count, 1))
            pointer.initialize(from: values, count: values.count)
            return pointer
        }
        body(pointers)
        pointers.forEach { $0.deallocate() }
    }

    func assertIdentical(_ actual: [Float], _ expected: UnsafePointer<Float>, _ message: String,
                         file: StaticString = #filePath, line: UInt = #line) {
        let expected = Array(UnsafeBufferPointer(start: expected, count: actual.count))
        let differing = zip(actual, expected).enumerated().first { $0.element.0.bitPattern != $0.element.1.bitPattern }
        XCTAssertNil(differing, "\(message): first difference at \(differing?.offset ?? -1): \(differing.map { "\($0.element.0) vs \($0.element.1)" } ?? "")",
                     file: file, line: line)
    }

    func testAdamAndAMSGradAreBitIdenticalToTheReference() {
        let host = Host(threads: 2)
        for count in Self.counts {
            for amsgrad in [false, true] {
                let w = randomValues(count, seed: 1), g = randomValues(count, seed: 2)
                let m = randomValues(count, seed: 3, low: -0.1, high: 0.1), v = randomValues(count, seed: 4, low: 0, high: 0.1)
                let vMax = randomValues(count, seed: 5, low: 0, high: 0.1)
                let buffers = [w, g, m, v, vMax].map(host.buffer)
                for _ in 0..<2 {
                    host.backend.adamUpdate(weights: buffers[0], gradients: buffers[1], m: buffers[2], v: buffers[3],
                                            vMax: amsgrad ? buffers[4] : nil, count: count, stepSize: 0.01, beta1: 0.9, beta2: 0.999,
                                            epsilon: 1e-7)
                }
                withCopies([w, g, m, v, vMax]) { r in
                    for _ in 0..<2 {
                        CPUReference.adamUpdate(w: r[0], g: r[1], m: r[2], v: r[3], vMax: amsgrad ? r[4] : nil, count: count, stepSize: 0.01,
                                                beta1: 0.9, beta2: 0.999, epsilon: 1e-7)
                    }
                    for (index, name) in [(0, "w"), (2, "m"), (3, "v"), (4, "vMax")] {
                        assertIdentical(host.values(buffers[index]), r[index], "adam \(name) count=\(count) amsgrad=\(amsgrad)")
                    }
                }
            }
        }
    }

    /// A zero gradient decays m and v towards subnormals; both backends store them as zero at the same step.
    func testAdamStoresSubnormalMomentsAsZeroLikeTheReference() {
        let host = Host(threads: 2)
        let count = 37
        let w = randomValues(count, seed: 1), g = [Float](repeating: 0, count: count)
        let m = (0..<count).map { Float($0 % 2 == 0 ? 1 : -1) * Float.leastNormalMagnitude * (1 + Float($0) * 0.05) }
        let v = (0..<count).map { Float.leastNormalMagnitude * (1 + Float($0) * 0.0001) }
        let buffers = [w, g, m, v].map(host.buffer)
        host.backend.adamUpdate(weights: buffers[0], gradients: buffers[1], m: buffers[2], v: buffers[3], vMax: nil, count: count,
                                stepSize: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7)
        withCopies([w, g, m, v]) { r in
            CPUReference.adamUpdate(w: r[0], g: r[1], m: r[2], v: r[3], vMax: nil, count: count, stepSize: 0.01, beta1: 0.9, beta2: 0.999,
                                    epsilon: 1e-7)
            for (index, name) in [(0, "w"), (2, "m"), (3, "v")] {
                assertIdentical(host.values(buffers[index]), r[index], "adam \(name) with subnormal moments")
            }
        }
        let newM = host.values(buffers[2]), newV = host.values(buffers[3])
        XCTAssertTrue(newM.allSatisfy { $0 == 0 || abs($0) >= Float.leastNormalMagnitude }, "\(newM)")
        XCTAssertTrue(newM.contains(0) && newM.contains { $0 != 0 }, "m: some flushed, some still normal: \(newM)")
        XCTAssertTrue(newV.allSatisfy { $0 == 0 || $0 >= Float.leastNormalMagnitude } && newV.contains(0), "\(newV)")
    }

    func testSGDVariantsAreBitIdenticalToTheReference() {
        let host = Host(threads: 2)
        for count in Self.counts {
            for (momentum, nesterov) in [(Float(0), false), (0.9, false), (0.9, true)] {
                let w = randomValues(count, seed: 1), g = randomValues(count, seed: 2), velocity = randomValues(count, seed: 3)
                let buffers = [w, g, velocity].map(host.buffer)
                host.backend.sgdUpdate(weights: buffers[0], gradients: buffers[1], velocity: buffers[2], count: count, learningRate: 0.05,
                                       momentum: momentum, nesterov: nesterov)
                withCopies([w, g, velocity]) { r in
                    CPUReference.sgdUpdate(w: r[0], g: r[1], velocity: r[2], count: count, learningRate: 0.05, momentum: momentum,
                                           nesterov: nesterov)
                    assertIdentical(host.values(buffers[0]), r[0], "sgd w count=\(count) momentum=\(momentum) nesterov=\(nesterov)")
                    assertIdentical(host.values(buffers[2]), r[2], "sgd velocity count=\(count) momentum=\(momentum)")
                }
            }
        }
    }

    func testRMSpropAdagradAndNadamAreBitIdenticalToTheReference() {
        let host = Host(threads: 2)
        let schedule = NadamScalars(uT: 0.882, uNext: 0.8835, productT: 0.7793, productNext: 0.6885, beta2Power: 0.997)
        for count in Self.counts {
            let w = randomValues(count, seed: 1), g = randomValues(count, seed: 2)
            let slot1 = randomValues(count, seed: 3, low: 0, high: 0.1), slot2 = randomValues(count, seed: 4, low: 0, high: 0.1)
            let slot3 = randomValues(count, seed: 5, low: -0.01, high: 0.01)
            for (momentum, centered) in [(Float(0), false), (0.9, false), (0, true), (0.9, true)] {
                let buffers = [w, g, slot1, slot2, slot3].map(host.buffer)
                for _ in 0..<2 {
                    host.backend.rmspropUpdate(weights: buffers[0], gradients: buffers[1], v: buffers[2],
                                               momentumBuffer: momentum > 0 ? buffers[3] : nil, average: centered ? buffers[4] : nil,
                                               count: count, learningRate: 0.01, rho: 0.9, momentum: momentum, epsilon: 1e-7)
                }
                withCopies([w, g, slot1, slot2, slot3]) { r in
                    for _ in 0..<2 {
                        CPUReference.rmspropUpdate(w: r[0], g: r[1], v: r[2], momentumBuffer: momentum > 0 ? r[3] : nil,
                                                   average: centered ? r[4] : nil, count: count, learningRate: 0.01, rho: 0.9,
                                                   momentum: momentum, epsilon: 1e-7)
                    }
                    for index in 0..<5 where index != 1 {
                        assertIdentical(host.values(buffers[index]), r[index],
                                        "rmsprop buffer \(index) count=\(count) momentum=\(momentum) centered=\(centered)")
                    }
                }
            }
            var buffers = [w, g, slot1].map(host.buffer)
            for _ in 0..<2 {
                host.backend.adagradUpdate(weights: buffers[0], gradients: buffers[1], accumulator: buffers[2], count: count,
                                           learningRate: 0.01, epsilon: 1e-7)
            }
            withCopies([w, g, slot1]) { r in
                for _ in 0..<2 { CPUReference.adagradUpdate(w: r[0], g: r[1], accumulator: r[2], count: count, learningRate: 0.01, epsilon: 1e-7) }
                assertIdentical(host.values(buffers[0]), r[0], "adagrad w count=\(count)")
                assertIdentical(host.values(buffers[2]), r[2], "adagrad accumulator count=\(count)")
            }
            buffers = [w, g, slot3, slot1].map(host.buffer)
            for _ in 0..<2 {
                host.backend.nadamUpdate(weights: buffers[0], gradients: buffers[1], m: buffers[2], v: buffers[3], count: count,
                                         learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, schedule: schedule)
            }
            withCopies([w, g, slot3, slot1]) { r in
                for _ in 0..<2 {
                    CPUReference.nadamUpdate(w: r[0], g: r[1], m: r[2], v: r[3], count: count, learningRate: 0.01, beta1: 0.9, beta2: 0.999,
                                             epsilon: 1e-7, schedule: schedule)
                }
                for (index, name) in [(0, "w"), (2, "m"), (3, "v")] {
                    assertIdentical(host.values(buffers[index]), r[index], "nadam \(name) count=\(count)")
                }
            }
        }
    }

    /// Nadam's moments decay like Adam's (β2 0.999) and are stored as zero under the smallest normal float, as Adam's.
    func testNadamStoresSubnormalMomentsAsZeroLikeTheReference() {
        let host = Host(threads: 2)
        let count = 37
        let schedule = NadamScalars(uT: 0.882, uNext: 0.8835, productT: 0.7793, productNext: 0.6885, beta2Power: 0.997)
        let w = randomValues(count, seed: 1), g = [Float](repeating: 0, count: count)
        let m = (0..<count).map { Float($0 % 2 == 0 ? 1 : -1) * Float.leastNormalMagnitude * (1 + Float($0) * 0.05) }
        let v = (0..<count).map { Float.leastNormalMagnitude * (1 + Float($0) * 0.0001) }
        let buffers = [w, g, m, v].map(host.buffer)
        host.backend.nadamUpdate(weights: buffers[0], gradients: buffers[1], m: buffers[2], v: buffers[3], count: count,
                                 learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, schedule: schedule)
        withCopies([w, g, m, v]) { r in
            CPUReference.nadamUpdate(w: r[0], g: r[1], m: r[2], v: r[3], count: count, learningRate: 0.01, beta1: 0.9, beta2: 0.999,
                                     epsilon: 1e-7, schedule: schedule)
            for (index, name) in [(0, "w"), (2, "m"), (3, "v")] {
                assertIdentical(host.values(buffers[index]), r[index], "nadam \(name) with subnormal moments")
            }
        }
        let newM = host.values(buffers[2]), newV = host.values(buffers[3])
        XCTAssertTrue(newM.allSatisfy { $0 == 0 || abs($0) >= Float.leastNormalMagnitude } && newM.contains(0), "\(newM)")
        XCTAssertTrue(newV.allSatisfy { $0 == 0 || $0 >= Float.leastNormalMagnitude } && newV.contains(0), "\(newV)")
    }

    func testBiasReLUAndLinearForwardAndBackwardAreBitIdenticalToTheReference() {
        let host = Host(threads: 2)
        // (rows, columns): tails in both directions, and one above the parallel threshold with rows not
        // dividing the chunks.
        // 8–15 wide and 16 or more (`SIMD8` and, on an AVX-512 build, `SIMD16` with their tails).
        for (rows, columns) in [(1, 1), (3, 5), (4, 8), (2, 9), (5, 15), (3, 16), (2, 17), (17, 20), (3, 31), (2, 33), (32, 47),
                                (300, 301)] {
            for activation in [Activation.relu, .linear] {
                for withBias in [false, true] {
                    let count = rows * columns
                    let z = randomValues(count, seed: 1), bias = randomValues(columns, seed: 2), dy = randomValues(count, seed: 3)
                    let zBuffer = host.buffer(z), yBuffer = host.backend.makeBuffer(count: count), dzBuffer = host.backend.makeBuffer(count: count)
                    host.backend.biasActivationForward(preActivation: zBuffer, bias: withBias ? host.buffer(bias) : nil, output: yBuffer,
                                                       rows: rows, columns: columns, activation: activation)
                    host.backend.activationBackward(outputGradient: host.buffer(dy), preActivation: zBuffer, output: yBuffer,
                                                    inputGradient: dzBuffer, rows: rows, columns: columns, activation: activation)
                    withCopies([z, bias, dy, z, z]) { r in
                        CPUReference.biasActivationForward(z: r[0], bias: withBias ? UnsafePointer(r[1]) : nil, y: r[3], rows: rows,
                                                           columns: columns, activation: activation)
                        CPUReference.activationBackward(dy: r[2], z: r[0], y: r[3], dz: r[4], rows: rows, columns: columns, activation: activation)
                        let label = "\(activation) bias=\(withBias) \(rows)×\(columns)"
                        assertIdentical(host.values(zBuffer), r[0], "z " + label)
                        assertIdentical(host.values(yBuffer), r[3], "y " + label)
                        assertIdentical(host.values(dzBuffer), r[4], "dz " + label)
                    }
                }
            }
        }
    }

    func testColumnSumsAreBitIdenticalToTheReference() {
        let host = Host()
        for (rows, columns) in [(1, 1), (5, 3), (33, 8), (4, 9), (5, 16), (9, 17), (32, 25), (6, 31), (3, 33), (32, 47), (3, 64), (7, 65),
                                (2, 129), (128, 517)] {
            let matrix = randomValues(rows * columns, seed: 7)
            let out = host.backend.makeBuffer(count: columns)
            host.backend.columnSums(host.buffer(matrix), rows: rows, columns: columns, into: out)
            withCopies([matrix, [Float](repeating: 0, count: columns)]) { r in
                CPUReference.columnSums(r[0], rows: rows, columns: columns, into: r[1])
                assertIdentical(host.values(out), r[1], "column sums \(rows)×\(columns)")
            }
        }
    }

    /// Against the sum in double precision: the vectorised sum's 32 partial sums keep it within 1e-6 relative
    /// (the reference's single running float sum drifts further: 8e-6 at 65,549 elements, which this test prints).
    func testSumOfSquaresMatchesAnExactSum() {
        let host = Host()
        for count in [0, 1, 7, 8, 31, 32, 33, 1000, 65_549] {
            let values = randomValues(count, seed: 9)
            let accumulator = host.buffer([0.5, 2])
            host.backend.accumulateSumOfSquares(host.buffer(values.isEmpty ? [0] : values), count: count, accumulator: accumulator, index: 1)
            let exact = 2 + values.reduce(0.0) { $0 + Double($1) * Double($1) }
            let reference = 2 + Double((values.isEmpty ? [0] : values).withUnsafeBufferPointer { CPUReference.sumOfSquares($0.baseAddress!, count: count) })
            let got = host.values(accumulator)
            XCTAssertEqual(got[0], 0.5, "other slots untouched")
            XCTAssertEqual(Double(got[1]), exact, accuracy: 1e-6 * exact, "count=\(count)")
            if count > 1000 { print(String(format: "sum of squares of %d values: vectorised %.2e, reference %.2e relative error", count, abs(Double(got[1]) - exact) / exact, abs(reference - exact) / exact)) }
        }
    }

    /// A deliberately different update (another step size) is caught: the comparison is not vacuous.
    func testADifferentStepSizeIsDetected() {
        let host = Host()
        let w = randomValues(64, seed: 1), g = randomValues(64, seed: 2), zeros = [Float](repeating: 0, count: 64)
        let buffers = [w, g, zeros, zeros].map(host.buffer)
        host.backend.adamUpdate(weights: buffers[0], gradients: buffers[1], m: buffers[2], v: buffers[3], vMax: nil, count: 64,
                                stepSize: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7)
        withCopies([w, g, zeros, zeros]) { r in
            CPUReference.adamUpdate(w: r[0], g: r[1], m: r[2], v: r[3], vMax: nil, count: 64, stepSize: 0.0100001, beta1: 0.9, beta2: 0.999,
                                    epsilon: 1e-7)
            let actual = host.values(buffers[0]), expected = Array(UnsafeBufferPointer(start: r[0], count: 64))
            XCTAssertTrue(zip(actual, expected).contains { $0.bitPattern != $1.bitPattern })
        }
    }
}
