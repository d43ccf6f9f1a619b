import MLPCore

extension Activation: KernelSelector {
    static var macroPrefix: String { "ACT" }
    /// `RELU`, `LEAKY_RELU`, … (the Keras name in capitals).
    var macroSuffix: String { rawValue.uppercased() }
    static let kernelCodes = codeTable()
    /// The value of this case's ``KernelSelector/macro`` in the kernels.
    var kernelCode: Int { Activation.kernelCodes[self]! }
}

/// Bias + activation forward and the activation backward (``BackendActivations``; Kernels/activations.cl).
extension OpenCLBackend {
    public func biasActivationForward(preActivation z: DeviceBuffer, bias: DeviceBuffer?, output y: DeviceBuffer,
                                      rows: Int, columns: Int, activation: Activation) {
        if activation == .softmax {
            launch("bias_softmax_forward", items: rows, [.buffer(z), .buffer(bias), .int(bias == nil ? 0 : 1), .buffer(y),
                                                         .int(rows), .int(columns)])
        } else {
            launch("bias_activation_forward", items: rows * columns, [.buffer(z), .buffer(bias), .int(bias == nil ? 0 : 1),
                                                                      .buffer(y), .int(rows), .int(columns), .int(activation.kernelCode)])
        }
    }

    public func activationBackward(outputGradient dy: DeviceBuffer, preActivation z: DeviceBuffer, output y: DeviceBuffer,
                                   inputGradient dz: DeviceBuffer, rows: Int, columns: Int, activation: Activation) {
        if activation == .softmax {
            launch("softmax_backward", items: rows, [.buffer(dy), .buffer(y), .buffer(dz), .int(rows), .int(columns)])
        } else {
            launch("activation_backward", items: rows * columns, [.buffer(dy), .buffer(z), .buffer(y), .buffer(dz),
                                                                  .int(rows * columns), .int(activation.kernelCode)])
        }
    }
}
