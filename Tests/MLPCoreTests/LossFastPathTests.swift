import XCTest
@testable import MLPCore
import MLPTestSupport

/// The CPU backend's cross-entropy from logits against ``CPUReference/lossForwardBackward``: the losses within 1e-6
/// relative and every gradient within 1e-6 (one inlined `exp` per logit instead of two library calls), and the
/// inlined `exp` itself against the C library's.
final class LossFastPathTests: XCTestCase {
    func run(_ loss: LossKind, logits: [Float], targets: [Float], weights: [Float]?, rows: Int, columns: Int,
             withGradient: Bool) -> (fast: (Float, [Float]), reference: (Float, [Float])) {
        let host = Host()
        let gradient = host.backend.makeBuffer(count: rows * columns), accumulator = host.backend.makeBuffer(count: 1)
        host.backend.lossForwardBackward(loss, predictions: host.buffer(logits), targets: host.buffer(targets),
                                         sampleWeights: weights.map(host.buffer), rows: rows, columns: columns,
                                         gradient: withGradient ? gradient : nil, gradientScale: 0.25, accumulator: accumulator,
                                         accumulatorIndex: 0)
        var expected = [Float](repeating: 0, count: rows * columns)
        let sum = expected.withUnsafeMutableBufferPointer { g in
            CPUReference.lossForwardBackward(loss, predictions: logits, targets: targets, sampleWeights: weights, rows: rows,
                                             columns: columns, gradient: withGradient ? g.baseAddress! : nil, gradientScale: 0.25)
        }
        return ((host.values(accumulator)[0], host.values(gradient)), (sum, expected))
    }

    func testSparseAndCategoricalFromLogitsMatchTheReference() {
        // Blocks of eight rows and the row-by-row rest: 37 rows = four blocks and five rows.
        for columns in [1, 7, 10, 19] {
            checkFromLogits(rows: 37, columns: columns)
        }
    }

    func checkFromLogits(rows: Int, columns: Int) {
        // Logits up to ±30: large enough that a naive softmax would overflow in exp without the max shift.
        let logits = randomValues(rows * columns, seed: 4, low: -30, high: 30)
        let labels = (0..<rows).map { Float(($0 * 5) % columns) }
        let oneHot = (0..<(rows * columns)).map { labels[$0 / columns] == Float($0 % columns) ? Float(1) : 0 }
        let soft = randomValues(rows * columns, seed: 5, low: 0, high: 1)
        for weights in [nil, randomValues(rows, seed: 6, low: 0, high: 2)] {
            for withGradient in [false, true] {
                let sparse = run(.sparseCategoricalCrossentropy(fromLogits: true), logits: logits, targets: labels, weights: weights,
                                 rows: rows, columns: columns, withGradient: withGradient)
                let label = "columns=\(columns) weights=\(weights != nil) gradient=\(withGradient)"
                XCTAssertEqual(sparse.fast.0, sparse.reference.0, accuracy: abs(sparse.reference.0) * 1e-6, "sparse loss " + label)
                assertClose(sparse.fast.1, sparse.reference.1, absolute: 1e-6, relative: 1e-5, "sparse gradient " + label)
                for targets in [oneHot, soft] {
                    let dense = run(.categoricalCrossentropy(fromLogits: true), logits: logits, targets: targets, weights: weights,
                                    rows: rows, columns: columns, withGradient: withGradient)
                    XCTAssertEqual(dense.fast.0, dense.reference.0, accuracy: abs(dense.reference.0) * 1e-6, "categorical loss " + label)
                    assertClose(dense.fast.1, dense.reference.1, absolute: 1e-6, relative: 1e-5, "categorical gradient " + label)
                }
            }
        }
    }

    func testAnImpossibleLabelInABlockOfEightRows() {
        // Row 3 of the first block has label 9 of 4 classes: that block goes row by row, the second block in lanes.
        var labels = (0..<16).map { Float($0 % 4) }
        labels[3] = 9
        let logits = randomValues(16 * 4, seed: 9, low: -3, high: 3)
        let result = run(.sparseCategoricalCrossentropy(fromLogits: true), logits: logits, targets: labels, weights: nil,
                         rows: 16, columns: 4, withGradient: true)
        XCTAssertTrue(result.fast.0.isNaN && result.reference.0.isNaN)
        assertClose(result.fast.1, result.reference.1, absolute: 1e-6, relative: 1e-5)
        XCTAssertEqual(Array(result.fast.1[12..<16]), [0, 0, 0, 0])
    }

    func testSoftmaxForwardMatchesTheReference() {
        let host = Host()
        // Blocks of eight rows and the reference for the rest; logits up to ±40, with and without bias.
        for (rows, columns) in [(8, 1), (8, 7), (19, 10), (32, 7), (3, 5)] {
            for withBias in [false, true] {
                let z = randomValues(rows * columns, seed: 11, low: -40, high: 40), bias = randomValues(columns, seed: 12, low: -3, high: 3)
                let zBuffer = host.buffer(z), y = host.backend.makeBuffer(count: rows * columns)
                host.backend.biasActivationForward(preActivation: zBuffer, bias: withBias ? host.buffer(bias) : nil, output: y, rows: rows,
                                                   columns: columns, activation: .softmax)
                var expectedZ = z, expectedY = [Float](repeating: 0, count: rows * columns)
                expectedZ.withUnsafeMutableBufferPointer { zp in expectedY.withUnsafeMutableBufferPointer { yp in bias.withUnsafeBufferPointer { bp in
                    CPUReference.biasActivationForward(z: zp.baseAddress!, bias: withBias ? bp.baseAddress! : nil, y: yp.baseAddress!, rows: rows,
                                                       columns: columns, activation: .softmax)
                } } }
                let label = "\(rows)×\(columns) bias=\(withBias)"
                XCTAssertEqual(host.values(zBuffer), expectedZ, "z " + label)
                assertClose(host.values(y), expectedY, absolute: 1e-7, relative: 1e-6, "softmax " + label)
            }
        }
    }

    func testAnImpossibleLabelGivesNaNAndLeavesTheRowsGradientAlone() {
        let result = run(.sparseCategoricalCrossentropy(fromLogits: true), logits: [1, 2, 3, 4, 5, 6], targets: [1, 7], weights: nil,
                         rows: 2, columns: 3, withGradient: true)
        XCTAssertTrue(result.fast.0.isNaN && result.reference.0.isNaN)
        XCTAssertEqual(Array(result.fast.1[3...]), [0, 0, 0])
        assertClose(result.fast.1, result.reference.1, absolute: 1e-7)
    }

    func testVectorisedExpIsWithinTwoUlpOfTheCLibrary() {
        var worst: Float = 0, worstAt: Float = 0
        var x: Float = -103
        while x <= 88.7 {
            let exact = Foundation.exp(x), fast = CPUBackend.expInline(x)
            let error = abs(fast - exact) / exact.ulp
            if error > worst { (worst, worstAt) = (error, x) }
            x += 0.000_731
        }
        XCTAssertLessThanOrEqual(worst, 2, "worst error \(worst) ulp at x = \(worstAt)")
        XCTAssertEqual([-Float.infinity, -200, -104.5, 0, -0.0, 89, .infinity].map(CPUBackend.expInline), [0, 0, 0, 1, 1, .infinity, .infinity])
        XCTAssertTrue(CPUBackend.expInline(.nan).isNaN)
    }
}
