import MLPCore

/// Norms, clipping and L1/L2 penalties (``BackendRegularization``; Kernels/regularization.cl, sums by reduce.cl).
extension OpenCLBackend {
    public func accumulateSumOfSquares(_ buffer: DeviceBuffer, count: Int, accumulator: DeviceBuffer, index: Int) {
        accumulate(buffer, count: count, into: accumulator, index: index, term: .square)
    }

    public func clipByNorm(_ buffer: DeviceBuffer, count: Int, sumOfSquares: DeviceBuffer, index: Int, clipNorm: Float) {
        launch("clip_by_norm", items: count, [.buffer(buffer), .int(count), .buffer(sumOfSquares), .int(index), .float(clipNorm)])
    }

    public func clipByValue(_ buffer: DeviceBuffer, count: Int, limit: Float) {
        launch("clip_by_value", items: count, [.buffer(buffer), .int(count), .float(limit)])
    }

    public func regularizationPenalty(_ weights: DeviceBuffer, count: Int, l1: Float, l2: Float, scale: Float,
                                      accumulator: DeviceBuffer, index: Int) {
        accumulate(weights, count: count, into: accumulator, index: index, term: .penalty, l1: l1, l2: l2, scale: scale)
    }

    public func regularizationGradient(_ weights: DeviceBuffer, gradients: DeviceBuffer, count: Int, l1: Float, l2: Float) {
        launch("regularization_gradient", items: count, [.buffer(weights), .buffer(gradients), .int(count), .float(l1), .float(l2)])
    }
}
