import Foundation
import MLPCore

/// A learning rate that changes with the step number (Keras' `LearningRateSchedule`s).
public enum LearningRateSchedule: Equatable, Sendable {
    /// `initial·rate^(step/decaySteps)` (the exponent floored with `staircase`).
    case exponentialDecay(initial: Float, decaySteps: Int, decayRate: Float, staircase: Bool = false)
    /// `initial·((1−α)·½(1 + cos(π·min(step, decaySteps)/decaySteps)) + α)`.
    case cosineDecay(initial: Float, decaySteps: Int, alpha: Float = 0)

    /// The rate at optimizer step `step` (0-based: the first update uses step 0).
    public func rate(at step: Int) -> Float {
        switch self {
        case let .exponentialDecay(initial, decaySteps, decayRate, staircase):
            var exponent = Double(step) / Double(decaySteps)
            if staircase { exponent.round(.down) }
            return Float(Double(initial) * pow(Double(decayRate), exponent))
        case let .cosineDecay(initial, decaySteps, alpha):
            let progress = Double(min(step, decaySteps)) / Double(decaySteps)
            let cosine = 0.5 * (1 + cos(Double.pi * progress))
            return Float(Double(initial) * ((1 - Double(alpha)) * cosine + Double(alpha)))
        }
    }
}

/// The base of every optimizer: the learning rate (constant or scheduled), gradient clipping, decoupled
/// weight decay, the step count and per-variable state, as Keras 3's `BaseOptimizer`.
///
/// One step (``apply(to:on:)``): clip the gradients (`clipnorm` per variable `g·c/max(‖g‖, c)`,
/// `globalClipnorm` over all gradients, or `clipvalue` element-wise — at most one), then weight decay
/// `w −= w·decay·lr` when `weightDecay` is set, then each variable's update: one backend kernel per variable.
/// Norms are computed and applied on the device; the host never waits. State (slots) lives on the backend
/// beside the weights; the step count lives on the host, so bias corrections need no read-back.
///
/// Subclasses override ``update(_:learningRate:on:)`` and, for per-step scalars, ``prepareStep()``.
open class Optimizer {
    /// The Keras class name (`Adam`).
    open var kerasClassName: String { "Optimizer" }
    /// A schedule replacing the constant rate; setting ``learningRate`` removes it.
    public var learningRateSchedule: LearningRateSchedule?
    var constantLearningRate: Float
    /// Steps applied so far.
    public package(set) var iterations = 0
    /// Rescales each variable's gradient to at most this L2 norm (`g · clipnorm / max(‖g‖, clipnorm)`); nil for none.
    public var clipnorm: Float?
    /// Rescales all gradients together so their joint L2 norm is at most this value; nil for none.
    public var globalClipnorm: Float?
    /// Clips each gradient element to `[−clipvalue, clipvalue]`; nil for none.
    public var clipvalue: Float?
    /// Decoupled weight decay (`w −= w·decay·lr` before each update), on every optimizer as in Keras 3.
    public var weightDecay: Float?
    package let slots = SlotStore()
    var normScratch: DeviceBuffer?

    /// Creates an optimizer with a constant rate or a `schedule`; at most one of the three clipping options may be set.
    public init(learningRate: Float, schedule: LearningRateSchedule? = nil, weightDecay: Float? = nil,
                clipnorm: Float? = nil, globalClipnorm: Float? = nil, clipvalue: Float? = nil) {
        constantLearningRate = learningRate
        learningRateSchedule = schedule
        self.weightDecay = weightDecay
        self.clipnorm = clipnorm
        self.globalClipnorm = globalClipnorm
        self.clipvalue = clipvalue
    }

    /// The rate the next step uses (the schedule's value at ``iterations`` when there is one).
    public var learningRate: Float {
        get { learningRateSchedule?.rate(at: iterations) ?? constantLearningRate }
        set {
            learningRateSchedule = nil
            constantLearningRate = newValue
        }
    }

    /// Throws when more than one clipping option is set (as Keras does).
    public func validate() throws {
        let set = [("clipnorm", clipnorm), ("global_clipnorm", globalClipnorm), ("clipvalue", clipvalue)].filter { $0.1 != nil }
        if set.count > 1 {
            throw MLPError.invalidArgument("only one of clipnorm, global_clipnorm and clipvalue may be set, got \(set.map(\.0).joined(separator: " and "))")
        }
    }

    /// Applies one step to every trainable parameter, reading its `gradient` buffer.
    /// (Loops skip non-trainable variables in place: a step allocates nothing.)
    public func apply(to parameters: [Parameter], on backend: any Backend) {
        let rate = learningRate
        clipGradients(parameters, on: backend)
        if let weightDecay, weightDecay != 0 {
            for parameter in parameters where parameter.isTrainable {
                backend.decayWeights(parameter.value, count: parameter.count, decay: weightDecay, learningRate: rate)
            }
        }
        prepareStep()
        for parameter in parameters where parameter.isTrainable { update(parameter, learningRate: rate, on: backend) }
        iterations += 1
    }

    func clipGradients(_ parameters: [Parameter], on backend: any Backend) {
        if let limit = clipvalue {
            for parameter in parameters where parameter.isTrainable {
                backend.clipByValue(parameter.gradient!, count: parameter.count, limit: limit)
            }
            return
        }
        guard clipnorm != nil || globalClipnorm != nil else { return }
        if normScratch == nil || normScratch!.count < parameters.count { normScratch = backend.makeBuffer(count: max(parameters.count, 1)) }
        let sums = normScratch!
        backend.fill(sums, value: 0, offset: 0, count: sums.count)
        if let limit = clipnorm {
            for index in parameters.indices where parameters[index].isTrainable {
                let parameter = parameters[index]
                backend.accumulateSumOfSquares(parameter.gradient!, count: parameter.count, accumulator: sums, index: index)
                backend.clipByNorm(parameter.gradient!, count: parameter.count, sumOfSquares: sums, index: index, clipNorm: limit)
            }
        } else if let limit = globalClipnorm {
            for parameter in parameters where parameter.isTrainable {
                backend.accumulateSumOfSquares(parameter.gradient!, count: parameter.count, accumulator: sums, index: 0)
            }
            for parameter in parameters where parameter.isTrainable {
                backend.clipByNorm(parameter.gradient!, count: parameter.count, sumOfSquares: sums, index: 0, clipNorm: limit)
            }
        }
    }

    /// Per-step host scalars (bias corrections), computed before the variables are updated.
    open func prepareStep() {}

    /// Updates one variable from its gradient.
    open func update(_ parameter: Parameter, learningRate: Float, on backend: any Backend) {
        fatalError("\(type(of: self)) must override update(_:learningRate:on:)")
    }

    /// The state buffers this configuration uses, by slot index, with their Keras (tf-keras) variable names.
    open var slotLayout: [(index: Int, name: String)] { [] }

    /// How many slot buffers ``update(_:learningRate:on:)`` asks for.
    open var slotCount: Int { slotLayout.map(\.index).max().map { $0 + 1 } ?? 0 }

    /// Keras' `get_config()` entries beyond the learning rate and the common options.
    open var specificConfig: [String: ConfigValue] { [:] }

    /// Keras' `get_config()` (for model files).
    public var config: [String: ConfigValue] {
        var config = specificConfig
        config["learning_rate"] = .double(Double(learningRate))
        config["weight_decay"] = weightDecay.map { .double(Double($0)) } ?? .null
        config["clipnorm"] = clipnorm.map { .double(Double($0)) } ?? .null
        config["global_clipnorm"] = globalClipnorm.map { .double(Double($0)) } ?? .null
        config["clipvalue"] = clipvalue.map { .double(Double($0)) } ?? .null
        return config
    }

    /// The slot buffers of `parameter`, zero-filled (or `initialValue`) on first use.
    func state(_ parameter: Parameter, count: Int, initialValue: Float = 0, on backend: any Backend) -> [DeviceBuffer] {
        slots.slots(for: parameter, count: count, initialValue: initialValue, on: backend)
    }
}

/// Per-variable state buffers, made on first use.
package final class SlotStore {
    private var slots: [ObjectIdentifier: [DeviceBuffer]] = [:]

    func slots(for parameter: Parameter, count: Int, initialValue: Float, on backend: any Backend) -> [DeviceBuffer] {
        if let existing = slots[ObjectIdentifier(parameter)] { return existing }
        let made = (0..<count).map { _ -> DeviceBuffer in
            let buffer = backend.makeBuffer(count: parameter.count)
            backend.fill(buffer, value: initialValue, offset: 0, count: parameter.count)
            return buffer
        }
        slots[ObjectIdentifier(parameter)] = made
        return made
    }

    /// Each parameter's slot values (empty for one without slots yet).
    package func export(_ parameters: [Parameter], on backend: any Backend) -> [[[Float]]] {
        parameters.map { parameter in (slots[ObjectIdentifier(parameter)] ?? []).map { backend.download($0) } }
    }

    /// Replaces the slots of `parameters` with `values` (as exported).
    package func restore(_ values: [[[Float]]], for parameters: [Parameter], on backend: any Backend) {
        for (parameter, saved) in zip(parameters, values) where !saved.isEmpty {
            slots[ObjectIdentifier(parameter)] = saved.map { backend.makeBuffer($0) }
        }
    }

    /// Sets the slots of `parameter` to `values` (nil entries zero-filled), `count` buffers in all.
    package func restore(_ values: [Int: [Float]], count: Int, for parameter: Parameter, on backend: any Backend) {
        slots[ObjectIdentifier(parameter)] = (0..<count).map { index in
            values[index].map { backend.makeBuffer($0) } ?? backend.makeBuffer([Float](repeating: 0, count: parameter.count))
        }
    }

    /// One slot's values, if the parameter has slots yet.
    package func value(_ parameter: Parameter, index: Int, on backend: any Backend) -> [Float]? {
        guard let buffers = slots[ObjectIdentifier(parameter)], index < buffers.count else { return nil }
        return backend.download(buffers[index])
    }
}
