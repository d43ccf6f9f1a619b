import MLPCore

/// A step of a ``Sequential`` model, written once and run on any `Backend`.
///
/// Lifecycle as in Keras: a layer is configured by its initializer, *built* when the model knows its
/// input width (variables are created on the backend), then called forward and backward on batches of
/// `rows` samples. Work buffers grow with the largest batch seen and are reused afterwards, so a training
/// step allocates nothing.
open class Layer {
    /// The layer's name; Keras' auto-name (`dense`, `dense_1`, …) unless one was given.
    public internal(set) var name: String
    let nameWasGiven: Bool
    /// The input width, known once built.
    public internal(set) var inputUnits = 0
    /// Variables in Keras order (`kernel`, `bias`, …); empty until built.
    public internal(set) var parameters: [Parameter] = []
    /// The backend the layer was built on.
    public internal(set) var backend: (any Backend)!
    /// Rows the work buffers hold.
    var capacity = 0
    /// This layer's Philox stream (set when added to a model): random layers (Dropout) draw from
    /// (``StepContext/seed``, stream, ``StepContext/step``).
    var randomStream: UInt64 = 0

    /// Creates a layer; a nil `name` gets Keras' default (`dense`, `dense_1`, …) when added to a model.
    public init(name: String?) {
        self.name = name ?? ""
        nameWasGiven = name != nil
    }

    /// The Keras class name shown by `summary()` (`Dense`).
    open var kerasClassName: String { fatalError("\(type(of: self)) must override kerasClassName") }

    /// Auto-name stem: the class name in snake case (`BatchNormalization` → `batch_normalization`).
    package var autoNameStem: String {
        kerasClassName.reduce(into: "") { out, ch in
            if ch.isUppercase && !out.isEmpty { out.append("_") }
            out.append(Character(ch.lowercased()))
        }
    }

    /// Output width for a given input width.
    open func outputUnits(forInput inputUnits: Int) -> Int { inputUnits }

    /// The output width once built.
    public var outputUnits: Int { outputUnits(forInput: inputUnits) }

    /// Creates the variables. `random` is this layer's own stream.
    open func build(inputUnits: Int, backend: any Backend, random: inout PhiloxRandom) {
        self.inputUnits = inputUnits
        self.backend = backend
    }

    /// The element-wise activation applied last, if any (lets the model fuse softmax/sigmoid with a
    /// cross-entropy loss, as Keras does with `from_logits` on the TensorFlow backend).
    open var outputActivation: Activation? { nil }

    /// The values before ``Layer/outputActivation`` from the last forward pass.
    open var preActivationOutput: DeviceBuffer? { nil }

    /// Runs the layer on `rows` samples of `input` (rows × inputUnits) for the pass `context` describes; returns
    /// its output buffer (rows × outputUnits), valid until the next call. Without
    /// ``StepContext/needsOutputActivation`` a layer may leave its ``Layer/outputActivation`` out.
    open func forward(_ input: DeviceBuffer, rows: Int, context: StepContext) -> DeviceBuffer {
        fatalError("\(type(of: self)) must override forward")
    }

    /// Back-propagates `gradient` (rows × outputUnits) through the last forward pass, which ran with the same
    /// `context`: fills the parameter gradients and returns `∂loss/∂input` when `needsInputGradient`. With
    /// `gradientIsPreActivation` the gradient is already taken with respect to ``Layer/preActivationOutput``.
    open func backward(_ gradient: DeviceBuffer, rows: Int, context: StepContext, gradientIsPreActivation: Bool,
                       needsInputGradient: Bool) -> DeviceBuffer? {
        fatalError("\(type(of: self)) must override backward")
    }

    /// Variables with a weight penalty, and its factors.
    open var regularizedParameters: [(parameter: Parameter, regularizer: Regularizer)] { [] }

    /// Keras' `get_config()` entries beyond `name` (for model files and summaries).
    open var config: [String: ConfigValue] { [:] }

    /// The values in the variables this layer creates for `inputUnits` input features, counted from the shapes
    /// alone (nothing is allocated): trainable and non-trainable, as Keras' `summary()` counts them. `nil` when a
    /// count does not fit in `Int`. Layers without variables keep this default.
    open func variableCounts(forInput inputUnits: Int) -> (trainable: Int, nonTrainable: Int)? { (0, 0) }

    /// The work-buffer values a training step holds per batch row for `inputUnits` input features (forward
    /// outputs and backward gradients); `nil` when the count does not fit in `Int`. The default is an output
    /// and an input gradient of the input's width.
    open func workValuesPerRow(forInput inputUnits: Int) -> Int? {
        let (values, overflow) = inputUnits.multipliedReportingOverflow(by: 2)
        return overflow ? nil : values
    }

    /// Number of values in the trainable variables.
    public var trainableParameterCount: Int { parameters.filter(\.isTrainable).reduce(0) { $0 + $1.count } }
    /// Number of values in all variables.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// A work buffer holding at least `rows × width` values, reallocated only when a batch is larger
    /// than any before.
    func workBuffer(_ buffer: inout DeviceBuffer?, rows: Int, width: Int) -> DeviceBuffer {
        if let existing = buffer, existing.count >= rows * width { return existing }
        let made = backend.makeBuffer(count: max(rows, capacity) * width)
        buffer = made
        return made
    }
}

/// A JSON-like value for layer configs.
public enum ConfigValue: Equatable, Sendable {
    case int(Int), double(Double), string(String), bool(Bool), null
}
