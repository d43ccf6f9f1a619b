import ArgumentParser
import MLPKit

/// Range checks for numeric flags, for `validate()`: each failure is one ``ValidationError`` line naming the
/// flag, the bounds and the value received.
enum FlagCheck {
    /// The largest width or count a flag takes (layer units, --input-dim, --batch-size, --epochs): sizes are
    /// 32-bit in the BLAS and OpenCL kernels.
    static let maxCount = Int(Int32.max)

    /// `value` (when given) must lie in `range`.
    static func count(_ value: Int?, _ flag: String, _ range: ClosedRange<Int>) throws {
        guard let value, !range.contains(value) else { return }
        let bounds = range.upperBound == maxCount ? "≥ \(range.lowerBound)" : "in \(range.lowerBound)...\(range.upperBound)"
        let limit = range.upperBound == maxCount ? " (at most \(maxCount))" : ""
        throw ValidationError("\(flag) must be an integer \(bounds)\(limit), got \(value)")
    }

    /// `value` (when given) must be finite and lie within the bounds; `lower`/`upper` are included unless
    /// marked open.
    static func number(_ value: Float?, _ flag: String, atLeast lower: Float, open lowerOpen: Bool = false,
                       atMost upper: Float? = nil, openAbove upperOpen: Bool = false) throws {
        try number(value.map(Double.init), flag, atLeast: Double(lower), open: lowerOpen, atMost: upper.map(Double.init),
                   openAbove: upperOpen)
    }

    /// ``number(_:_:atLeast:open:atMost:openAbove:)`` for a `Double` flag (`--validation-split`).
    static func number(_ value: Double?, _ flag: String, atLeast lower: Double, open lowerOpen: Bool = false,
                       atMost upper: Double? = nil, openAbove upperOpen: Bool = false) throws {
        guard let value else { return }
        let aboveLower = lowerOpen ? value > lower : value >= lower
        let belowUpper = upper.map { upperOpen ? value < $0 : value <= $0 } ?? true
        guard !value.isFinite || !aboveLower || !belowUpper else { return }
        let bounds: String
        if let upper {
            bounds = "in \(lowerOpen ? "(" : "[")\(text(lower)), \(text(upper))\(upperOpen ? ")" : "]")"
        } else {
            bounds = "\(lowerOpen ? ">" : "≥") \(text(lower))"
        }
        throw ValidationError("\(flag) must be a finite number \(bounds), got \(text(value))")
    }

    /// `1` for 1.0, `0.5`, `nan`, `inf`.
    static func text(_ value: Float) -> String {
        value.isFinite && value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
    }

    /// ``text(_:)`` for a `Double`.
    static func text(_ value: Double) -> String {
        value.isFinite && value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
    }
}

/// `--verbose`: Keras' `verbose` for `fit`.
enum Verbosity: Int, CaseIterable, ExpressibleByArgument {
    case silent = 0, progressBar = 1, oneLinePerEpoch = 2
}
