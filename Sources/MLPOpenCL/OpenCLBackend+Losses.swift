import MLPCore

/// The branches of `loss_rows` (`LOSS_*` in losses.cl), one per ``LossKind`` case (`fromLogits` is an argument).
enum LossSelector: String, KernelSelector {
    case meanSquaredError = "MEAN_SQUARED_ERROR"
    case meanAbsoluteError = "MEAN_ABSOLUTE_ERROR"
    case binaryCrossentropy = "BINARY_CROSSENTROPY"
    case categoricalCrossentropy = "CATEGORICAL_CROSSENTROPY"
    case sparseCategoricalCrossentropy = "SPARSE_CATEGORICAL_CROSSENTROPY"

    static var macroPrefix: String { "LOSS" }
    var macroSuffix: String { rawValue }
    static let codes = codeTable()
    var code: Int { LossSelector.codes[self]! }
}

extension LossKind {
    /// The `loss_rows` branch and logits flag.
    var kernelCode: (kind: Int, fromLogits: Bool) {
        switch self {
        case .meanSquaredError: return (LossSelector.meanSquaredError.code, false)
        case .meanAbsoluteError: return (LossSelector.meanAbsoluteError.code, false)
        case .binaryCrossentropy(let logits): return (LossSelector.binaryCrossentropy.code, logits)
        case .categoricalCrossentropy(let logits): return (LossSelector.categoricalCrossentropy.code, logits)
        case .sparseCategoricalCrossentropy(let logits): return (LossSelector.sparseCategoricalCrossentropy.code, logits)
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
