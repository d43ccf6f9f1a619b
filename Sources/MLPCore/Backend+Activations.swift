/// A Dense layer's bias and activation (``Activation``), forward and backward.
public protocol BackendActivations: AnyObject {
    /// `Z += bias` (broadcast over rows, when given), then `Y = f(Z)`, with `Z`, `Y` of shape (rows, columns).
    func biasActivationForward(preActivation z: DeviceBuffer, bias: DeviceBuffer?, output y: DeviceBuffer,
                               rows: Int, columns: Int, activation: Activation)

    /// `dZ = f'(Z) ⊙ dY` (for softmax, the row-wise Jacobian product `Y ⊙ (dY − Σ dY⊙Y)`).
    func activationBackward(outputGradient dy: DeviceBuffer, preActivation z: DeviceBuffer, output y: DeviceBuffer,
                            inputGradient dz: DeviceBuffer, rows: Int, columns: Int, activation: Activation)
}
