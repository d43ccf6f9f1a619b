/// What `fit` returns: Keras' `History`, one value per epoch for each logged quantity.
///
/// Keys keep Keras' order: `loss`, the metrics, then `val_loss` and the validation metrics.
public struct History: Sendable {
    /// The epochs that ran (0-based, as Keras' `history.epoch`).
    public internal(set) var epoch: [Int] = []
    /// `history["loss"]`, `history["val_accuracy"]`, ….
    public internal(set) var history: [String: [Float]] = [:]
    /// The keys in the order they were first logged.
    public internal(set) var keys: [String] = []

    /// Creates an empty history (`fit` makes and fills one).
    public init() {}

    mutating func append(epoch index: Int, logs: [(String, Float)]) {
        epoch.append(index)
        for (key, value) in logs {
            if history[key] == nil { keys.append(key) }
            history[key, default: []].append(value)
        }
    }

    /// `history.history` as JSON, keys in Keras' order; NaN and infinities written as Python's `json` does.
    public func jsonString() -> String {
        let body = keys.map { key in
            "\"\(key)\": [" + history[key]!.map(History.jsonNumber).joined(separator: ", ") + "]"
        }
        return "{" + body.joined(separator: ", ") + "}"
    }

    /// `value` as Python's `json` writes a float: `NaN`, `Infinity`, `-Infinity`, else its shortest `Double` spelling.
    public static func jsonNumber(_ value: Float) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "Infinity" : "-Infinity" }
        return "\(Double(value))"
    }
}
