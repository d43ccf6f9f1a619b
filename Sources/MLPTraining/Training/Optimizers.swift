import Foundation
import MLPCore

/// Stochastic gradient descent with optional (Nesterov) momentum. Keras defaults: lr 0.01, momentum 0.
///
/// `v = μv − lr·g; w += v` (Nesterov: `w += μv − lr·g`); without momentum `w −= lr·g`.
public final class SGD: Optimizer {
    /// The momentum factor μ (0 by default: plain gradient descent, no velocity slot).
    public let momentum: Float
    /// Whether the Nesterov form of momentum is used (false by default).
    public let nesterov: Bool

    /// Creates the optimizer with Keras' defaults; the clipping and decay options are those of ``Optimizer``.
    public init(learningRate: Float = 0.01, momentum: Float = 0, nesterov: Bool = false, schedule: LearningRateSchedule? = nil,
                weightDecay: Float? = nil, clipnorm: Float? = nil, globalClipnorm: Float? = nil, clipvalue: Float? = nil) {
        self.momentum = momentum
        self.nesterov = nesterov
        super.init(learningRate: learningRate, schedule: schedule, weightDecay: weightDecay, clipnorm: clipnorm,
                   globalClipnorm: globalClipnorm, clipvalue: clipvalue)
    }

    public override var kerasClassName: String { "SGD" }
    public override var slotLayout: [(index: Int, name: String)] { momentum != 0 ? [(0, "m")] : [] }

    public override func update(_ parameter: Parameter, learningRate: Float, on backend: any Backend) {
        let velocity = momentum != 0 ? state(parameter, count: 1, on: backend)[0] : nil
        backend.sgdUpdate(weights: parameter.value, gradients: parameter.gradient!, velocity: velocity, count: parameter.count,
                          learningRate: learningRate, momentum: momentum, nesterov: nesterov)
    }

    public override var specificConfig: [String: ConfigValue] { ["momentum": .double(Double(momentum)), "nesterov": .bool(nesterov)] }
}

/// Adam (Kingma & Ba) as Keras writes it. Defaults: lr 0.001, β1 0.9, β2 0.999, ε 1e-7, AMSGrad off.
///
/// With `t` the step number: `α = lr·√(1−β2ᵗ)/(1−β1ᵗ)`, `m += (g−m)(1−β1)`, `v += (g²−v)(1−β2)`,
/// `w −= α·m/(√v + ε)`; AMSGrad uses `v̂ = max(v̂, v)` in place of `v`.
public class Adam: Optimizer {
    /// The decay rate β1 of the first-moment (mean) estimate (0.9 by default).
    public let beta1: Float
    /// The decay rate β2 of the second-moment (uncentred variance) estimate (0.999 by default).
    public let beta2: Float
    /// The ε added to `√v` for numerical stability (1e-7 by default, Keras' value rather than the paper's 1e-8).
    public let epsilon: Float
    /// Whether the AMSGrad variant (the running maximum of `v`, one more slot) is used (false by default).
    public let amsgrad: Bool
    var stepSizeFactor: Double = 1

    /// Creates the optimizer with Keras' defaults; the clipping and decay options are those of ``Optimizer``.
    public init(learningRate: Float = 0.001, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7, amsgrad: Bool = false,
                schedule: LearningRateSchedule? = nil, weightDecay: Float? = nil, clipnorm: Float? = nil,
                globalClipnorm: Float? = nil, clipvalue: Float? = nil) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.amsgrad = amsgrad
        super.init(learningRate: learningRate, schedule: schedule, weightDecay: weightDecay, clipnorm: clipnorm,
                   globalClipnorm: globalClipnorm, clipvalue: clipvalue)
    }

    public override var kerasClassName: String { "Adam" }
    public override var slotLayout: [(index: Int, name: String)] { [(0, "m"), (1, "v")] + (amsgrad ? [(2, "vhat")] : []) }

    public override func prepareStep() {
        let t = Double(iterations + 1)
        stepSizeFactor = (1 - pow(Double(beta2), t)).squareRoot() / (1 - pow(Double(beta1), t))
    }

    public override func update(_ parameter: Parameter, learningRate: Float, on backend: any Backend) {
        let buffers = state(parameter, count: amsgrad ? 3 : 2, on: backend)
        backend.adamUpdate(weights: parameter.value, gradients: parameter.gradient!, m: buffers[0], v: buffers[1],
                           vMax: amsgrad ? buffers[2] : nil, count: parameter.count,
                           stepSize: Float(Double(learningRate) * stepSizeFactor), beta1: beta1, beta2: beta2, epsilon: epsilon)
    }

    public override var specificConfig: [String: ConfigValue] {
        ["beta_1": .double(Double(beta1)), "beta_2": .double(Double(beta2)), "epsilon": .double(Double(epsilon)), "amsgrad": .bool(amsgrad)]
    }
}

/// AdamW: Adam with decoupled weight decay (Keras default 0.004), applied before each update.
public final class AdamW: Adam {
    /// Creates the optimizer with Keras' defaults (weight decay 0.004); the other options are those of ``Adam``.
    public init(learningRate: Float = 0.001, weightDecay: Float = 0.004, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-7, amsgrad: Bool = false, schedule: LearningRateSchedule? = nil, clipnorm: Float? = nil,
                globalClipnorm: Float? = nil, clipvalue: Float? = nil) {
        super.init(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, amsgrad: amsgrad, schedule: schedule,
                   weightDecay: weightDecay, clipnorm: clipnorm, globalClipnorm: globalClipnorm, clipvalue: clipvalue)
    }

    public override var kerasClassName: String { "AdamW" }
}

/// RMSprop, Keras' `compile()` default. Defaults: lr 0.001, ρ 0.9, momentum 0, ε 1e-7, not centered.
///
/// `v = ρv + (1−ρ)g²`; centered: `a = ρa + (1−ρ)g`, `Δ = lr·g/√(v − a² + ε)`, else `Δ = lr·g/√(v + ε)`;
/// with momentum `μbuf = μ·μbuf + Δ; w −= μbuf`, else `w −= Δ`.
public final class RMSprop: Optimizer {
    /// The decay rate ρ of the running mean of squared gradients (0.9 by default).
    public let rho: Float
    /// The momentum factor μ (0 by default: no momentum slot is used).
    public let momentum: Float
    /// The ε added under the square root for numerical stability (1e-7 by default).
    public let epsilon: Float
    /// Whether gradients are normalised by their estimated variance `v − a²` rather than `v` (false by default).
    public let centered: Bool

    /// Creates the optimizer with Keras' defaults; the clipping and decay options are those of ``Optimizer``.
    public init(learningRate: Float = 0.001, rho: Float = 0.9, momentum: Float = 0, epsilon: Float = 1e-7, centered: Bool = false,
                schedule: LearningRateSchedule? = nil, weightDecay: Float? = nil, clipnorm: Float? = nil,
                globalClipnorm: Float? = nil, clipvalue: Float? = nil) {
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered
        super.init(learningRate: learningRate, schedule: schedule, weightDecay: weightDecay, clipnorm: clipnorm,
                   globalClipnorm: globalClipnorm, clipvalue: clipvalue)
    }

    public override var kerasClassName: String { "RMSprop" }
    public override var slotLayout: [(index: Int, name: String)] {
        [(0, "velocity")] + (momentum > 0 ? [(1, "momentum")] : []) + (centered ? [(2, "average_gradient")] : [])
    }
    public override var slotCount: Int { 3 }

    public override func update(_ parameter: Parameter, learningRate: Float, on backend: any Backend) {
        let buffers = state(parameter, count: 3, on: backend)
        backend.rmspropUpdate(weights: parameter.value, gradients: parameter.gradient!, v: buffers[0],
                              momentumBuffer: momentum > 0 ? buffers[1] : nil, average: centered ? buffers[2] : nil,
                              count: parameter.count, learningRate: learningRate, rho: rho, momentum: momentum, epsilon: epsilon)
    }

    public override var specificConfig: [String: ConfigValue] {
        ["rho": .double(Double(rho)), "momentum": .double(Double(momentum)), "epsilon": .double(Double(epsilon)), "centered": .bool(centered)]
    }
}

/// Adagrad. Defaults: lr 0.001, initial accumulator 0.1, ε 1e-7. `acc += g²; w −= lr·g/√(acc + ε)`.
public final class Adagrad: Optimizer {
    /// The value every accumulator starts at (0.1 by default), which keeps the first steps from being huge.
    public let initialAccumulatorValue: Float
    /// The ε added under the square root for numerical stability (1e-7 by default).
    public let epsilon: Float

    /// Creates the optimizer with Keras' defaults; the clipping and decay options are those of ``Optimizer``.
    public init(learningRate: Float = 0.001, initialAccumulatorValue: Float = 0.1, epsilon: Float = 1e-7,
                schedule: LearningRateSchedule? = nil, weightDecay: Float? = nil, clipnorm: Float? = nil,
                globalClipnorm: Float? = nil, clipvalue: Float? = nil) {
        self.initialAccumulatorValue = initialAccumulatorValue
        self.epsilon = epsilon
        super.init(learningRate: learningRate, schedule: schedule, weightDecay: weightDecay, clipnorm: clipnorm,
                   globalClipnorm: globalClipnorm, clipvalue: clipvalue)
    }

    public override var kerasClassName: String { "Adagrad" }
    public override var slotLayout: [(index: Int, name: String)] { [(0, "accumulator")] }

    public override func update(_ parameter: Parameter, learningRate: Float, on backend: any Backend) {
        let accumulator = state(parameter, count: 1, initialValue: initialAccumulatorValue, on: backend)[0]
        backend.adagradUpdate(weights: parameter.value, gradients: parameter.gradient!, accumulator: accumulator, count: parameter.count,
                              learningRate: learningRate, epsilon: epsilon)
    }

    public override var specificConfig: [String: ConfigValue] {
        ["initial_accumulator_value": .double(Double(initialAccumulatorValue)), "epsilon": .double(Double(epsilon))]
    }
}

/// Nadam (Adam with Nesterov momentum), Keras 3's formulation with the 0.96 momentum schedule.
/// Defaults: lr 0.001, β1 0.9, β2 0.999, ε 1e-7.
public final class Nadam: Optimizer {
    /// The decay rate β1 of the first-moment estimate (0.9 by default), scaled by the momentum schedule.
    public let beta1: Float
    /// The decay rate β2 of the second-moment estimate (0.999 by default).
    public let beta2: Float
    /// The ε added to `√v̂` for numerical stability (1e-7 by default).
    public let epsilon: Float
    var scalars = NadamScalars(uT: 0, uNext: 0, productT: 1, productNext: 1, beta2Power: 1)
    /// Π u_1…u_t and the step it belongs to (recomputed when the step count was restored).
    var product: Float = 1
    var productStep = 0

    /// Creates the optimizer with Keras' defaults; the clipping and decay options are those of ``Optimizer``.
    public init(learningRate: Float = 0.001, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7,
                schedule: LearningRateSchedule? = nil, weightDecay: Float? = nil, clipnorm: Float? = nil,
                globalClipnorm: Float? = nil, clipvalue: Float? = nil) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        super.init(learningRate: learningRate, schedule: schedule, weightDecay: weightDecay, clipnorm: clipnorm,
                   globalClipnorm: globalClipnorm, clipvalue: clipvalue)
    }

    public override var kerasClassName: String { "Nadam" }
    public override var slotLayout: [(index: Int, name: String)] { [(0, "m"), (1, "v")] }

    func u(_ step: Int) -> Float { beta1 * (1 - 0.5 * Float(pow(0.96, Double(step)))) }

    public override func prepareStep() {
        if productStep != iterations {
            product = 1
            for step in 0..<iterations { product *= u(step + 1) }
        }
        let t = iterations + 1
        product *= u(t)
        productStep = t
        scalars = NadamScalars(uT: u(t), uNext: u(t + 1), productT: product, productNext: product * u(t + 1),
                               beta2Power: Float(pow(Double(beta2), Double(t))))
    }

    public override func update(_ parameter: Parameter, learningRate: Float, on backend: any Backend) {
        let buffers = state(parameter, count: 2, on: backend)
        backend.nadamUpdate(weights: parameter.value, gradients: parameter.gradient!, m: buffers[0], v: buffers[1], count: parameter.count,
                            learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, schedule: scalars)
    }

    public override var specificConfig: [String: ConfigValue] {
        ["beta_1": .double(Double(beta1)), "beta_2": .double(Double(beta2)), "epsilon": .double(Double(epsilon))]
    }
}

/// Optimizer names the CLI and model files accept.
public enum OptimizerName: String, CaseIterable, Sendable {
    case sgd, rmsprop, adagrad, adam, adamw, nadam

    /// Looks up a Keras optimizer name (case-insensitive).
    public init(keras name: String) throws {
        guard let found = OptimizerName(rawValue: name.lowercased()) else {
            throw MLPError.unknownName(kind: "optimizer", received: name, valid: OptimizerName.allCases.map(\.rawValue))
        }
        self = found
    }

    /// A fresh optimizer with Keras' defaults, or the given learning rate.
    public func make(learningRate: Float? = nil) -> Optimizer {
        switch self {
        case .sgd: return SGD(learningRate: learningRate ?? 0.01)
        case .rmsprop: return RMSprop(learningRate: learningRate ?? 0.001)
        case .adagrad: return Adagrad(learningRate: learningRate ?? 0.001)
        case .adam: return Adam(learningRate: learningRate ?? 0.001)
        case .adamw: return AdamW(learningRate: learningRate ?? 0.001)
        case .nadam: return Nadam(learningRate: learningRate ?? 0.001)
        }
    }
}
