import MLPCore

/// Keras' `BatchNormalization` over the features: in training, each feature is normalised with the batch's
/// mean and (biased) variance, `y = γ·(x − μ)/√(σ² + ε) + β`, and the moving statistics follow
/// `m = m·momentum + μ·(1 − momentum)`; in inference the moving statistics are used.
///
/// Variables, in Keras order: `gamma` (ones), `beta` (zeros) — trainable; `moving_mean` (zeros),
/// `moving_variance` (ones) — non-trainable, and counted so by `summary()`: `4·features` parameters.
public final class BatchNormalization: Layer {
    /// The weight of the old moving statistics at each training step (0.99 by default).
    public let momentum: Float
    /// Added to the variance before the square root (1e-3 by default), so constant features do not divide by 0.
    public let epsilon: Float
    var y: DeviceBuffer?
    var normalized: DeviceBuffer?
    var inverseStd: DeviceBuffer?
    var dx: DeviceBuffer?

    /// Keras defaults: momentum 0.99, epsilon 1e-3.
    public init(momentum: Float = 0.99, epsilon: Float = 1e-3, name: String? = nil) {
        self.momentum = momentum
        self.epsilon = epsilon
        super.init(name: name)
    }

    public override var kerasClassName: String { "BatchNormalization" }

    /// `gamma` and `beta` (trainable), `moving_mean` and `moving_variance` (non-trainable), each `inputUnits` long.
    public override func variableCounts(forInput inputUnits: Int) -> (trainable: Int, nonTrainable: Int)? {
        let (half, overflow) = inputUnits.multipliedReportingOverflow(by: 2)
        return overflow ? nil : (half, half)
    }

    /// `y`, `normalized` and `dx`, each `inputUnits` wide.
    public override func workValuesPerRow(forInput inputUnits: Int) -> Int? {
        let (values, overflow) = inputUnits.multipliedReportingOverflow(by: 3)
        return overflow ? nil : values
    }

    public override func build(inputUnits: Int, backend: any Backend, random: inout PhiloxRandom) {
        super.build(inputUnits: inputUnits, backend: backend, random: &random)
        let ones = [Float](repeating: 1, count: inputUnits), zeros = [Float](repeating: 0, count: inputUnits)
        parameters = [
            Parameter(name: "gamma", shape: [inputUnits], isTrainable: true, initialValues: ones, backend: backend),
            Parameter(name: "beta", shape: [inputUnits], isTrainable: true, initialValues: zeros, backend: backend),
            Parameter(name: "moving_mean", shape: [inputUnits], isTrainable: false, initialValues: zeros, backend: backend),
            Parameter(name: "moving_variance", shape: [inputUnits], isTrainable: false, initialValues: ones, backend: backend),
        ]
        inverseStd = backend.makeBuffer(count: inputUnits)
    }

    public override func forward(_ input: DeviceBuffer, rows: Int, context: StepContext) -> DeviceBuffer {
        capacity = max(capacity, rows)
        let y = workBuffer(&self.y, rows: rows, width: inputUnits)
        if context.training {
            let normalized = workBuffer(&self.normalized, rows: rows, width: inputUnits)
            backend.batchNormTraining(input, output: y, normalized: normalized, inverseStd: inverseStd!, gamma: parameters[0].value,
                                      beta: parameters[1].value, movingMean: parameters[2].value, movingVariance: parameters[3].value,
                                      rows: rows, columns: inputUnits, momentum: momentum, epsilon: epsilon)
        } else {
            backend.batchNormInference(input, output: y, gamma: parameters[0].value, beta: parameters[1].value,
                                       movingMean: parameters[2].value, movingVariance: parameters[3].value, rows: rows,
                                       columns: inputUnits, epsilon: epsilon)
        }
        return y
    }

    public override func backward(_ gradient: DeviceBuffer, rows: Int, context: StepContext, gradientIsPreActivation: Bool,
                                  needsInputGradient: Bool) -> DeviceBuffer? {
        guard let normalized else { preconditionFailure("BatchNormalization.backward before a training forward pass") }
        let dx = workBuffer(&self.dx, rows: rows, width: inputUnits)
        backend.batchNormBackward(outputGradient: gradient, normalized: normalized, inverseStd: inverseStd!, gamma: parameters[0].value,
                                  inputGradient: dx, gammaGradient: parameters[0].gradient!, betaGradient: parameters[1].gradient!,
                                  rows: rows, columns: inputUnits)
        return needsInputGradient ? dx : nil
    }

    public override var config: [String: ConfigValue] {
        ["momentum": .double(Double(momentum)), "epsilon": .double(Double(epsilon)), "axis": .int(-1), "center": .bool(true), "scale": .bool(true)]
    }
}
