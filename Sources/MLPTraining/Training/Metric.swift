import MLPCore

/// A metric reported by `fit` and `evaluate` next to the loss.
public enum Metric: Equatable, Sendable {
    /// Keras' `"accuracy"`: resolved by shape at compile time — one output unit or binary cross-entropy →
    /// binary accuracy, sparse labels → sparse categorical accuracy, otherwise categorical accuracy.
    case accuracy
    case binaryAccuracy, categoricalAccuracy, sparseCategoricalAccuracy

    static let kerasNames: [(String, Metric)] = [
        ("accuracy", .accuracy), ("acc", .accuracy), ("binary_accuracy", .binaryAccuracy),
        ("categorical_accuracy", .categoricalAccuracy), ("sparse_categorical_accuracy", .sparseCategoricalAccuracy),
    ]

    /// Looks up a Keras metric name.
    public init(keras name: String) throws {
        guard let found = Metric.kerasNames.first(where: { $0.0 == name.lowercased() })?.1 else {
            throw MLPError.unknownName(kind: "metric", received: name, valid: Metric.kerasNames.map(\.0))
        }
        self = found
    }

    /// The name as given (`accuracy` keeps its name in logs, as in Keras).
    public var kerasName: String {
        switch self {
        case .accuracy: return "accuracy"
        case .binaryAccuracy: return "binary_accuracy"
        case .categoricalAccuracy: return "categorical_accuracy"
        case .sparseCategoricalAccuracy: return "sparse_categorical_accuracy"
        }
    }

    func resolved(loss: LossKind, outputUnits: Int) -> AccuracyKind {
        switch self {
        case .binaryAccuracy: return .binary
        case .categoricalAccuracy: return .categorical
        case .sparseCategoricalAccuracy: return .sparseCategorical
        case .accuracy:
            if case .sparseCategoricalCrossentropy = loss { return .sparseCategorical }
            if case .binaryCrossentropy = loss { return .binary }
            return outputUnits == 1 ? .binary : .categorical
        }
    }
}
