import Foundation

/// The element-wise (and row-wise, for softmax) activations Keras offers, with Keras' constants.
///
/// The raw value is the Keras name (`"relu"`, `"leaky_relu"`, …); ``init(keras:)`` also takes the
/// aliases Keras accepts (`"swish"` for `silu`).
public enum Activation: String, CaseIterable, Sendable {
    case linear, relu, sigmoid, tanh, softmax, softplus, softsign, elu, selu, gelu, silu
    case leakyRelu = "leaky_relu"
    case relu6
    case hardSigmoid = "hard_sigmoid"
    case exponential
    /// `z·tanh(softplus(z))` (Misra 2019; Keras 3's `mish`).
    case mish

    /// SELU's α and scale (Klambauer et al., as in Keras).
    public static let seluAlpha: Float = 1.6732632423543772
    /// SELU's scale λ: `selu(x) = λ·x` for x > 0, `λ·α·(eˣ − 1)` otherwise.
    public static let seluScale: Float = 1.0507009873554805
    /// Keras 3's default negative slope for `leaky_relu`.
    public static let leakyReluSlope: Float = 0.2

    /// Looks a name up, accepting Keras aliases; throws ``MLPError/unknownName(kind:received:valid:)``.
    public init(keras name: String) throws {
        let key = name.lowercased()
        if let known = Activation(rawValue: key) {
            self = known
        } else if key == "swish" {
            self = .silu
        } else if key == "none" || key.isEmpty {
            self = .linear
        } else {
            throw MLPError.unknownName(kind: "activation", received: name, valid: Activation.allCases.map(\.rawValue))
        }
    }

    /// `f(z)` for the element-wise activations (softmax is row-wise: see ``CPUReference/softmaxRow(_:into:count:)``).
    @inline(__always)
    public func value(_ z: Float) -> Float {
        switch self {
        case .linear, .softmax: return z
        case .relu: return z > 0 ? z : 0
        case .sigmoid: return Activation.sigmoid(z)
        case .tanh: return Foundation.tanh(z)
        case .softplus: return Activation.softplus(z)
        case .softsign: return z / (abs(z) + 1)
        case .elu: return z > 0 ? z : expm1(z)
        case .selu: return Activation.seluScale * (z > 0 ? z : Activation.seluAlpha * expm1(z))
        case .gelu: return 0.5 * z * (1 + erf(z * 0.70710678118654752))
        case .silu: return z * Activation.sigmoid(z)
        case .leakyRelu: return z > 0 ? z : Activation.leakyReluSlope * z
        case .relu6: return min(max(z, 0), 6)
        case .hardSigmoid: return min(max(z + 3, 0), 6) / 6
        case .exponential: return exp(z)
        case .mish: return z * Foundation.tanh(Activation.softplus(z))
        }
    }

    /// `f'(z)`, given `z` and `y = f(z)` (whichever is cheaper is used). Not for softmax.
    @inline(__always)
    public func derivative(z: Float, y: Float) -> Float {
        switch self {
        case .linear, .softmax: return 1
        case .relu: return z > 0 ? 1 : 0
        case .sigmoid: return y * (1 - y)
        case .tanh: return 1 - y * y
        case .softplus: return Activation.sigmoid(z)
        case .softsign: let d = 1 + abs(z); return 1 / (d * d)
        case .elu: return z > 0 ? 1 : y + 1
        case .selu: return z > 0 ? Activation.seluScale : Activation.seluScale * Activation.seluAlpha * exp(z)
        case .gelu: return 0.5 * (1 + erf(z * 0.70710678118654752)) + z * 0.39894228040143268 * exp(-0.5 * z * z)
        case .silu: let s = Activation.sigmoid(z); return s + z * s * (1 - s)
        case .leakyRelu: return z > 0 ? 1 : Activation.leakyReluSlope
        case .relu6: return (z > 0 && z < 6) ? 1 : 0
        case .hardSigmoid: return (z > -3 && z < 3) ? 1.0 / 6.0 : 0
        case .exponential: return y
        // tanh(sp) + z·sech²(sp)·σ(z), sp = softplus(z).
        case .mish: let t = Foundation.tanh(Activation.softplus(z)); return t + z * (1 - t * t) * Activation.sigmoid(z)
        }
    }

    /// `log(1 + e^z)`, written so it neither overflows nor loses small values.
    @inline(__always)
    public static func softplus(_ z: Float) -> Float { max(z, 0) + log1p(exp(-abs(z))) }

    /// The logistic function, written so neither branch overflows.
    @inline(__always)
    public static func sigmoid(_ z: Float) -> Float {
        if z >= 0 { return 1 / (1 + exp(-z)) }
        let e = exp(z)
        return e / (1 + e)
    }
}
