import MLPCore

/// Inverted dropout (Keras' `Dropout(rate)`): in training each value is zeroed with probability `rate` and
/// the kept ones are scaled by `1/(1 − rate)`; in inference the layer is the identity.
///
/// The mask is a function of (model seed, layer, step) through the Philox generator, so the CPU and OpenCL
/// backends drop the same units, a resumed run drops the same units as an uninterrupted one, and the
/// backward pass regenerates the mask instead of storing it.
public final class Dropout: Layer {
    /// The fraction of inputs set to 0 in training, in [0, 1); the kept ones are scaled by `1/(1 − rate)`.
    public let rate: Float
    var y: DeviceBuffer?
    var dx: DeviceBuffer?

    /// Creates the layer; a rate outside [0, 1) is a programmer error (a precondition).
    public init(_ rate: Float, name: String? = nil) {
        precondition(rate >= 0 && rate < 1, "Dropout rate must be in [0, 1), got \(rate)")
        self.rate = rate
        super.init(name: name)
    }

    public override var kerasClassName: String { "Dropout" }

    /// Step `step`'s mask starts at block `step·2³²` of the layer's stream.
    func block(_ context: StepContext) -> UInt64 { UInt64(context.step) << 32 }

    /// Whether the pass drops units (otherwise the layer is the identity both ways).
    func drops(_ context: StepContext) -> Bool { context.training && rate > 0 }

    public override func forward(_ input: DeviceBuffer, rows: Int, context: StepContext) -> DeviceBuffer {
        guard drops(context) else { return input }
        capacity = max(capacity, rows)
        let y = workBuffer(&self.y, rows: rows, width: inputUnits)
        backend.dropout(input, output: y, count: rows * inputUnits, rate: rate, seed: context.seed, stream: randomStream,
                        block: block(context))
        return y
    }

    /// Regenerates the forward pass's mask from the same `context`.
    public override func backward(_ gradient: DeviceBuffer, rows: Int, context: StepContext, gradientIsPreActivation: Bool,
                                  needsInputGradient: Bool) -> DeviceBuffer? {
        guard needsInputGradient else { return nil }
        guard drops(context) else { return gradient }
        let dx = workBuffer(&self.dx, rows: rows, width: inputUnits)
        backend.dropout(gradient, output: dx, count: rows * inputUnits, rate: rate, seed: context.seed, stream: randomStream,
                        block: block(context))
        return dx
    }

    public override var config: [String: ConfigValue] { ["rate": .double(Double(rate))] }
}
