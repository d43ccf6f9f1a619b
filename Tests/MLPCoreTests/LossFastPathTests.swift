import XCTest
@testable import MLPCore
import MLPTestSupport

/// The CPU backend's cross-entropy from logits against ``CPUReference/lossForwardBackward``: the sparse loss to
/// the bit, the categorical loss and every gradient within 1e-6 (one `exp` per logit instead of two).
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
        let rows = 37, columns = 7
        // Logits up to ±30: large enough that a naive softmax would overflow in exp without the max shift.
        let logits = randomValues(rows * columns, seed: 4, low: -30, high: 30)
        let labels = (0..<rows).map { Float(($0 * 5) % columns) }
        let oneHot = (0..<(rows * columns)).map { labels[$0 / columns] == Float($0 % columns) ? Float(1) : 0 }
        let soft = randomValues(rows * columns, seed: 5, low: 0, high: 1)
        for weights in [nil, randomValues(rows, seed: 6, low: 0, high: 2)] {
            for withGradient in [false, true] {
                let sparse = run(.sparseCategoricalCrossentropy(fromLogits: true), logits: logits, targets: labels, weights: weights,
                                 rows: rows, columns: columns, withGradient: withGradient)
                let label = "weights=\(weights != nil) gradient=\(withGradient)"
                XCTAssertEqual(sparse.fast.0.bitPattern, sparse.reference.0.bitPattern, "sparse loss \(sparse.fast.0) vs \(sparse.reference.0) \(label)")
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

    func testAnImpossibleLabelGivesNaNAndLeavesTheRowsGradientAlone() {
        let result = run(.sparseCategoricalCrossentropy(fromLogits: true), logits: [1, 2, 3, 4, 5, 6], targets: [1, 7], weights: nil,
                         rows: 2, columns: 3, withGradient: true)
        XCTAssertTrue(result.fast.0.isNaN && result.reference.0.isNaN)
        XCTAssertEqual(Array(result.fast.1[3...]), [0, 0, 0])
        assertClose(result.fast.1, result.reference.1, absolute: 1e-7)
    }
}
