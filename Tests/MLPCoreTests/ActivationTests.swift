import XCTest
@testable import MLPCore
import MLPTestSupport

/// The CPU backend's vectorised activations (``CPUBackend/biasActivationForwardVectorised(z:bias:y:rows:columns:activation:)``,
/// ``CPUBackend/activationBackwardVectorised(dy:z:y:dz:range:activation:)``) against the ``CPUReference`` loops:
/// bit-identical where the arithmetic has no transcendental function, within 4 ulp where the vectorised `exp` stands
/// in for the C library's `expf`/`tanhf`. Shapes cover rows under 8 wide (the reference), tails, and a matrix above
/// the parallel threshold.
final class ActivationTests: XCTestCase {
    // Under 8, 8–15 and 16 or more wide, with tails (`SIMD8`, and `SIMD16` on an AVX-512 build).
    static let shapes = [(3, 5), (4, 9), (5, 16), (3, 17), (2, 31), (7, 37), (2, 8), (300, 230)]

    /// Values over [−8, 8] with the activations' break points (0, −0, ±3, 6) spliced in.
    func inputs(_ count: Int, seed: UInt64, scale: Float = 8) -> [Float] {
        var values = randomValues(count, seed: seed, low: -scale, high: scale)
        let special: [Float] = [0, -0.0, 3, -3, 6, -6, 1e-30, -1e-30]
        for (index, value) in special.enumerated() where index * 3 < count { values[index * 3] = value }
        return values
    }

    func forward(_ activation: Activation, rows: Int, columns: Int, z: [Float], bias: [Float],
                 host: Host) -> (backend: (z: [Float], y: [Float]), reference: (z: [Float], y: [Float])) {
        let zBuffer = host.buffer(z), yBuffer = host.buffer([Float](repeating: 0, count: z.count))
        host.backend.biasActivationForward(preActivation: zBuffer, bias: host.buffer(bias), output: yBuffer, rows: rows, columns: columns,
                                           activation: activation)
        var referenceZ = z, referenceY = [Float](repeating: 0, count: z.count)
        CPUReference.biasActivationForward(z: &referenceZ, bias: bias, y: &referenceY, rows: rows, columns: columns, activation: activation)
        return ((host.values(zBuffer), host.values(yBuffer)), (referenceZ, referenceY))
    }

    func backward(_ activation: Activation, z: [Float], host: Host) -> (backend: [Float], reference: [Float]) {
        let count = z.count
        var y = [Float](repeating: 0, count: count), zCopy = z
        CPUReference.biasActivationForward(z: &zCopy, bias: nil, y: &y, rows: 1, columns: count, activation: activation)
        let dy = randomValues(count, seed: 9)
        let dz = host.buffer([Float](repeating: 0, count: count))
        host.backend.activationBackward(outputGradient: host.buffer(dy), preActivation: host.buffer(z), output: host.buffer(y),
                                        inputGradient: dz, rows: 1, columns: count, activation: activation)
        var reference = [Float](repeating: 0, count: count)
        CPUReference.activationBackward(dy: dy, z: z, y: y, dz: &reference, rows: 1, columns: count, activation: activation)
        return (host.values(dz), reference)
    }

    func assertBitIdentical(_ actual: [Float], _ expected: [Float], _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        let differing = zip(actual, expected).enumerated().first { $0.element.0.bitPattern != $0.element.1.bitPattern }
        XCTAssertNil(differing, "\(message): first difference at \(differing?.offset ?? -1): \(differing.map { "\($0.element.0) vs \($0.element.1)" } ?? "")",
                     file: file, line: line)
    }

    /// Within `ulps` units in the last place of the reference value (equal infinities and zeros included), or within
    /// `absolute`.
    func assertWithinULPs(_ actual: [Float], _ expected: [Float], _ ulps: Float, absolute: Float = 0, _ message: String,
                          file: StaticString = #filePath, line: UInt = #line) {
        let worst = zip(actual, expected).enumerated().first { _, pair in
            let (a, e) = pair
            if a == e { return false }
            return !(abs(a - e) <= max(ulps * max(e.ulp, Float.leastNonzeroMagnitude), absolute))
        }
        XCTAssertNil(worst, "\(message): \(worst.map { "at \($0.offset): \($0.element.0) vs \($0.element.1)" } ?? "")", file: file, line: line)
    }

    func testExactForwardsAreBitIdenticalToTheReference() {
        let host = Host(threads: 2)
        for activation in [Activation.leakyRelu, .relu6, .hardSigmoid, .softsign] {
            XCTAssertTrue(CPUBackend.hasVectorisedForward(activation))
            for (rows, columns) in Self.shapes {
                let z = inputs(rows * columns, seed: 1), bias = randomValues(columns, seed: 2, low: -0.5, high: 0.5)
                let result = forward(activation, rows: rows, columns: columns, z: z, bias: bias, host: host)
                assertBitIdentical(result.backend.z, result.reference.z, "\(activation) z + bias \(rows)×\(columns)")
                assertBitIdentical(result.backend.y, result.reference.y, "\(activation) \(rows)×\(columns)")
            }
        }
    }

    func testExactBackwardsAreBitIdenticalToTheReference() {
        let host = Host(threads: 2)
        for activation in [Activation.sigmoid, .tanh, .elu, .leakyRelu, .relu6, .hardSigmoid, .softsign, .exponential] {
            XCTAssertTrue(CPUBackend.hasVectorisedBackward(activation))
            for count in [1, 7, 8, 9, 15, 16, 100, CPUBackend.elementwiseParallelThreshold + 13] {
                let result = backward(activation, z: inputs(count, seed: 3, scale: activation == .exponential ? 4 : 8), host: host)
                assertBitIdentical(result.backend, result.reference, "\(activation) backward count=\(count)")
            }
        }
    }

    func testExpBasedActivationsAreWithinFourULPsOfTheReference() {
        let host = Host(threads: 2)
        // Over the whole useful range: sigmoid and SiLU saturate, tanh reaches ±1, exp overflows and underflows.
        let wide = (0..<4096).map { -100 + 200 * Float($0) / 4095 } + inputs(4096, seed: 4, scale: 1) + inputs(4096, seed: 5, scale: 0.01)
        // Below z ≈ −87 the sigmoid is subnormal on both sides (a few significant digits, 4 subnormal steps apart at
        // most), and SiLU multiplies that by |z| ≤ 100: those values are compared to 4·100 subnormal steps.
        let subnormalSigmoidTimesZ = 4 * 100 * Float.leastNonzeroMagnitude
        for activation in [Activation.sigmoid, .silu, .tanh, .exponential] {
            XCTAssertTrue(CPUBackend.hasVectorisedForward(activation))
            let result = forward(activation, rows: wide.count / 64, columns: 64, z: wide, bias: [Float](repeating: 0, count: 64), host: host)
            assertWithinULPs(result.backend.y, result.reference.y, 4, absolute: activation == .silu ? subnormalSigmoidTimesZ : 0,
                             "\(activation) forward")
            for (rows, columns) in Self.shapes {
                let z = inputs(rows * columns, seed: 6), bias = randomValues(columns, seed: 7, low: -0.5, high: 0.5)
                let shaped = forward(activation, rows: rows, columns: columns, z: z, bias: bias, host: host)
                assertBitIdentical(shaped.backend.z, shaped.reference.z, "\(activation) z + bias \(rows)×\(columns)")
                assertWithinULPs(shaped.backend.y, shaped.reference.y, 4, "\(activation) \(rows)×\(columns)")
            }
        }
        for activation in [Activation.silu, .softplus] {
            XCTAssertTrue(CPUBackend.hasVectorisedBackward(activation))
            let result = backward(activation, z: wide, host: host)
            // dY ⊙ f'(Z): one more rounding than f' itself.
            assertWithinULPs(result.backend, result.reference, 6, absolute: subnormalSigmoidTimesZ, "\(activation) backward")
        }
    }

    /// Mish takes `tanh(softplus(z))` from one vectorised `exp` (``CPUBackend/tanhSoftplusLanes(_:)``) where the reference
    /// calls `expf`, `log1p` and `tanhf`: forward within 8 ulp of the reference; backward within 8 ulp, or 8 ulp of 1
    /// (9.5e-7) absolute, as both sides take `1 − t²` of a `t = tanh(softplus(z))` near 1 (z > 2) or cross zero
    /// (z ≈ −1.19), which turns their few-ulp difference in `t` into more ulp of the result.
    func testMishIsWithinULPsOfTheReference() {
        let host = Host(threads: 2)
        XCTAssertTrue(CPUBackend.hasVectorisedForward(.mish))
        XCTAssertTrue(CPUBackend.hasVectorisedBackward(.mish))
        let wide = (0..<4096).map { -100 + 200 * Float($0) / 4095 } + inputs(4096, seed: 4, scale: 1) + inputs(4096, seed: 5, scale: 0.01)
        // Below z ≈ −87 mish is z·e^z, subnormal on both sides: compared to 4·100 subnormal steps, as SiLU.
        let subnormalTimesZ = 4 * 100 * Float.leastNonzeroMagnitude
        let result = forward(.mish, rows: wide.count / 64, columns: 64, z: wide, bias: [Float](repeating: 0, count: 64), host: host)
        assertWithinULPs(result.backend.y, result.reference.y, 8, absolute: subnormalTimesZ, "mish forward")
        for (rows, columns) in Self.shapes {
            let z = inputs(rows * columns, seed: 6), bias = randomValues(columns, seed: 7, low: -0.5, high: 0.5)
            let shaped = forward(.mish, rows: rows, columns: columns, z: z, bias: bias, host: host)
            assertBitIdentical(shaped.backend.z, shaped.reference.z, "mish z + bias \(rows)×\(columns)")
            assertWithinULPs(shaped.backend.y, shaped.reference.y, 8, "mish \(rows)×\(columns)")
        }
        let backward = backward(.mish, z: wide, host: host)
        assertWithinULPs(backward.backend, backward.reference, 8, absolute: 8 * Float(1).ulp, "mish backward")
    }

    func testTheOthersStayOnTheReference() {
        for activation in [Activation.softplus, .elu, .selu, .gelu] { XCTAssertFalse(CPUBackend.hasVectorisedForward(activation)) }
        for activation in [Activation.selu, .gelu] { XCTAssertFalse(CPUBackend.hasVectorisedBackward(activation)) }
    }
}
