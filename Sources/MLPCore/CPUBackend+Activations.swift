/// The element-wise activations (softmax, row-wise, is ``CPUBackend/softmaxForwardVectorised(z:bias:y:rows:columns:)``),
/// in `SIMD8` vectors, and on an AVX-512 build the ones that compute `exp` in `SIMD16` (rows or ranges of at least 16).
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

    /// Whether `activation`'s vectorised forward computes ``expVectorised(_:)``: the ones that run in
    /// `ElementVector`s (`SIMD16` on an AVX-512 build: 1.5–1.7× faster than `SIMD8` there, `mlp-bench ops`); the
    /// others are a few operations per value, bound by memory, and measured slower in 16 lanes (0.75–0.9×), so
    /// they stay in `SIMD8`.
    static func computesExp(_ activation: Activation) -> Bool {
        switch activation {
        case .sigmoid, .silu, .tanh, .exponential, .mish: return true
        default: return false
        }
    }

    /// Whether `activation`'s vectorised backward computes ``expVectorised(_:)`` (see ``computesExp(_:)``).
    static func computesExp(derivativeOf activation: Activation) -> Bool {
        switch activation {
        case .silu, .softplus, .mish: return true
        default: return false
        }
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
        if columns >= ElementVector.scalarCount && computesExp(activation) {
            biasActivationLoops(z: z, bias: bias, y: y, rows: range, columns: columns, activation: activation, lanes: ElementVector.self)
        } else {
            biasActivationLoops(z: z, bias: bias, y: y, rows: range, columns: columns, activation: activation, lanes: SIMD8<Float>.self)
        }
    }

    /// ``biasActivationForwardVectorised(z:bias:y:rows:columns:activation:)`` in vectors of `V` (rows at least as wide).
    @inline(always)
    static func biasActivationLoops<V: FloatLanes>(z: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
                                                   rows range: Range<Int>, columns: Int, activation: Activation, lanes: V.Type) {
        // One copy of the loop per activation, each with a constant activation (a switch per vector, or a closure
        // the compiler left as a call per vector, cost more than the cheap activations themselves).
        switch activation {
        case .linear: biasActivationRows(z: z, bias: bias, y: y, rows: range, columns: columns, activation: .linear, lanes: V.self)
        case .relu: biasActivationRows(z: z, bias: bias, y: y, rows: range, columns: columns, activation: .relu, lanes: V.self)
        case .sigmoid: biasActivationRows(z: z, bias: bias, y: y, rows: range, columns: columns, activation: .sigmoid, lanes: V.self)
        case .silu: biasActivationRows(z: z, bias: bias, y: y, rows: range, columns: columns, activation: .silu, lanes: V.self)
        case .tanh: biasActivationRows(z: z, bias: bias, y: y, rows: range, columns: columns, activation: .tanh, lanes: V.self)
        case .exponential: biasActivationRows(z: z, bias: bias, y: y, rows: range, columns: columns, activation: .exponential, lanes: V.self)
        case .leakyRelu: biasActivationRows(z: z, bias: bias, y: y, rows: range, columns: columns, activation: .leakyRelu, lanes: V.self)
        case .relu6: biasActivationRows(z: z, bias: bias, y: y, rows: range, columns: columns, activation: .relu6, lanes: V.self)
        case .hardSigmoid: biasActivationRows(z: z, bias: bias, y: y, rows: range, columns: columns, activation: .hardSigmoid, lanes: V.self)
        case .softsign: biasActivationRows(z: z, bias: bias, y: y, rows: range, columns: columns, activation: .softsign, lanes: V.self)
        case .mish: biasActivationRows(z: z, bias: bias, y: y, rows: range, columns: columns, activation: .mish, lanes: V.self)
        default: preconditionFailure("biasActivationForwardVectorised: \(activation) has no vectorised form")
        }
    }

    /// The row loop of ``biasActivationForwardVectorised(z:bias:y:rows:columns:activation:)`` in vectors of `V`: a
    /// row's last `columns mod V.scalarCount` values come from one vector over its last lanes, computed from the
    /// old values before the loop and stored after it.
    @inline(always)
    static func biasActivationRows<V: FloatLanes>(z: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
                                                  rows range: Range<Int>, columns: Int, activation: Activation, lanes: V.Type) {
        let width = V.scalarCount
        let tail = columns % width != 0 ? columns - width : nil
        for r in range {
            let zRow = z + r * columns, yRow = y + r * columns
            var tailZ = V()
            if let tail {
                tailZ = loadLanes(zRow + tail)
                if let bias { tailZ = tailZ + loadLanes(bias + tail) }
            }
            var j = 0
            while j + width <= columns {
                var zj: V = loadLanes(zRow + j)
                if let bias {
                    zj = zj + loadLanes(bias + j)
                    storeLanes(zj, zRow + j)
                }
                storeLanes(activationLanes(zj, activation), yRow + j)
                j += width
            }
            if let tail {
                if bias != nil { storeLanes(tailZ, zRow + tail) }
                storeLanes(activationLanes(tailZ, activation), yRow + tail)
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
        if range.count >= ElementVector.scalarCount && computesExp(derivativeOf: activation) {
            backwardLoops(dy: dy, z: z, y: y, dz: dz, range: range, activation: activation, lanes: ElementVector.self)
        } else {
            backwardLoops(dy: dy, z: z, y: y, dz: dz, range: range, activation: activation, lanes: SIMD8<Float>.self)
        }
    }

    /// ``activationBackwardVectorised(dy:z:y:dz:range:activation:)`` in vectors of `V` (a range at least as long).
    @inline(always)
    static func backwardLoops<V: FloatLanes>(dy: UnsafePointer<Float>, z: UnsafePointer<Float>, y: UnsafePointer<Float>,
                                             dz: UnsafeMutablePointer<Float>, range: Range<Int>, activation: Activation, lanes: V.Type) {
        switch activation {
        case .linear: backwardLoop(dy: dy, z: z, y: y, dz: dz, range: range, activation: .linear, lanes: V.self)
        case .relu: backwardLoop(dy: dy, z: z, y: y, dz: dz, range: range, activation: .relu, lanes: V.self)
        case .sigmoid: backwardLoop(dy: dy, z: z, y: y, dz: dz, range: range, activation: .sigmoid, lanes: V.self)
        case .tanh: backwardLoop(dy: dy, z: z, y: y, dz: dz, range: range, activation: .tanh, lanes: V.self)
        case .elu: backwardLoop(dy: dy, z: z, y: y, dz: dz, range: range, activation: .elu, lanes: V.self)
        case .leakyRelu: backwardLoop(dy: dy, z: z, y: y, dz: dz, range: range, activation: .leakyRelu, lanes: V.self)
        case .relu6: backwardLoop(dy: dy, z: z, y: y, dz: dz, range: range, activation: .relu6, lanes: V.self)
        case .hardSigmoid: backwardLoop(dy: dy, z: z, y: y, dz: dz, range: range, activation: .hardSigmoid, lanes: V.self)
        case .softsign: backwardLoop(dy: dy, z: z, y: y, dz: dz, range: range, activation: .softsign, lanes: V.self)
        case .exponential: backwardLoop(dy: dy, z: z, y: y, dz: dz, range: range, activation: .exponential, lanes: V.self)
        case .silu: backwardLoop(dy: dy, z: z, y: y, dz: dz, range: range, activation: .silu, lanes: V.self)
        case .softplus: backwardLoop(dy: dy, z: z, y: y, dz: dz, range: range, activation: .softplus, lanes: V.self)
        case .mish: backwardLoop(dy: dy, z: z, y: y, dz: dz, range: range, activation: .mish, lanes: V.self)
        default: preconditionFailure("activationBackwardVectorised: \(activation) has no vectorised form")
        }
    }

    /// The loop of ``activationBackwardVectorised(dy:z:y:dz:range:activation:)`` in vectors of `V`: a tail of fewer
    /// than `V.scalarCount` elements from the last vector, computed before the loop (dZ may be dY) and stored after it.
    @inline(always)
    static func backwardLoop<V: FloatLanes>(dy: UnsafePointer<Float>, z: UnsafePointer<Float>, y: UnsafePointer<Float>,
                                            dz: UnsafeMutablePointer<Float>, range: Range<Int>, activation: Activation, lanes: V.Type) {
        let width = V.scalarCount
        let upper = range.upperBound
        let hasTail = range.count % width != 0
        var tail = V()
        if hasTail {
            let last = upper - width
            tail = loadLanes(dy + last) * derivativeLanes(z: loadLanes(z + last) as V, y: loadLanes(y + last), activation)
        }
        var i = range.lowerBound
        while i + width <= upper {
            storeLanes(loadLanes(dy + i) * derivativeLanes(z: loadLanes(z + i) as V, y: loadLanes(y + i), activation), dz + i)
            i += width
        }
        if hasTail { storeLanes(tail, dz + upper - width) }
    }

    /// ``Activation/value(_:)`` on every lane.
    @inline(always)
    static func activationLanes<V: FloatLanes>(_ z: V, _ activation: Activation) -> V {
        let zero = V(), one = V(repeating: 1)
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
            return (V(repeating: Activation.leakyReluSlope) * z).replacing(with: z, where: z .> zero)
        case .relu6:
            return clampLanes(z, upper: V(repeating: 6))
        case .hardSigmoid:
            let six = V(repeating: 6)
            return clampLanes(z + V(repeating: 3), upper: six) / six
        case .softsign:
            return z / (z.replacing(with: -z, where: z .< zero) + one)
        case .mish:
            return z * tanhSoftplusLanes(z)
        default:
            preconditionFailure("activationLanes: \(activation) has no vectorised form")
        }
    }

    /// ``Activation/derivative(z:y:)`` on every lane.
    @inline(always)
    static func derivativeLanes<V: FloatLanes>(z: V, y: V, _ activation: Activation) -> V {
        let zero = V(), one = V(repeating: 1)
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
            return V(repeating: Activation.leakyReluSlope).replacing(with: one, where: z .> zero)
        // `(z > a && z < b) ? c : 0` as two nested blends on `.>` and `.<` against typed constants (a mask `.&`, a
        // `.>=`, or a comparison with an inline `V(repeating:)`, compiled to a lane-by-lane loop here).
        case .relu6:
            let six = V(repeating: 6)
            return zero.replacing(with: zero.replacing(with: one, where: z .< six), where: z .> zero)
        case .hardSigmoid:
            let three = V(repeating: 3), minusThree = V(repeating: -3)
            let inside = zero.replacing(with: V(repeating: 1.0 / 6.0), where: z .< three)
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

    /// ``Activation/sigmoid(_:)`` on every lane: `1/(1 + e^−z)` for z ≥ 0, `e^z/(1 + e^z)` below, so neither overflows.
    @inline(always)
    static func sigmoidLanes<V: FloatLanes>(_ z: V) -> V {
        let negative = z .< V()
        // −|z| (Swift's prefix minus on the non-negative lanes, as the reference's `exp(-z)`).
        let e = expVectorised((-z).replacing(with: z, where: negative))
        let one = V(repeating: 1)
        let d = one + e
        return (one / d).replacing(with: e / d, where: negative)
    }

    /// `tanh(softplus(z))` on every lane from one `exp`: with `e = e^z`, `tanh(log(1 + e)) = n/(n + 2)` where
    /// `n = e·(e + 2)`. `z` is clamped to 20 first (where the value is already 1 in `Float`, as the reference's;
    /// `n` would overflow past z ≈ 44); NaN stays NaN.
    @inline(always)
    static func tanhSoftplusLanes<V: FloatLanes>(_ z: V) -> V {
        let limit = V(repeating: 20)
        let e = expVectorised(z.replacing(with: limit, where: z .> limit))
        let two = V(repeating: 2)
        let n = e * (e + two)
        return n / (n + two)
    }

    /// `tanh` on every lane: an odd polynomial below |z| = 0.625 (Cephes' single-precision coefficients), else
    /// `±(1 − 2/(e^{2|z|} + 1))`.
    @inline(always)
    static func tanhLanes<V: FloatLanes>(_ z: V) -> V {
        let negative = z .< V()
        let magnitude = z.replacing(with: -z, where: negative)
        let one = V(repeating: 1)
        let large = one - V(repeating: 2) / (expVectorised(magnitude + magnitude) + one)
        let s = z * z
        var p = V(repeating: -5.704_988_727_45e-3)
        p = p * s + V(repeating: 2.063_908_879_54e-2)
        p = p * s - V(repeating: 5.373_971_555_31e-2)
        p = p * s + V(repeating: 1.333_144_220_36e-1)
        p = p * s - V(repeating: 3.333_328_194_22e-1)
        let small = z + z * s * p
        let polynomialLimit = V(repeating: 0.625)
        return large.replacing(with: -large, where: negative).replacing(with: small, where: magnitude .< polynomialLimit)
    }

    /// `min(max(z, 0), upper)` with Swift's `max`/`min` semantics lane by lane (`0 >= z ? 0 : z`: +0 for −0, NaN
    /// kept; then `upper < m ? upper : m`), as the reference's ReLU6 and hard sigmoid; on `.>`, `.<` and `.!=` only.
    @inline(always)
    static func clampLanes<V: FloatLanes>(_ z: V, upper: V) -> V {
        let m = V().replacing(with: z, where: z .> V()).replacing(with: z, where: z .!= z)
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
