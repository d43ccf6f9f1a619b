import MLPCore

extension Activation {
    /// The code `activations.cl` uses.
    var kernelCode: Int {
        switch self {
        case .linear: return 0
        case .relu: return 1
        case .sigmoid: return 2
        case .tanh: return 3
        case .softmax: return 4
        case .softplus: return 5
        case .softsign: return 6
        case .elu: return 7
        case .selu: return 8
        case .gelu: return 9
        case .silu: return 10
        case .leakyRelu: return 11
        case .relu6: return 12
        case .hardSigmoid: return 13
        case .exponential: return 14
        }
    }
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
