/// Batch normalization (``BackendNormalization``): the reference loops.
extension CPUBackend {
    public func batchNormTraining(_ x: DeviceBuffer, output y: DeviceBuffer, normalized: DeviceBuffer, inverseStd: DeviceBuffer,
                                  gamma: DeviceBuffer, beta: DeviceBuffer, movingMean: DeviceBuffer, movingVariance: DeviceBuffer,
                                  rows: Int, columns: Int, momentum: Float, epsilon: Float) {
        CPUReference.batchNormTraining(x: ptr(x), y: ptr(y), normalized: ptr(normalized), inverseStd: ptr(inverseStd), gamma: ptr(gamma),
                                       beta: ptr(beta), movingMean: ptr(movingMean), movingVariance: ptr(movingVariance), rows: rows,
                                       columns: columns, momentum: momentum, epsilon: epsilon)
    }

    public func batchNormInference(_ x: DeviceBuffer, output y: DeviceBuffer, gamma: DeviceBuffer, beta: DeviceBuffer,
                                   movingMean: DeviceBuffer, movingVariance: DeviceBuffer, rows: Int, columns: Int, epsilon: Float) {
        CPUReference.batchNormInference(x: ptr(x), y: ptr(y), gamma: ptr(gamma), beta: ptr(beta), movingMean: ptr(movingMean),
                                        movingVariance: ptr(movingVariance), rows: rows, columns: columns, epsilon: epsilon)
    }

    public func batchNormBackward(outputGradient dy: DeviceBuffer, normalized: DeviceBuffer, inverseStd: DeviceBuffer, gamma: DeviceBuffer,
                                  inputGradient dx: DeviceBuffer, gammaGradient: DeviceBuffer, betaGradient: DeviceBuffer, rows: Int, columns: Int) {
        CPUReference.batchNormBackward(dy: ptr(dy), normalized: ptr(normalized), inverseStd: ptr(inverseStd), gamma: ptr(gamma),
                                       dx: ptr(dx), dGamma: ptr(gammaGradient), dBeta: ptr(betaGradient), rows: rows, columns: columns)
    }
}
