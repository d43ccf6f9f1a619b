import MLPCore

/// What one pass through the layers is for, handed by the model to every ``Layer/forward(_:rows:context:)`` and
/// ``Layer/backward(_:rows:context:gradientIsPreActivation:needsInputGradient:)`` call of a step, by value.
///
/// A layer reads from it, never from state the model wrote into it beforehand: whether to use batch statistics
/// and drop units (``training``), which random numbers to draw (``seed``, ``step``), and whether its activated
/// output is read at all (``needsOutputActivation``).
///
/// ```swift
/// let output = layer.forward(input, rows: 32, context: .inference)
/// let step = StepContext(training: true, seed: model.seed, step: 7)   // dropout draws step 7's mask
/// ```
public struct StepContext: Equatable, Sendable {
    /// Training (batch statistics, dropout on) or inference.
    public var training: Bool
    /// The model's seed: random layers (Dropout) draw from (seed, their own stream, ``step``).
    public var seed: UInt64
    /// The optimizer's step count when the pass runs (the same for a step's forward and backward passes).
    public var step: Int
    /// Whether the layer's activated output is read. False only for the last layer of a training step whose loss
    /// is fused with that layer's ``Layer/outputActivation`` and after which no metric or callback reads the
    /// activated output: the layer may then leave the activation out (its output buffer is then unspecified),
    /// since only ``Layer/preActivationOutput`` is read.
    public var needsOutputActivation: Bool

    /// Creates a context; for inference, ``inference`` is ready-made.
    public init(training: Bool, seed: UInt64 = 0, step: Int = 0, needsOutputActivation: Bool = true) {
        self.training = training
        self.seed = seed
        self.step = step
        self.needsOutputActivation = needsOutputActivation
    }

    /// An inference pass (`predict`, `evaluate`, validation): no randomness, every output computed.
    public static let inference = StepContext(training: false)

    /// The same pass for a layer whose output feeds another one, so is always read.
    var feedingAnotherLayer: StepContext {
        var context = self
        context.needsOutputActivation = true
        return context
    }
}
