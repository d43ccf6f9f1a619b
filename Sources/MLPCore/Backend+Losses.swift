/// A loss as the backend computes it. Reduction is Keras' "sum over batch size": each sample's loss is
/// the mean over its last axis (MSE, MAE, binary cross-entropy) or the sum over classes (categorical),
/// and the batch loss is the mean over samples.
public enum LossKind: Equatable, Sendable {
    case meanSquaredError
    case meanAbsoluteError
    /// `fromLogits`: the predictions are logits; otherwise probabilities, clipped to `[1e-7, 1-1e-7]`.
    case binaryCrossentropy(fromLogits: Bool)
    case categoricalCrossentropy(fromLogits: Bool)
    /// Targets are class indices stored as `Float`, one per sample.
    case sparseCategoricalCrossentropy(fromLogits: Bool)

    /// Keras' probability clipping constant (`backend.epsilon()`).
    public static let epsilon: Float = 1e-7

    /// Targets per sample for `predictionColumns` outputs (1 for sparse labels).
    public func targetColumns(predictionColumns: Int) -> Int {
        if case .sparseCategoricalCrossentropy = self { return 1 }
        return predictionColumns
    }

    /// The same loss, reading logits instead of probabilities (cross-entropies only).
    public var withLogits: LossKind {
        switch self {
        case .binaryCrossentropy: return .binaryCrossentropy(fromLogits: true)
        case .categoricalCrossentropy: return .categoricalCrossentropy(fromLogits: true)
        case .sparseCategoricalCrossentropy: return .sparseCategoricalCrossentropy(fromLogits: true)
        default: return self
        }
    }
}

/// The loss of a batch and its gradient, reduced on the device.
public protocol BackendLosses: AnyObject {
    /// Adds the sum over `rows` samples of the per-sample loss to `accumulator[accumulatorIndex]` and, when
    /// `gradient` is given, writes `gradientScale · ∂(Σ per-sample loss)/∂predictions` into it.
    /// `predictions` is (rows, columns); `targets` is (rows, columns), or (rows) for sparse labels.
    /// With `sampleWeights` (one per row), each sample's loss and gradient are multiplied by its weight
    /// (Keras' `sample_weight`; the mean still divides by the number of samples).
    func lossForwardBackward(_ loss: LossKind, predictions: DeviceBuffer, targets: DeviceBuffer, sampleWeights: DeviceBuffer?,
                             rows: Int, columns: Int, gradient: DeviceBuffer?, gradientScale: Float,
                             accumulator: DeviceBuffer, accumulatorIndex: Int)
}

public extension BackendLosses {
    /// ``lossForwardBackward(_:predictions:targets:sampleWeights:rows:columns:gradient:gradientScale:accumulator:accumulatorIndex:)``
    /// without sample weights.
    func lossForwardBackward(_ loss: LossKind, predictions: DeviceBuffer, targets: DeviceBuffer,
                             rows: Int, columns: Int, gradient: DeviceBuffer?, gradientScale: Float,
                             accumulator: DeviceBuffer, accumulatorIndex: Int) {
        lossForwardBackward(loss, predictions: predictions, targets: targets, sampleWeights: nil, rows: rows, columns: columns,
                            gradient: gradient, gradientScale: gradientScale, accumulator: accumulator, accumulatorIndex: accumulatorIndex)
    }
}
