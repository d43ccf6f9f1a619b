import MLPCore

/// A weight penalty added to the loss (Keras' `L1`, `L2`, `L1L2`): `l1·Σ|w| + l2·Σw²`, with gradient
/// `l1·sign(w) + 2·l2·w`. The penalty is part of the reported `loss`, `val_loss` and `evaluate` loss, as in Keras.
public struct Regularizer: Equatable, Sendable {
    /// The L1 factor (0 by default).
    public let l1: Float
    /// The L2 factor (0 by default); Keras' `L2(0.01)` is `Regularizer(l2: 0.01)`.
    public let l2: Float

    /// Creates a penalty `l1·Σ|w| + l2·Σw²`.
    public init(l1: Float = 0, l2: Float = 0) {
        self.l1 = l1
        self.l2 = l2
    }

    /// Keras' `L1(0.01)`.
    public static func l1(_ factor: Float = 0.01) -> Regularizer { Regularizer(l1: factor) }
    /// Keras' `L2(0.01)`.
    public static func l2(_ factor: Float = 0.01) -> Regularizer { Regularizer(l2: factor) }
    /// Keras' `L1L2` (class defaults 0; the string `"l1_l2"` means 0.01 and 0.01).
    public static func l1l2(l1: Float = 0, l2: Float = 0) -> Regularizer { Regularizer(l1: l1, l2: l2) }

    /// The Keras class name, as in model configs.
    public var kerasClassName: String { l1 != 0 && l2 != 0 ? "L1L2" : (l1 != 0 ? "L1" : "L2") }
}
