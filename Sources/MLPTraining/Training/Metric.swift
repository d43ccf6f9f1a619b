import Foundation
import MLPCore

/// A metric reported by `fit` and `evaluate` next to the loss. Values are accumulated on the device over the
/// epoch (counts, sums) and turned into the metric when logs are read, so precision, recall and AUC are
/// exact over the epoch, not means of per-batch values.
public enum Metric: Equatable, Sendable {
    /// Keras' `"accuracy"`: resolved by shape at compile time — one output unit or binary cross-entropy →
    /// binary accuracy, sparse labels → sparse categorical accuracy, otherwise categorical accuracy.
    case accuracy
    case binaryAccuracy, categoricalAccuracy, sparseCategoricalAccuracy
    /// `TP/(TP+FP)` at threshold 0.5 (binary or multi-label outputs).
    case precision
    /// `TP/(TP+FN)` at threshold 0.5.
    case recall
    /// Area under the ROC curve from 200 thresholds, Keras' interpolation (Riemann sum of trapezoids).
    case auc
    /// The target class is among the `k` highest predictions (one-hot targets; Keras default k = 5).
    case topKCategoricalAccuracy(k: Int)
    /// The same with class-index targets.
    case sparseTopKCategoricalAccuracy(k: Int)
    /// A loss function as a metric, unweighted and without regularization penalties (so `loss` and
    /// `mean_squared_error` differ exactly by the penalties).
    case loss(LossKind)

    static let kerasNames: [(String, Metric)] = [
        ("accuracy", .accuracy), ("acc", .accuracy), ("binary_accuracy", .binaryAccuracy),
        ("categorical_accuracy", .categoricalAccuracy), ("sparse_categorical_accuracy", .sparseCategoricalAccuracy),
        ("precision", .precision), ("recall", .recall), ("auc", .auc),
        ("top_k_categorical_accuracy", .topKCategoricalAccuracy(k: 5)),
        ("sparse_top_k_categorical_accuracy", .sparseTopKCategoricalAccuracy(k: 5)),
    ] + LossKind.kerasNames.map { ($0.0, .loss($0.1)) }

    /// Looks up a Keras metric name (`accuracy`, `auc`, `mse`, …).
    public init(keras name: String) throws {
        guard let found = Metric.kerasNames.first(where: { $0.0 == name.lowercased() })?.1 else {
            throw MLPError.unknownName(kind: "metric", received: name, valid: Metric.kerasNames.map(\.0))
        }
        self = found
    }

    /// The log key (`accuracy` keeps its name, as in Keras).
    public var kerasName: String {
        switch self {
        case .accuracy: return "accuracy"
        case .binaryAccuracy: return "binary_accuracy"
        case .categoricalAccuracy: return "categorical_accuracy"
        case .sparseCategoricalAccuracy: return "sparse_categorical_accuracy"
        case .precision: return "precision"
        case .recall: return "recall"
        case .auc: return "auc"
        case .topKCategoricalAccuracy: return "top_k_categorical_accuracy"
        case .sparseTopKCategoricalAccuracy: return "sparse_top_k_categorical_accuracy"
        case .loss(let loss): return loss.kerasName
        }
    }

    /// Whether a larger value is better (EarlyStopping's and ModelCheckpoint's `auto` mode).
    public var higherIsBetter: Bool {
        if case .loss = self { return false }
        return true
    }

    func resolvedAccuracy(loss: LossKind, outputUnits: Int) -> AccuracyKind? {
        switch self {
        case .binaryAccuracy: return .binary
        case .categoricalAccuracy: return .categorical
        case .sparseCategoricalAccuracy: return .sparseCategorical
        case .accuracy:
            if case .sparseCategoricalCrossentropy = loss { return .sparseCategorical }
            if case .binaryCrossentropy = loss { return .binary }
            return outputUnits == 1 ? .binary : .categorical
        default: return nil
        }
    }
}

/// A compiled metric: what to accumulate, where, and how to turn the sums into the logged value.
struct MetricSlot {
    enum Kind {
        case accuracy(AccuracyKind)
        case topK(k: Int, sparse: Bool)
        case confusion(thresholds: DeviceBuffer, count: Int, result: ConfusionResult)
        case loss(LossKind)
    }

    enum ConfusionResult { case precision, recall, auc }

    let name: String
    let kind: Kind
    /// The first accumulator index.
    let offset: Int

    var width: Int {
        if case let .confusion(_, count, _) = kind { return 4 * count }
        return 1
    }

    /// Whether the slot reads only the last layer's pre-activation values (a loss fused with `lastActivation`),
    /// not its activated output.
    func readsOnlyPreActivation(lastActivation: Activation?) -> Bool {
        if case .loss(let metricLoss) = kind { return metricLoss.fused(with: lastActivation) != nil }
        return false
    }

    /// Keras' AUC thresholds: −ε, 1/(n−1), …, (n−2)/(n−1), 1+ε.
    static let aucThresholds: [Float] = [0 - 1e-7] + (1...198).map { Float($0) / 199 } + [1 + 1e-7]

    /// The logged value from the accumulator `sums` over `samples` samples.
    func value(_ sums: [Float], samples: Int) -> Float {
        let n = Float(max(samples, 1))
        switch kind {
        case .accuracy, .topK, .loss:
            return sums[offset] / n
        case let .confusion(_, count, result):
            func counts(_ i: Int) -> (tp: Float, fp: Float, tn: Float, fn: Float) {
                let o = offset + 4 * i
                return (sums[o], sums[o + 1], sums[o + 2], sums[o + 3])
            }
            switch result {
            case .precision:
                let c = counts(0)
                return c.tp + c.fp > 0 ? c.tp / (c.tp + c.fp) : 0
            case .recall:
                let c = counts(0)
                return c.tp + c.fn > 0 ? c.tp / (c.tp + c.fn) : 0
            case .auc:
                let points = (0..<count).map { i -> (x: Float, y: Float) in
                    let c = counts(i)
                    return (c.fp + c.tn > 0 ? c.fp / (c.fp + c.tn) : 0, c.tp + c.fn > 0 ? c.tp / (c.tp + c.fn) : 0)
                }
                var area: Float = 0
                for i in 0..<(count - 1) { area += (points[i].x - points[i + 1].x) * (points[i].y + points[i + 1].y) / 2 }
                return area
            }
        }
    }
}
