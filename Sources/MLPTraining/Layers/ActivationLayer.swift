import MLPCore

/// Applies an activation on its own (Keras' `Activation` layer): `Y = f(X)`, no parameters.
public final class ActivationLayer: Layer {
    /// The function applied element-wise.
    public let activation: Activation
    var input: DeviceBuffer?
    var y: DeviceBuffer?
    var dx: DeviceBuffer?

    /// Creates the layer; a nil `name` gets Keras' default (`activation`, `activation_1`, …) when added to a model.
    public init(_ activation: Activation, name: String? = nil) {
        self.activation = activation
        super.init(name: name)
    }

    public override var kerasClassName: String { "Activation" }
    public override var outputActivation: Activation? { activation }
    public override var preActivationOutput: DeviceBuffer? { input }

    public override func forward(_ input: DeviceBuffer, rows: Int, context: StepContext) -> DeviceBuffer {
        capacity = max(capacity, rows)
        self.input = input
        if !context.needsOutputActivation { return input }
        let y = workBuffer(&self.y, rows: rows, width: inputUnits)
        // No bias: the backend leaves `input` untouched and writes f(input) into y.
        backend.biasActivationForward(preActivation: input, bias: nil, output: y, rows: rows, columns: inputUnits,
                                      activation: activation)
        return y
    }

    public override func backward(_ gradient: DeviceBuffer, rows: Int, context: StepContext, gradientIsPreActivation: Bool,
                                  needsInputGradient: Bool) -> DeviceBuffer? {
        guard needsInputGradient else { return nil }
        if gradientIsPreActivation || activation == .linear { return gradient }
        guard let input, let y else { preconditionFailure("Activation.backward before forward") }
        let dx = workBuffer(&self.dx, rows: rows, width: inputUnits)
        backend.activationBackward(outputGradient: gradient, preActivation: input, output: y, inputGradient: dx,
                                   rows: rows, columns: inputUnits, activation: activation)
        return dx
    }

    public override var config: [String: ConfigValue] { ["activation": .string(activation.rawValue)] }
}
