import MLPCore

/// Optimizer updates, one kernel each (``BackendOptimizers``; Kernels/optimizers.cl).
extension OpenCLBackend {
    public func sgdUpdate(weights: DeviceBuffer, gradients: DeviceBuffer, velocity: DeviceBuffer?, count: Int,
                          learningRate: Float, momentum: Float, nesterov: Bool) {
        let useVelocity = velocity != nil && momentum != 0
        launch("sgd_update", items: count, [.buffer(weights), .buffer(gradients), .buffer(useVelocity ? velocity : nil),
                                            .int(useVelocity ? 1 : 0), .int(count), .float(learningRate), .float(momentum),
                                            .int(nesterov ? 1 : 0)])
    }

    public func adamUpdate(weights: DeviceBuffer, gradients: DeviceBuffer, m: DeviceBuffer, v: DeviceBuffer, vMax: DeviceBuffer?,
                           count: Int, stepSize: Float, beta1: Float, beta2: Float, epsilon: Float) {
        launch("adam_update", items: count, [.buffer(weights), .buffer(gradients), .buffer(m), .buffer(v), .buffer(vMax),
                                             .int(vMax == nil ? 0 : 1), .int(count), .float(stepSize), .float(beta1), .float(beta2),
                                             .float(epsilon)])
    }

    public func rmspropUpdate(weights: DeviceBuffer, gradients: DeviceBuffer, v: DeviceBuffer, momentumBuffer: DeviceBuffer?,
                              average: DeviceBuffer?, count: Int, learningRate: Float, rho: Float, momentum: Float, epsilon: Float) {
        launch("rmsprop_update", items: count, [.buffer(weights), .buffer(gradients), .buffer(v), .buffer(momentumBuffer),
                                                .int(momentumBuffer == nil ? 0 : 1), .buffer(average), .int(average == nil ? 0 : 1),
                                                .int(count), .float(learningRate), .float(rho), .float(momentum), .float(epsilon)])
    }

    public func adagradUpdate(weights: DeviceBuffer, gradients: DeviceBuffer, accumulator: DeviceBuffer, count: Int,
                              learningRate: Float, epsilon: Float) {
        launch("adagrad_update", items: count, [.buffer(weights), .buffer(gradients), .buffer(accumulator), .int(count),
                                                .float(learningRate), .float(epsilon)])
    }

    public func nadamUpdate(weights: DeviceBuffer, gradients: DeviceBuffer, m: DeviceBuffer, v: DeviceBuffer, count: Int,
                            learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, schedule: NadamScalars) {
        launch("nadam_update", items: count, [.buffer(weights), .buffer(gradients), .buffer(m), .buffer(v), .int(count),
                                              .float(learningRate), .float(beta1), .float(beta2), .float(epsilon), .float(schedule.uT),
                                              .float(schedule.uNext), .float(schedule.productT), .float(schedule.productNext),
                                              .float(schedule.beta2Power)])
    }

    public func decayWeights(_ weights: DeviceBuffer, count: Int, decay: Float, learningRate: Float) {
        launch("decay_weights", items: count, [.buffer(weights), .int(count), .float(decay), .float(learningRate)])
    }
}
