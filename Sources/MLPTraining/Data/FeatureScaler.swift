import Foundation
import MLPCore

/// Feature scaling fitted on training data and saved with the model, so prediction on raw data applies the
/// same transform: standardization `(x − mean)/std` or min-max `(x − min)/(max − min)`, per feature.
public struct FeatureScaler: Equatable, Sendable {
    /// The transform: `standardize` (`(x − mean)/std`) or `minMax` (`(x − min)/(max − min)`, stored as `min_max`).
    public enum Kind: String, Sendable { case standardize, minMax = "min_max" }

    /// Which transform was fitted.
    public let kind: Kind
    /// Per feature: what is subtracted, and what the result is divided by (1 for constant features).
    public let offset: [Float]
    /// Per feature: the divisor applied after subtracting ``offset``.
    public let scale: [Float]

    /// Creates a scaler from its per-feature `offset` and `scale`, of equal length.
    public init(kind: Kind, offset: [Float], scale: [Float]) {
        self.kind = kind
        self.offset = offset
        self.scale = scale
    }

    /// Fits on `x` (samples × features). Constant features get scale 1 (they become 0).
    public static func fit(_ kind: Kind, to x: Tensor) -> FeatureScaler {
        let columns = x.columnCount, rows = Double(max(x.rowCount, 1))
        var offset = [Float](repeating: 0, count: columns), scale = [Float](repeating: 1, count: columns)
        for j in 0..<columns {
            let values = (0..<x.rowCount).map { Double(x[$0, j]) }
            switch kind {
            case .standardize:
                let mean = values.reduce(0, +) / rows
                let std = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / rows).squareRoot()
                offset[j] = Float(mean)
                scale[j] = std > 0 ? Float(std) : 1
            case .minMax:
                let low = values.min() ?? 0, high = values.max() ?? 0
                offset[j] = Float(low)
                scale[j] = high > low ? Float(high - low) : 1
            }
        }
        return FeatureScaler(kind: kind, offset: offset, scale: scale)
    }

    /// Fits on every batch of a source, one pass, in constant memory (Welford / running min and max).
    public static func fit(_ kind: Kind, to source: BatchSource) throws -> FeatureScaler {
        guard let count = source.batchCount else { throw MLPError.invalidArgument("fitting a scaler needs a finite batch source") }
        var n = 0.0
        var mean: [Double] = [], m2: [Double] = [], low: [Double] = [], high: [Double] = []
        for index in 0..<count {
            let x = try source.batch(index).x
            if mean.isEmpty {
                mean = Array(repeating: 0, count: x.columnCount); m2 = mean
                low = Array(repeating: .infinity, count: x.columnCount); high = Array(repeating: -.infinity, count: x.columnCount)
            }
            for r in 0..<x.rowCount {
                n += 1
                for j in 0..<x.columnCount {
                    let v = Double(x[r, j])
                    let delta = v - mean[j]
                    mean[j] += delta / n
                    m2[j] += delta * (v - mean[j])
                    low[j] = min(low[j], v)
                    high[j] = max(high[j], v)
                }
            }
        }
        switch kind {
        case .standardize:
            return FeatureScaler(kind: kind, offset: mean.map(Float.init),
                                 scale: m2.map { let std = ($0 / max(n, 1)).squareRoot(); return std > 0 ? Float(std) : 1 })
        case .minMax:
            return FeatureScaler(kind: kind, offset: low.map(Float.init), scale: zip(low, high).map { $1 > $0 ? Float($1 - $0) : 1 })
        }
    }

    /// The scaled features.
    public func transform(_ x: Tensor) -> Tensor {
        precondition(x.columnCount == offset.count, "the scaler was fitted on \(offset.count) features, got \(x.columnCount)")
        var out = x
        let columns = offset.count
        for i in out.scalars.indices {
            let j = i % columns
            out.scalars[i] = (x.scalars[i] - offset[j]) / scale[j]
        }
        return out
    }

    /// JSON-compatible form, stored in model files.
    public var json: [String: Any] { ["kind": kind.rawValue, "offset": offset.map(Double.init), "scale": scale.map(Double.init)] }

    /// Reads the form ``json`` writes; nil when a field is missing or the lengths differ.
    public init?(json: [String: Any]) {
        guard let kindName = json["kind"] as? String, let kind = Kind(rawValue: kindName),
              let offset = json["offset"] as? [Double], let scale = json["scale"] as? [Double], offset.count == scale.count else { return nil }
        self.init(kind: kind, offset: offset.map(Float.init), scale: scale.map(Float.init))
    }
}
