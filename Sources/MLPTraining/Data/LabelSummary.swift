/// What a label column holds, gathered in one pass over the rows: the range, and the first label that is not a
/// class index (a non-negative integer below 2^24), with its file line, so that a reader can say where the data stops
/// looking like class labels.
public struct LabelSummary: Equatable, Sendable {
    /// A label and the file line it came from (0 when not from a file).
    public struct Located: Equatable, Sendable {
        /// The label's value.
        public let value: Float
        /// The 1-based file line it came from, 0 when not from a file.
        public let line: Int

        /// Creates a located label.
        public init(value: Float, line: Int) {
            self.value = value
            self.line = line
        }
    }

    /// Labels seen.
    public private(set) var count = 0
    /// The smallest label (+∞ before any).
    public private(set) var minimum = Float.infinity
    /// The largest label (−∞ before any).
    public private(set) var maximum = -Float.infinity
    /// The first label that is not a non-negative integer; nil when all are class indices.
    public private(set) var firstNonClassLabel: Located?

    /// No labels yet.
    public init() {}

    /// The labels `values`, from file lines `lines` (same count) when known.
    public init(values: some Sequence<Float>, lines: [Int]? = nil) {
        for (row, value) in values.enumerated() { add(value, line: lines?[row] ?? 0) }
    }

    /// Counts `value`, read from file line `line`.
    public mutating func add(_ value: Float, line: Int) {
        count += 1
        minimum = min(minimum, value)
        maximum = max(maximum, value)
        if firstNonClassLabel == nil && !LabelSummary.isClassIndex(value) { firstNonClassLabel = Located(value: value, line: line) }
    }

    /// Every label is a class index.
    public var areClassIndices: Bool { firstNonClassLabel == nil }

    /// The largest class index a label may be: 2^24 − 1, above which a `Float` no longer holds every integer.
    public static let largestClassIndex: Float = 16_777_215

    /// A non-negative integer up to ``largestClassIndex``.
    public static func isClassIndex(_ value: Float) -> Bool { value >= 0 && value <= largestClassIndex && value == value.rounded() }
}
