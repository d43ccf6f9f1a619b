/// Batch normalization: training (batch statistics), inference (moving statistics) and backward.
public protocol BackendNormalization: AnyObject {
    /// Batch normalization over the rows (training): per column `μ`, biased `σ²`, `x̂ = (x−μ)/√(σ²+ε)`,
    /// `y = γ·x̂ + β`; keeps `x̂` and `1/√(σ²+ε)` for the backward pass and updates the moving statistics
    /// `m = m·momentum + μ·(1−momentum)`, `v = v·momentum + σ²·(1−momentum)`.
    func batchNormTraining(_ x: DeviceBuffer, output y: DeviceBuffer, normalized: DeviceBuffer, inverseStd: DeviceBuffer,
                           gamma: DeviceBuffer, beta: DeviceBuffer, movingMean: DeviceBuffer, movingVariance: DeviceBuffer,
                           rows: Int, columns: Int, momentum: Float, epsilon: Float)

    /// Batch normalization with the moving statistics: `y = γ·(x − m)/√(v + ε) + β`.
    func batchNormInference(_ x: DeviceBuffer, output y: DeviceBuffer, gamma: DeviceBuffer, beta: DeviceBuffer,
                            movingMean: DeviceBuffer, movingVariance: DeviceBuffer, rows: Int, columns: Int, epsilon: Float)

    /// Backward of ``batchNormTraining(_:output:normalized:inverseStd:gamma:beta:movingMean:movingVariance:rows:columns:momentum:epsilon:)``: `dγ = Σ dy·x̂`, `dβ = Σ dy`,
    /// `dx = (γ·s/N)·(N·dy − Σdy − x̂·Σ(dy·x̂))` with `s = 1/√(σ²+ε)`.
    func batchNormBackward(outputGradient dy: DeviceBuffer, normalized: DeviceBuffer, inverseStd: DeviceBuffer, gamma: DeviceBuffer,
                           inputGradient dx: DeviceBuffer, gammaGradient: DeviceBuffer, betaGradient: DeviceBuffer, rows: Int, columns: Int)
}
