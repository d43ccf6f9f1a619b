import MLPCore

/// Updates trainable parameters from their gradients: one backend kernel per variable per step.
///
/// State (momenta, moments) lives on the backend beside the weights, created on first use; the
/// iteration count lives on the host, so step-size corrections need no read-back.
public protocol Optimizer: AnyObject {
    /// The Keras class name (`Adam`).
    var kerasClassName: String { get }
    /// The current learning rate (callbacks may change it between steps).
    var learningRate: Float { get set }
    /// Steps applied so far.
    var iterations: Int { get }
    /// Applies one step to every trainable parameter, reading its `gradient` buffer.
    func apply(to parameters: [Parameter], on backend: any Backend)
    /// Keras' `get_config()` entries (for model files).
    var config: [String: ConfigValue] { get }
}

/// An optimizer whose state (step count and per-variable slots) can be saved and restored, as
/// BackupAndRestore needs. All of MLPKit's optimizers are.
protocol StatefulOptimizer: Optimizer {
    var slots: SlotStore { get }
    var iterations: Int { get set }
}

/// Per-variable state buffers, made zero-filled on first use.
final class SlotStore {
    private var slots: [ObjectIdentifier: [DeviceBuffer]] = [:]

    /// Each parameter's slot values (empty for one without slots yet).
    func export(_ parameters: [Parameter], on backend: any Backend) -> [[[Float]]] {
        parameters.map { parameter in (slots[ObjectIdentifier(parameter)] ?? []).map { backend.download($0) } }
    }

    /// Replaces the slots of `parameters` with `values` (as exported).
    func restore(_ values: [[[Float]]], for parameters: [Parameter], on backend: any Backend) {
        for (parameter, saved) in zip(parameters, values) where !saved.isEmpty {
            slots[ObjectIdentifier(parameter)] = saved.map { backend.makeBuffer($0) }
        }
    }

    func slots(for parameter: Parameter, count: Int, on backend: any Backend) -> [DeviceBuffer] {
        if let existing = slots[ObjectIdentifier(parameter)] { return existing }
        let made = (0..<count).map { _ -> DeviceBuffer in
            let buffer = backend.makeBuffer(count: parameter.count)
            backend.fill(buffer, value: 0, offset: 0, count: parameter.count)
            return buffer
        }
        slots[ObjectIdentifier(parameter)] = made
        return made
    }
}

/// Stochastic gradient descent with optional (Nesterov) momentum. Keras defaults: lr 0.01, momentum 0.
///
/// `v = μv − lr·g; w += v` (Nesterov: `w += μv − lr·g`); without momentum `w −= lr·g`.
public final class SGD: StatefulOptimizer {
    public var learningRate: Float
    public let momentum: Float
    public let nesterov: Bool
    public internal(set) var iterations = 0
    let slots = SlotStore()

    public init(learningRate: Float = 0.01, momentum: Float = 0, nesterov: Bool = false) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
    }

    public var kerasClassName: String { "SGD" }

    public func apply(to parameters: [Parameter], on backend: any Backend) {
        for parameter in parameters where parameter.isTrainable {
            let velocity = momentum != 0 ? slots.slots(for: parameter, count: 1, on: backend)[0] : nil
            backend.sgdUpdate(weights: parameter.value, gradients: parameter.gradient!, velocity: velocity,
                              count: parameter.count, learningRate: learningRate, momentum: momentum, nesterov: nesterov)
        }
        iterations += 1
    }

    public var config: [String: ConfigValue] {
        ["learning_rate": .double(Double(learningRate)), "momentum": .double(Double(momentum)), "nesterov": .bool(nesterov)]
    }
}

/// Adam (Kingma & Ba) as Keras writes it. Defaults: lr 0.001, β1 0.9, β2 0.999, ε 1e-7.
///
/// With `t` the step number: `α = lr·√(1−β2ᵗ)/(1−β1ᵗ)`, `m += (g−m)(1−β1)`, `v += (g²−v)(1−β2)`,
/// `w −= α·m/(√v + ε)`.
public final class Adam: StatefulOptimizer {
    public var learningRate: Float
    public let beta1: Float
    public let beta2: Float
    public let epsilon: Float
    public internal(set) var iterations = 0
    let slots = SlotStore()

    public init(learningRate: Float = 0.001, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    public var kerasClassName: String { "Adam" }

    public func apply(to parameters: [Parameter], on backend: any Backend) {
        let t = Double(iterations + 1)
        let stepSize = Float(Double(learningRate) * (1 - pow(Double(beta2), t)).squareRoot() / (1 - pow(Double(beta1), t)))
        for parameter in parameters where parameter.isTrainable {
            let state = slots.slots(for: parameter, count: 2, on: backend)
            backend.adamUpdate(weights: parameter.value, gradients: parameter.gradient!, m: state[0], v: state[1],
                               count: parameter.count, stepSize: stepSize, beta1: beta1, beta2: beta2, epsilon: epsilon)
        }
        iterations += 1
    }

    public var config: [String: ConfigValue] {
        ["learning_rate": .double(Double(learningRate)), "beta_1": .double(Double(beta1)),
         "beta_2": .double(Double(beta2)), "epsilon": .double(Double(epsilon)), "amsgrad": .bool(false)]
    }
}

/// RMSprop, Keras' `compile()` default. Defaults: lr 0.001, ρ 0.9, ε 1e-7.
///
/// `v = ρv + (1−ρ)g²; w −= lr·g/√(v + ε)`.
public final class RMSprop: StatefulOptimizer {
    public var learningRate: Float
    public let rho: Float
    public let epsilon: Float
    public internal(set) var iterations = 0
    let slots = SlotStore()

    public init(learningRate: Float = 0.001, rho: Float = 0.9, epsilon: Float = 1e-7) {
        self.learningRate = learningRate
        self.rho = rho
        self.epsilon = epsilon
    }

    public var kerasClassName: String { "RMSprop" }

    public func apply(to parameters: [Parameter], on backend: any Backend) {
        for parameter in parameters where parameter.isTrainable {
            let v = slots.slots(for: parameter, count: 1, on: backend)[0]
            backend.rmspropUpdate(weights: parameter.value, gradients: parameter.gradient!, v: v, count: parameter.count,
                                  learningRate: learningRate, rho: rho, epsilon: epsilon)
        }
        iterations += 1
    }

    public var config: [String: ConfigValue] {
        ["learning_rate": .double(Double(learningRate)), "rho": .double(Double(rho)), "epsilon": .double(Double(epsilon))]
    }
}

/// Optimizer names the CLI and model files accept.
public enum OptimizerName: String, CaseIterable, Sendable {
    case sgd, adam, rmsprop

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
        case .sgd: return learningRate.map { SGD(learningRate: $0) } ?? SGD()
        case .adam: return learningRate.map { Adam(learningRate: $0) } ?? Adam()
        case .rmsprop: return learningRate.map { RMSprop(learningRate: $0) } ?? RMSprop()
        }
    }
}

import Foundation
