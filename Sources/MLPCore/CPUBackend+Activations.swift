/// The element-wise activations (softmax, row-wise, is ``CPUBackend/softmaxForwardVectorised(z:bias:y:rows:columns:)``),
/// eight lanes at a time.
///
/// Bit-identical to the ``CPUReference`` loops (the same arithmetic in the same order; tested): linear, ReLU, leaky
/// ReLU, ReLU6, hard sigmoid and softsign forward, and every backward that needs no transcendental function (linear,
/// ReLU, sigmoid, tanh, ELU, leaky ReLU, ReLU6, hard sigmoid, softsign, exponential). With ``expVectorised(_:)`` instead of the C library's
/// `expf`/`tanhf` (one call per value, each with an AVX state change): sigmoid, SiLU, tanh and exponential forward,
/// SiLU's and softplus' backward, within a few ulp of the reference, and mish forward and backward (tested). Softplus, ELU, SELU and GELU forward and
/// SELU's and GELU's backward run the reference loops.
extension CPUBackend {
    public func biasActivationForward(preActivation z: DeviceBuffer, bias: DeviceBuffer?, output y: DeviceBuffer,
                                      rows: Int, columns: Int, activation: Activation) {
        if activation == .softmax {
            CPUBackend.softmaxForwardVectorised(z: ptr(z), bias: bias.map { UnsafePointer(ptr($0)) }, y: ptr(y), rows: rows, columns: columns)
            return
        }
        if CPUBackend.hasVectorisedForward(activation) {
            run(.biasActivation(z: ptr(z), bias: bias.map { UnsafePointer(ptr($0)) }, y: ptr(y), columns: columns, activation: activation),
                count: rows * columns)
            return
        }
        CPUReference.biasActivationForward(z: ptr(z), bias: bias.map { UnsafePointer(ptr($0)) }, y: ptr(y),
                                           rows: rows, columns: columns, activation: activation)
    }

    public func activationBackward(outputGradient dy: DeviceBuffer, preActivation z: DeviceBuffer, output y: DeviceBuffer,
                                   inputGradient dz: DeviceBuffer, rows: Int, columns: Int, activation: Activation) {
        if CPUBackend.hasVectorisedBackward(activation) {
            run(.activationBackward(dy: ptr(dy), z: ptr(z), y: ptr(y), dz: ptr(dz), activation: activation), count: rows * columns)
            return
        }
        CPUReference.activationBackward(dy: ptr(dy), z: ptr(z), y: ptr(y), dz: ptr(dz), rows: rows, columns: columns,
                                        activation: activation)
    }

    /// Whether ``biasActivationForwardVectorised(z:bias:y:rows:columns:activation:)`` covers `activation`.
    static func hasVectorisedForward(_ activation: Activation) -> Bool {
        switch activation {
        case .linear, .relu, .sigmoid, .silu, .tanh, .exponential, .leakyRelu, .relu6, .hardSigmoid, .softsign, .mish: return true
        default: return false
        }
    }

    /// Whether ``activationBackwardVectorised(dy:z:y:dz:range:activation:)`` covers `activation`.
    static func hasVectorisedBackward(_ activation: Activation) -> Bool {
        switch activation {
        case .linear, .relu, .sigmoid, .tanh, .elu, .leakyRelu, .relu6, .hardSigmoid, .softsign, .exponential, .silu, .softplus, .mish:
            return true
        default: return false
        }
    }

    /// `Z += bias` (if any), `Y = f(Z)`, rows `range` of a (rows, columns) matrix, for the activations
    /// ``hasVectorisedForward(_:)`` lists. A row's last `columns mod 8` values come from one vector over its last 8
    /// columns, computed from the old values before the loop and stored after it; rows under 8 wide run the reference.
    static func biasActivationForwardVectorised(z: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
                                                rows range: Range<Int>, columns: Int, activation: Activation) {
        guard columns >= 8 else {
            CPUReference.biasActivationForward(z: z + range.lowerBound * columns, bias: bias, y: y + range.lowerBound * columns,
                                               rows: range.count, columns: columns, activation: activation)
            return
        }
        // One copy of the loop per activation, each with a constant activation (a switch per vector, or a closure
        // the compiler left as a call per vector, cost more than the cheap activations themselves).
        switch activation {
        case .linear: biasActivationRows(z: z, bias: bias, y: y, rows: range, columns: columns, activation: .linear)
        case .relu: biasActivationRows(z: z, bias: bias, y: y, rows: range, columns: columns, activation: .relu)
        case .sigmoid: biasActivationRows(z: z, bias: bias, y: y, rows: range, columns: columns, activation: .sigmoid)
        case .silu: biasActivationRows(z: z, bias: bias, y: y, rows: range, columns: columns, activation: .silu)
        case .tanh: biasActivationRows(z: z, bias: bias, y: y, rows: range, columns: columns, activation: .tanh)
        case .exponential: biasActivationRows(z: z, bias: bias, y: y, rows: range, columns: columns, activation: .exponential)
        case .leakyRelu: biasActivationRows(z: z, bias: bias, y: y, rows: range, columns: columns, activation: .leakyRelu)
        case .relu6: biasActivationRows(z: z, bias: bias, y: y, rows: range, columns: columns, activation: .relu6)
        case .hardSigmoid: biasActivationRows(z: z, bias: bias, y: y, rows: range, columns: columns, activation: .hardSigmoid)
        case .softsign: biasActivationRows(z: z, bias: bias, y: y, rows: range, columns: columns, activation: .softsign)
        case .mish: biasActivationRows(z: z, bias: bias, y: y, rows: range, columns: columns, activation: .mish)
        default: preconditionFailure("biasActivationForwardVectorised: \(activation) has no vectorised form")
        }
    }

    /// The row loop of ``biasActivationForwardVectorised(z:bias:y:rows:columns:activation:)``.
    @inline(always)
    static func biasActivationRows(z: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
                                   rows range: Range<Int>, columns: Int, activation: Activation) {
        let tail = columns % 8 != 0 ? columns - 8 : nil
        for r in range {
            let zRow = z + r * columns, yRow = y + r * columns
            var tailZ = SIMD8<Float>()
            if let tail {
                tailZ = load(zRow + tail)
                if let bias { tailZ += load(bias + tail) }
            }
            var j = 0
            while j + 8 <= columns {
                var zj = load(zRow + j)
                if let bias {
                    zj += load(bias + j)
                    store(zj, zRow + j)
                }
                store(activationLanes(zj, activation), yRow + j)
                j += 8
            }
            if let tail {
                if bias != nil { store(tailZ, zRow + tail) }
                store(activationLanes(tailZ, activation), yRow + tail)
            }
        }
    }

    /// `dZ = dY ⊙ f'(Z)` over elements `range`, for the activations ``hasVectorisedBackward(_:)`` lists; a tail of 1–7
    /// elements from the last 8, computed before the loop (dZ may be dY) and stored after it; under 8 elements, the reference.
    static func activationBackwardVectorised(dy: UnsafePointer<Float>, z: UnsafePointer<Float>, y: UnsafePointer<Float>,
                                             dz: UnsafeMutablePointer<Float>, range: Range<Int>, activation: Activation) {
        guard range.count >= 8 else {
            let i = range.lowerBound
            CPUReference.activationBackward(dy: dy + i, z: z + i, y: y + i, dz: dz + i, rows: 1, columns: range.count, activation: activation)
            return
        }
        switch activation {
        case .linear: backwardLoop(dy: dy, z: z, y: y, dz: dz, range: range, activation: .linear)
        case .relu: backwardLoop(dy: dy, z: z, y: y, dz: dz, range: range, activation: .relu)
        case .sigmoid: backwardLoop(dy: dy, z: z, y: y, dz: dz, range: range, activation: .sigmoid)
        case .tanh: backwardLoop(dy: dy, z: z, y: y, dz: dz, range: range, activation: .tanh)
        case .elu: backwardLoop(dy: dy, z: z, y: y, dz: dz, range: range, activation: .elu)
        case .leakyRelu: backwardLoop(dy: dy, z: z, y: y, dz: dz, range: range, activation: .leakyRelu)
        case .relu6: backwardLoop(dy: dy, z: z, y: y, dz: dz, range: range, activation: .relu6)
        case .hardSigmoid: backwardLoop(dy: dy, z: z, y: y, dz: dz, range: range, activation: .hardSigmoid)
        case .softsign: backwardLoop(dy: dy, z: z, y: y, dz: dz, range: range, activation: .softsign)
        case .exponential: backwardLoop(dy: dy, z: z, y: y, dz: dz, range: range, activation: .exponential)
        case .silu: backwardLoop(dy: dy, z: z, y: y, dz: dz, range: range, activation: .silu)
        case .softplus: backwardLoop(dy: dy, z: z, y: y, dz: dz, range: range, activation: .softplus)
        case .mish: backwardLoop(dy: dy, z: z, y: y, dz: dz, range: range, activation: .mish)
        default: preconditionFailure("activationBackwardVectorised: \(activation) has no vectorised form")
        }
    }

    /// The loop of ``activationBackwardVectorised(dy:z:y:dz:range:activation:)``.
    @inline(always)
    static func backwardLoop(dy: UnsafePointer<Float>, z: UnsafePointer<Float>, y: UnsafePointer<Float>, dz: UnsafeMutablePointer<Float>,
                             range: Range<Int>, activation: Activation) {
        let upper = range.upperBound
        let hasTail = range.count % 8 != 0
        let tail = hasTail ? load(dy + upper - 8) * derivativeLanes(z: load(z + upper - 8), y: load(y + upper - 8), activation) : SIMD8()
        var i = range.lowerBound
        while i + 8 <= upper {
            store(load(dy + i) * derivativeLanes(z: load(z + i), y: load(y + i), activation), dz + i)
            i += 8
        }
        if hasTail { store(tail, dz + upper - 8) }
    }

    /// ``Activation/value(_:)`` on eight lanes.
    @inline(always)
    static func activationLanes(_ z: SIMD8<Float>, _ activation: Activation) -> SIMD8<Float> {
        let zero = SIMD8<Float>(), one = SIMD8<Float>(repeating: 1)
        switch activation {
        case .linear:
            return z
        case .relu:
            return zero.replacing(with: z, where: z .> zero)
        case .sigmoid:
            return sigmoidLanes(z)
        case .silu:
            return z * sigmoidLanes(z)
        case .tanh:
            return tanhLanes(z)
        case .exponential:
            return expVectorised(z)
        case .leakyRelu:
            return (SIMD8(repeating: Activation.leakyReluSlope) * z).replacing(with: z, where: z .> zero)
        case .relu6:
            return clampLanes(z, upper: SIMD8(repeating: 6))
        case .hardSigmoid:
            let six = SIMD8<Float>(repeating: 6)
            return clampLanes(z + SIMD8(repeating: 3), upper: six) / six
        case .softsign:
            return z / (z.replacing(with: -z, where: z .< zero) + one)
        case .mish:
            return z * tanhSoftplusLanes(z)
        default:
            preconditionFailure("activationLanes: \(activation) has no vectorised form")
        }
    }

    /// ``Activation/derivative(z:y:)`` on eight lanes.
    @inline(always)
    static func derivativeLanes(z: SIMD8<Float>, y: SIMD8<Float>, _ activation: Activation) -> SIMD8<Float> {
        let zero = SIMD8<Float>(), one = SIMD8<Float>(repeating: 1)
        switch activation {
        case .linear:
            return one
        case .relu:
            return zero.replacing(with: one, where: z .> zero)
        case .sigmoid:
            return y * (one - y)
        case .tanh:
            return one - y * y
        case .elu:
            return (y + one).replacing(with: one, where: z .> zero)
        case .leakyRelu:
            return SIMD8<Float>(repeating: Activation.leakyReluSlope).replacing(with: one, where: z .> zero)
        // `(z > a && z < b) ? c : 0` as two nested blends on `.>` and `.<` against typed constants (a mask `.&`, a
        // `.>=`, or a comparison with an inline `SIMD8(repeating:)`, compiled to a lane-by-lane loop here).
        case .relu6:
            let six = SIMD8<Float>(repeating: 6)
            return zero.replacing(with: zero.replacing(with: one, where: z .< six), where: z .> zero)
        case .hardSigmoid:
            let three = SIMD8<Float>(repeating: 3), minusThree = SIMD8<Float>(repeating: -3)
            let inside = zero.replacing(with: SIMD8<Float>(repeating: 1.0 / 6.0), where: z .< three)
            return zero.replacing(with: inside, where: z .> minusThree)
        case .softsign:
            let d = one + z.replacing(with: -z, where: z .< zero)
            return one / (d * d)
        case .exponential:
            return y
        case .silu:
            let s = sigmoidLanes(z)
            return s + z * s * (one - s)
        case .softplus:
            return sigmoidLanes(z)
        case .mish:
            let t = tanhSoftplusLanes(z)
            return t + z * (one - t * t) * sigmoidLanes(z)
        default:
            preconditionFailure("derivativeLanes: \(activation) has no vectorised form")
        }
    }

    /// ``Activation/sigmoid(_:)`` on eight lanes: `1/(1 + e^−z)` for z ≥ 0, `e^z/(1 + e^z)` below, so neither overflows.
    @inline(always)
    static func sigmoidLanes(_ z: SIMD8<Float>) -> SIMD8<Float> {
        let negative = z .< SIMD8<Float>()
        let e = expVectorised(z.replacing(with: -z, where: .!negative))
        let d = 1 + e
        return (1 / d).replacing(with: e / d, where: negative)
    }

    /// `tanh(softplus(z))` on eight lanes from one `exp`: with `e = e^z`, `tanh(log(1 + e)) = n/(n + 2)` where
    /// `n = e·(e + 2)`. `z` is clamped to 20 first (where the value is already 1 in `Float`, as the reference's;
    /// `n` would overflow past z ≈ 44); NaN stays NaN.
    @inline(always)
    static func tanhSoftplusLanes(_ z: SIMD8<Float>) -> SIMD8<Float> {
        let limit = SIMD8<Float>(repeating: 20)
        let e = expVectorised(z.replacing(with: limit, where: z .> limit))
        let n = e * (e + 2)
        return n / (n + 2)
    }

    /// `tanh` on eight lanes: an odd polynomial below |z| = 0.625 (Cephes' single-precision coefficients), else
    /// `±(1 − 2/(e^{2|z|} + 1))`.
    @inline(always)
    static func tanhLanes(_ z: SIMD8<Float>) -> SIMD8<Float> {
        let negative = z .< SIMD8<Float>()
        let magnitude = z.replacing(with: -z, where: negative)
        let large = 1 - 2 / (expVectorised(magnitude + magnitude) + 1)
        let s = z * z
        var p = SIMD8<Float>(repeating: -5.704_988_727_45e-3)
        p = p * s + 2.063_908_879_54e-2
        p = p * s - 5.373_971_555_31e-2
        p = p * s + 1.333_144_220_36e-1
        p = p * s - 3.333_328_194_22e-1
        let small = z + z * s * p
        let polynomialLimit = SIMD8<Float>(repeating: 0.625)
        return large.replacing(with: -large, where: negative).replacing(with: small, where: magnitude .< polynomialLimit)
    }

    /// `min(max(z, 0), upper)` with Swift's `max`/`min` semantics lane by lane (`0 >= z ? 0 : z`: +0 for −0, NaN
    /// kept; then `upper < m ? upper : m`), as the reference's ReLU6 and hard sigmoid; on `.>`, `.<` and `.!=` only.
    @inline(always)
    static func clampLanes(_ z: SIMD8<Float>, upper: SIMD8<Float>) -> SIMD8<Float> {
        let m = SIMD8<Float>().replacing(with: z, where: z .> SIMD8<Float>()).replacing(with: z, where: z .!= z)
        return m.replacing(with: upper, where: upper .< m)
    }

    /// ``CPUReference/biasActivationForward(z:bias:y:rows:columns:activation:)`` for softmax: `Z += bias`, then
    /// each row's `exp(z − max) / Σexp(z − max)`, eight rows at a time (one per lane) with the vectorised `exp`
    /// (the reference calls the C library's `expf` per value); the rows past the last block of eight take the
    /// reference. Within 1e-6 (relative) of the reference (tested).
    static func softmaxForwardVectorised(z: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
                                         rows: Int, columns: Int) {
        var r0 = 0
        while r0 + 8 <= rows {
            let zBlock = z + r0 * columns, yBlock = y + r0 * columns
            var maximum = SIMD8<Float>(repeating: -.infinity)
            for j in 0..<columns {
                var value = gatherLanes(zBlock + j, stride: columns)
                if let bias {
                    value += SIMD8(repeating: bias[j])
                    scatterLanes(value, zBlock + j, stride: columns)
                }
                // Swift's max(maximum, value), as the reference: value when value >= maximum.
                maximum.replace(with: value, where: value .>= maximum)
            }
            var sum = SIMD8<Float>()
            for j in 0..<columns {
                let e = expVectorised(gatherLanes(zBlock + j, stride: columns) - maximum)
                scatterLanes(e, yBlock + j, stride: columns)
                sum += e
            }
            for j in 0..<columns { scatterLanes(gatherLanes(yBlock + j, stride: columns) / sum, yBlock + j, stride: columns) }
            r0 += 8
        }
        if r0 < rows {
            CPUReference.biasActivationForward(z: z + r0 * columns, bias: bias, y: y + r0 * columns, rows: rows - r0, columns: columns,
                                               activation: .softmax)
        }
    }
}
