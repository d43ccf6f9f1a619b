import MLPCore

/// Batch normalization (``BackendNormalization``; Kernels/normalization.cl).
extension OpenCLBackend {
    public func batchNormTraining(_ x: DeviceBuffer, output y: DeviceBuffer, normalized: DeviceBuffer, inverseStd: DeviceBuffer,
                                  gamma: DeviceBuffer, beta: DeviceBuffer, movingMean: DeviceBuffer, movingVariance: DeviceBuffer,
                                  rows: Int, columns: Int, momentum: Float, epsilon: Float) {
        launch("batch_norm_training", items: columns, [.buffer(x), .buffer(y), .buffer(normalized), .buffer(inverseStd), .buffer(gamma),
                                                       .buffer(beta), .buffer(movingMean), .buffer(movingVariance), .int(rows),
                                                       .int(columns), .float(momentum), .float(epsilon)])
    }

    public func batchNormInference(_ x: DeviceBuffer, output y: DeviceBuffer, gamma: DeviceBuffer, beta: DeviceBuffer,
                                   movingMean: DeviceBuffer, movingVariance: DeviceBuffer, rows: Int, columns: Int, epsilon: Float) {
        launch("batch_norm_inference", items: rows * columns, [.buffer(x), .buffer(y), .buffer(gamma), .buffer(beta), .buffer(movingMean),
                                                               .buffer(movingVariance), .int(rows), .int(columns), .float(epsilon)])
    }

    public func batchNormBackward(outputGradient dy: DeviceBuffer, normalized: DeviceBuffer, inverseStd: DeviceBuffer, gamma: DeviceBuffer,
                                  inputGradient dx: DeviceBuffer, gammaGradient: DeviceBuffer, betaGradient: DeviceBuffer, rows: Int, columns: Int) {
        launch("batch_norm_backward", items: columns, [.buffer(dy), .buffer(normalized), .buffer(inverseStd), .buffer(gamma), .buffer(dx),
                                                       .buffer(gammaGradient), .buffer(betaGradient), .int(rows), .int(columns)])
    }
}
