import MLPKit

/// One Dense layer as written on the command line: `UNITS[:ACTIVATION]`, e.g. `25:relu`.
struct LayerSpec: Equatable {
    let units: Int
    let activation: Activation

    /// Parses `25:relu`; the activation defaults to linear, as Keras' Dense.
    init(_ text: String, flag: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard (1...2).contains(parts.count), let units = Int(parts[0]) else {
            throw MLPError.invalidArgument("\(flag): '\(text)' is not UNITS:ACTIVATION (for example 25:relu)")
        }
        guard units > 0 else { throw MLPError.invalidArgument("\(flag): '\(text)' needs a positive number of units") }
        self.units = units
        activation = parts.count == 2 ? try Activation(keras: parts[1]) : .linear
    }

    init(units: Int, activation: Activation) {
        self.units = units
        self.activation = activation
    }

    /// Parses a comma-separated list (`25:relu,36:relu`); an empty string means no layers.
    static func list(_ text: String, flag: String) throws -> [LayerSpec] {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty || trimmed == "none" { return [] }
        return try trimmed.split(separator: ",", omittingEmptySubsequences: false).map { try LayerSpec(String($0), flag: flag) }
    }
}

/// The loss a Keras user would pick for an output layer: softmax → sparse categorical cross-entropy
/// (one-hot targets → categorical), sigmoid → binary cross-entropy, anything else → mean squared error.
func defaultLoss(for output: LayerSpec, oneHotTargets: Bool) -> Loss {
    switch output.activation {
    case .softmax: return oneHotTargets ? .categoricalCrossentropy(fromLogits: false) : .sparseCategoricalCrossentropy(fromLogits: false)
    case .sigmoid: return .binaryCrossentropy(fromLogits: false)
    default: return .meanSquaredError
    }
}

/// Accuracy for classification losses; none for regression.
func defaultMetrics(for loss: Loss) -> [Metric] {
    switch loss {
    case .meanSquaredError, .meanAbsoluteError: return []
    default: return [.accuracy]
    }
}
