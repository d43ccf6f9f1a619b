/// How a prediction is judged right, as Keras' accuracy metrics do.
public enum AccuracyKind: String, CaseIterable, Equatable, Sendable {
    /// `pred > 0.5` equals the 0/1 target, averaged over the sample's outputs.
    case binary = "binary_accuracy"
    /// `argmax(pred) == argmax(target)` (one-hot targets).
    case categorical = "categorical_accuracy"
    /// `argmax(pred) == target` (integer targets).
    case sparseCategorical = "sparse_categorical_accuracy"
}

/// Metric counts, added to device-side accumulators (read only when the host asks).
public protocol BackendMetrics: AnyObject {
    /// Adds the number of correct samples (a fraction per sample for multi-output binary accuracy) to
    /// `accumulator[accumulatorIndex]`.
    func accuracyCount(_ kind: AccuracyKind, predictions: DeviceBuffer, targets: DeviceBuffer,
                       rows: Int, columns: Int, accumulator: DeviceBuffer, accumulatorIndex: Int)

    /// Adds 1 for each sample whose target class is among the `k` highest predictions (Keras' top-k
    /// categorical accuracy; `sparse` targets are class indices, otherwise one-hot rows) to `accumulator[index]`.
    func topKAccuracyCount(predictions: DeviceBuffer, targets: DeviceBuffer, rows: Int, columns: Int, k: Int, sparse: Bool,
                           accumulator: DeviceBuffer, index: Int)

    /// For each of `thresholdCount` thresholds `t` (a device buffer), adds the counts of true positives,
    /// false positives, true negatives and false negatives of `prediction > t` against `target > 0.5`, over
    /// `count` values, to `accumulator[index + 4·i …]` (TP, FP, TN, FN): precision, recall and AUC.
    func confusionCounts(predictions: DeviceBuffer, targets: DeviceBuffer, count: Int, thresholds: DeviceBuffer, thresholdCount: Int,
                         accumulator: DeviceBuffer, index: Int)
}
