import MLPCore

extension LossKind {
    /// The code and logits flag `losses.cl` uses.
    var kernelCode: (kind: Int, fromLogits: Bool) {
        switch self {
        case .meanSquaredError: return (0, false)
        case .meanAbsoluteError: return (1, false)
        case .binaryCrossentropy(let logits): return (2, logits)
        case .categoricalCrossentropy(let logits): return (3, logits)
        case .sparseCategoricalCrossentropy(let logits): return (4, logits)
        }
    }
}

/// Losses and their gradients, reduced on the device (``BackendLosses``; Kernels/losses.cl).
extension OpenCLBackend {
    /// Per-row losses into scratch, then one work-group adds their sum to the accumulator: no host read.
    public func lossForwardBackward(_ loss: LossKind, predictions: DeviceBuffer, targets: DeviceBuffer, sampleWeights: DeviceBuffer?,
                                    rows: Int, columns: Int, gradient: DeviceBuffer?, gradientScale: Float,
                                    accumulator: DeviceBuffer, accumulatorIndex: Int) {
        let rowLoss = scratch(rows)
        let code = loss.kernelCode
        launch("loss_rows", items: rows, [.int(code.kind), .int(code.fromLogits ? 1 : 0), .buffer(predictions), .buffer(targets),
                                          .buffer(sampleWeights), .int(sampleWeights == nil ? 0 : 1), .int(rows), .int(columns), .buffer(gradient), .int(gradient == nil ? 0 : 1),
                                          .float(gradientScale), .buffer(rowLoss)])
        accumulate(rowLoss, count: rows, into: accumulator, index: accumulatorIndex)
    }
}
