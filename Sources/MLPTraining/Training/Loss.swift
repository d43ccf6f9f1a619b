import MLPCore

/// A loss for ``Sequential/compile(optimizer:loss:metrics:)``: the backend's `LossKind` with Keras' names.
public typealias Loss = LossKind

extension LossKind {
    /// Keras' loss names and aliases.
    static let kerasNames: [(String, LossKind)] = [
        ("mean_squared_error", .meanSquaredError), ("mse", .meanSquaredError),
        ("mean_absolute_error", .meanAbsoluteError), ("mae", .meanAbsoluteError),
        ("binary_crossentropy", .binaryCrossentropy(fromLogits: false)),
        ("categorical_crossentropy", .categoricalCrossentropy(fromLogits: false)),
        ("sparse_categorical_crossentropy", .sparseCategoricalCrossentropy(fromLogits: false)),
    ]

    /// Looks up a Keras loss name (`"sparse_categorical_crossentropy"`, `"mse"`, …).
    public init(keras name: String, fromLogits: Bool = false) throws {
        guard let found = LossKind.kerasNames.first(where: { $0.0 == name.lowercased() })?.1 else {
            throw MLPError.unknownName(kind: "loss", received: name, valid: LossKind.kerasNames.map(\.0))
        }
        self = fromLogits ? found.withLogits : found
    }

    /// The canonical Keras name.
    public var kerasName: String {
        switch self {
        case .meanSquaredError: return "mean_squared_error"
        case .meanAbsoluteError: return "mean_absolute_error"
        case .binaryCrossentropy: return "binary_crossentropy"
        case .categoricalCrossentropy: return "categorical_crossentropy"
        case .sparseCategoricalCrossentropy: return "sparse_categorical_crossentropy"
        }
    }

    /// Whether the predictions are logits.
    public var isFromLogits: Bool {
        switch self {
        case .binaryCrossentropy(let l), .categoricalCrossentropy(let l), .sparseCategoricalCrossentropy(let l): return l
        default: return false
        }
    }

    /// The same loss on logits when `activation` is the one it can absorb (softmax for categorical,
    /// sigmoid for binary) and the loss reads probabilities: Keras' TensorFlow backend does the same via
    /// `_keras_logits`, which is stable and exact where clipping would cut gradients.
    func fused(with activation: Activation?) -> LossKind? {
        switch (self, activation) {
        case (.categoricalCrossentropy(false), .softmax?), (.sparseCategoricalCrossentropy(false), .softmax?),
             (.binaryCrossentropy(false), .sigmoid?):
            return withLogits
        default:
            return nil
        }
    }
}
