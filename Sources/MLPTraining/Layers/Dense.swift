import MLPCore

/// A fully connected layer: `Y = f(X·W + b)`.
///
/// Shapes: `X` (rows, inputUnits), kernel `W` (inputUnits, units), bias `b` (units), `Y` (rows, units).
/// Parameters: `inputUnits·units + units` (Keras' count; without bias `inputUnits·units`).
///
/// Backward, with `dZ = f'(Z) ⊙ dY`: `dW = Xᵀ·dZ`, `db = Σ_rows dZ`, `dX = dZ·Wᵀ` — three GEMMs and a
/// column sum on the backend.
///
/// ```swift
/// let hidden = Dense(25, activation: .relu)
/// ```
public final class Dense: Layer {
    /// The output width.
    public let units: Int
    /// The function applied after the affine map (`.linear` by default).
    public let activation: Activation
    /// Whether the layer has a bias `b` (true by default).
    public let useBias: Bool
    /// How the kernel is drawn at build time (Glorot uniform by default).
    public let kernelInitializer: Initializer
    /// How the bias is set at build time (zeros by default).
    public let biasInitializer: Initializer
    /// The penalty on the kernel added to the loss; nil for none.
    public let kernelRegularizer: Regularizer?
    /// The penalty on the bias added to the loss; nil for none.
    public let biasRegularizer: Regularizer?

    // The pass's buffers. `@exclusivity(unchecked)`: read and written only by this layer's own passes, one at a
    // time; the run-time access checks were a call each on every read of a step.
    @exclusivity(unchecked) var input: DeviceBuffer?
    @exclusivity(unchecked) var z: DeviceBuffer?
    @exclusivity(unchecked) var y: DeviceBuffer?
    @exclusivity(unchecked) var dz: DeviceBuffer?
    @exclusivity(unchecked) var dx: DeviceBuffer?

    /// - Parameters:
    ///   - units: output width (> 0).
    ///   - activation: applied after the affine map; `.linear` by default, as in Keras.
    ///   - useBias: whether to add `b` (default true).
    ///   - kernelInitializer: default Glorot uniform.
    ///   - biasInitializer: default zeros.
    ///   - kernelRegularizer: a weight penalty on the kernel added to the loss (none by default).
    ///   - biasRegularizer: the same for the bias (none by default).
    ///   - name: a nil name gets Keras' default (`dense`, `dense_1`, …) when the layer joins a model.
    public init(_ units: Int, activation: Activation = .linear, useBias: Bool = true,
                kernelInitializer: Initializer = .glorotUniform, biasInitializer: Initializer = .zeros,
                kernelRegularizer: Regularizer? = nil, biasRegularizer: Regularizer? = nil, name: String? = nil) {
        precondition(units > 0, "Dense needs a positive number of units, got \(units)")
        self.units = units
        self.activation = activation
        self.useBias = useBias
        self.kernelInitializer = kernelInitializer
        self.biasInitializer = biasInitializer
        self.kernelRegularizer = kernelRegularizer
        self.biasRegularizer = biasRegularizer
        super.init(name: name)
    }

    public override var kerasClassName: String { "Dense" }

    public override func outputUnits(forInput inputUnits: Int) -> Int { units }

    /// `inputUnits·units` kernel values plus `units` bias values, all trainable.
    public override func variableCounts(forInput inputUnits: Int) -> (trainable: Int, nonTrainable: Int)? {
        let (kernel, overflow) = inputUnits.multipliedReportingOverflow(by: units)
        let (total, biasOverflow) = kernel.addingReportingOverflow(useBias ? units : 0)
        return overflow || biasOverflow ? nil : (total, 0)
    }

    /// `z`, `y` and `dz` (`units` wide) and `dx` (`inputUnits` wide).
    public override func workValuesPerRow(forInput inputUnits: Int) -> Int? {
        let (outputs, overflow) = units.multipliedReportingOverflow(by: 3)
        let (total, sumOverflow) = outputs.addingReportingOverflow(inputUnits)
        return overflow || sumOverflow ? nil : total
    }

    public override func build(inputUnits: Int, backend: any Backend, random: inout PhiloxRandom) {
        precondition(variableCounts(forInput: inputUnits) != nil,
                     "Dense(\(units)) on \(inputUnits) inputs: the kernel's size overflows Int (check sizes with ModelSize first)")
        super.build(inputUnits: inputUnits, backend: backend, random: &random)
        let kernel = kernelInitializer.values(count: inputUnits * units, fanIn: inputUnits, fanOut: units, random: &random)
        parameters = [Parameter(name: "kernel", shape: [inputUnits, units], isTrainable: true, initialValues: kernel, backend: backend)]
        if useBias {
            let bias = biasInitializer.values(count: units, fanIn: inputUnits, fanOut: units, random: &random)
            parameters.append(Parameter(name: "bias", shape: [units], isTrainable: true, initialValues: bias, backend: backend))
        }
    }

    var kernel: Parameter { parameters[0] }
    var bias: Parameter? { useBias ? parameters[1] : nil }

    public override var regularizedParameters: [(parameter: Parameter, regularizer: Regularizer)] {
        var list: [(parameter: Parameter, regularizer: Regularizer)] = []
        if let kernelRegularizer { list.append((kernel, kernelRegularizer)) }
        if let biasRegularizer, let bias { list.append((bias, biasRegularizer)) }
        return list
    }

    public override var outputActivation: Activation? { activation }
    public override var preActivationOutput: DeviceBuffer? { z }

    public override func forward(_ input: DeviceBuffer, rows: Int, context: StepContext) -> DeviceBuffer {
        capacity = max(capacity, rows)
        self.input = input
        let z = workBuffer(&self.z, rows: rows, width: units)
        let y = workBuffer(&self.y, rows: rows, width: units)
        // Read once, without retaining: the layer's own properties hold the backend and the parameters for the
        // whole pass, and at the seed's size a step is short enough for ARC's atomic counts to show.
        unowned(unsafe) let backend = self.backend!
        let parameters = self.parameters
        backend.gemm(transA: false, transB: false, m: rows, n: units, k: inputUnits, alpha: 1,
                     a: input, b: parameters[0].value, beta: 0, c: z)
        backend.biasActivationForward(preActivation: z, bias: useBias ? parameters[1].value : nil, output: y, rows: rows,
                                      columns: units, activation: context.needsOutputActivation ? activation : .linear)
        return y
    }

    public override func backward(_ gradient: DeviceBuffer, rows: Int, context: StepContext, gradientIsPreActivation: Bool,
                                  needsInputGradient: Bool) -> DeviceBuffer? {
        guard self.input != nil, self.z != nil, self.y != nil else { preconditionFailure("Dense.backward before forward") }
        // Without retaining (as in `forward`): this layer's properties hold all of these for the whole pass.
        unowned(unsafe) let input = self.input!, z = self.z!, y = self.y!
        unowned(unsafe) let backend = self.backend!
        let parameters = self.parameters
        unowned(unsafe) let kernel = parameters[0]
        let dz: DeviceBuffer
        if gradientIsPreActivation || activation == .linear {
            dz = gradient
        } else {
            dz = workBuffer(&self.dz, rows: rows, width: units)
            backend.activationBackward(outputGradient: gradient, preActivation: z, output: y, inputGradient: dz,
                                       rows: rows, columns: units, activation: activation)
        }
        backend.gemm(transA: true, transB: false, m: inputUnits, n: units, k: rows, alpha: 1,
                     a: input, b: dz, beta: 0, c: kernel.gradient!)
        if useBias {
            backend.columnSums(dz, rows: rows, columns: units, into: parameters[1].gradient!)
        }
        guard needsInputGradient else { return nil }
        let dx = workBuffer(&self.dx, rows: rows, width: inputUnits)
        backend.gemm(transA: false, transB: true, m: rows, n: inputUnits, k: units, alpha: 1,
                     a: dz, b: kernel.value, beta: 0, c: dx)
        return dx
    }

    public override var config: [String: ConfigValue] {
        var config: [String: ConfigValue] = [
            "units": .int(units), "activation": .string(activation.rawValue), "use_bias": .bool(useBias),
            "kernel_initializer": .string(kernelInitializer.kerasClassName),
            "bias_initializer": .string(biasInitializer.kerasClassName)]
        // Flat in MLPKit's provisional file; Keras' nested regularizer configs come with the .h5/.keras files.
        if let kernelRegularizer {
            config["kernel_regularizer_l1"] = .double(Double(kernelRegularizer.l1))
            config["kernel_regularizer_l2"] = .double(Double(kernelRegularizer.l2))
        }
        if let biasRegularizer {
            config["bias_regularizer_l1"] = .double(Double(biasRegularizer.l1))
            config["bias_regularizer_l2"] = .double(Double(biasRegularizer.l2))
        }
        return config
    }
}
