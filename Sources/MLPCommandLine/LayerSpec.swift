import MLPKit

/// The output layer as written on the command line: `UNITS[:ACTIVATION]`, e.g. `7:softmax`.
struct LayerSpec: Equatable {
    let units: Int
    let activation: Activation

    /// Parses `25:relu`; the activation defaults to linear, as Keras' Dense.
    init(_ text: String, flag: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard (1...2).contains(parts.count), let units = Int(parts[0]) else {
            throw MLPError.invalidArgument("\(flag): '\(text)' is not UNITS:ACTIVATION (for example 25:relu)")
        }
        try HiddenLayerSpec.checkUnits(units, flag: flag, entry: text)
        self.units = units
        activation = parts.count == 2 ? try Activation(keras: parts[1]) : .linear
    }

    init(units: Int, activation: Activation) {
        self.units = units
        self.activation = activation
    }
}

/// One `--layers` entry: `UNITS:ACTIVATION[:dropout=R][:l1=X][:l2=Y][:init=NAME]` (a Dense layer, followed by a
/// Dropout layer when `dropout=` is given), `bn` (BatchNormalization) or `dropout=R`.
enum HiddenLayerSpec: Equatable {
    case dense(units: Int, activation: Activation, dropout: Float?, l1: Float?, l2: Float?, initializer: Initializer?)
    case batchNormalization
    case dropout(Float)

    init(_ text: String) throws {
        let flag = "--layers"
        let lowered = text.trimmingCharacters(in: .whitespaces).lowercased()
        if lowered == "bn" || lowered == "batchnorm" || lowered == "batch_normalization" {
            self = .batchNormalization
            return
        }
        if lowered.hasPrefix("dropout=") {
            self = .dropout(try HiddenLayerSpec.rate(String(lowered.dropFirst(8)), entry: text))
            return
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let units = Int(parts[0]), parts.count >= 1 else {
            throw MLPError.invalidArgument("\(flag): '\(text)' is not UNITS:ACTIVATION[:dropout=R][:l1=X][:l2=Y][:init=NAME], bn or dropout=R (for example 25:relu)")
        }
        try HiddenLayerSpec.checkUnits(units, flag: flag, entry: text)
        var activation = Activation.linear
        var dropout: Float?, l1: Float?, l2: Float?, initializer: Initializer?
        for (index, part) in parts.dropFirst().enumerated() {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            if pair.count == 1 && index == 0 {
                activation = try Activation(keras: part)
                continue
            }
            guard pair.count == 2 else {
                throw MLPError.invalidArgument("\(flag): '\(part)' in '\(text)' is not KEY=VALUE (dropout, l1, l2, init)")
            }
            switch pair[0].lowercased() {
            case "dropout": dropout = try HiddenLayerSpec.rate(pair[1], entry: text)
            case "l1": l1 = try HiddenLayerSpec.factor(pair[1], key: "l1", entry: text)
            case "l2": l2 = try HiddenLayerSpec.factor(pair[1], key: "l2", entry: text)
            case "init": initializer = try Initializer(keras: pair[1])
            default:
                throw MLPError.unknownName(kind: "--layers option", received: pair[0], valid: ["dropout", "l1", "l2", "init"])
            }
        }
        self = .dense(units: units, activation: activation, dropout: dropout, l1: l1, l2: l2, initializer: initializer)
    }

    /// Units must be positive and at most ``FlagCheck/maxCount``.
    static func checkUnits(_ units: Int, flag: String, entry: String) throws {
        guard (1...FlagCheck.maxCount).contains(units) else {
            throw MLPError.invalidArgument("\(flag): '\(entry)' needs a positive number of units (at most \(FlagCheck.maxCount)), got \(units)")
        }
    }

    static func rate(_ text: String, entry: String) throws -> Float {
        guard let rate = Float(text), rate >= 0, rate < 1 else {
            throw MLPError.invalidArgument("--layers: dropout rate '\(text)' in '\(entry)' must be a number in [0, 1)")
        }
        return rate
    }

    static func factor(_ text: String, key: String, entry: String) throws -> Float {
        guard let value = Float(text), value.isFinite, value >= 0 else {
            throw MLPError.invalidArgument("--layers: \(key) '\(text)' in '\(entry)' must be a finite number ≥ 0")
        }
        return value
    }

    /// The most copies one `ENTRY*N` stands for.
    static let maxRepeat = 1000

    /// Parses a comma-separated list; an empty string (or `none`) means no hidden layers. `ENTRY*N` stands for
    /// N copies of the entry (`64:relu*8`, `64:relu:dropout=0.1*4`), N in 1...``maxRepeat``.
    static func list(_ text: String) throws -> [HiddenLayerSpec] {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty || trimmed == "none" { return [] }
        return try trimmed.split(separator: ",", omittingEmptySubsequences: false).flatMap { entry -> [HiddenLayerSpec] in
            let (body, count) = try repeated(String(entry))
            return Array(repeating: try HiddenLayerSpec(body), count: count)
        }
    }

    /// `64:relu*8` → (`64:relu`, 8); an entry without `*` is one copy.
    static func repeated(_ entry: String) throws -> (body: String, count: Int) {
        guard let star = entry.lastIndex(of: "*") else { return (entry, 1) }
        let body = String(entry[..<star]), countText = entry[entry.index(after: star)...].trimmingCharacters(in: .whitespaces)
        guard let count = Int(countText), (1...maxRepeat).contains(count), !body.contains("*") else {
            throw MLPError.invalidArgument("--layers: '\(entry.trimmingCharacters(in: .whitespaces))' repeats an entry ENTRY*N with N an integer in 1...\(maxRepeat) (for example 64:relu*8), got '\(countText)'")
        }
        return (body, count)
    }

    /// The layers this entry stands for.
    var layers: [Layer] {
        switch self {
        case let .dense(units, activation, dropout, l1, l2, initializer):
            let regularizer = (l1 != nil || l2 != nil) ? Regularizer(l1: l1 ?? 0, l2: l2 ?? 0) : nil
            let dense = Dense(units, activation: activation, kernelInitializer: initializer ?? .glorotUniform, kernelRegularizer: regularizer)
            return dropout.map { [dense, Dropout($0)] } ?? [dense]
        case .batchNormalization:
            return [BatchNormalization()]
        case .dropout(let rate):
            return [Dropout(rate)]
        }
    }
}

/// Parses `key=value,key,…` option lists (`--early-stopping monitor=val_loss,patience=5,restore-best-weights`):
/// a key without a value means true. Keys use `-` or `_`; unknown keys are an error naming the valid ones.
struct KeyValueOptions {
    private var values: [String: String] = [:]
    let flag: String

    init(_ text: String, flag: String, valid: [String]) throws {
        self.flag = flag
        for item in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            let pair = item.split(separator: "=", maxSplits: 1).map(String.init)
            let key = pair[0].replacingOccurrences(of: "_", with: "-").lowercased()
            guard valid.contains(key) else { throw MLPError.unknownName(kind: "\(flag) option", received: pair[0], valid: valid) }
            values[key] = pair.count == 2 ? pair[1] : "true"
        }
    }

    func string(_ key: String) -> String? { values[key] }

    func float(_ key: String) throws -> Float? {
        guard let text = values[key] else { return nil }
        guard let value = Float(text), value.isFinite else { throw MLPError.invalidArgument("\(flag): \(key)=\(text) is not a finite number") }
        return value
    }

    /// An integer in `range` (default: 0 or more).
    func count(_ key: String, _ range: ClosedRange<Int> = 0...FlagCheck.maxCount) throws -> Int? {
        guard let value = try int(key) else { return nil }
        guard range.contains(value) else {
            throw MLPError.invalidArgument("\(flag): \(key)=\(value) must be in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    func int(_ key: String) throws -> Int? {
        guard let text = values[key] else { return nil }
        guard let value = Int(text) else { throw MLPError.invalidArgument("\(flag): \(key)=\(text) is not an integer") }
        return value
    }

    func bool(_ key: String) throws -> Bool {
        guard let text = values[key] else { return false }
        switch text.lowercased() {
        case "true", "1", "yes": return true
        case "false", "0", "no": return false
        default: throw MLPError.invalidArgument("\(flag): \(key)=\(text) is not true or false")
        }
    }

    func mode() throws -> MonitorMode {
        guard let text = values["mode"] else { return .auto }
        guard let mode = MonitorMode(rawValue: text) else {
            throw MLPError.unknownName(kind: "\(flag) mode", received: text, valid: MonitorMode.allCases.map(\.rawValue))
        }
        return mode
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
