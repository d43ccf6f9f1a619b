/// A host-side, row-major block of `Float32` values with a shape.
///
/// `Tensor` is how data enters and leaves MLPKit (training sets, predictions, weights). Computation
/// happens on a ``Backend`` in ``DeviceBuffer``s; a `Tensor` is uploaded once and read back rarely.
///
/// ```swift
/// let x = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
/// x[1, 2]  // 6
/// ```
public struct Tensor: Equatable, Sendable {
    /// The extent of each axis, outermost first. A batch of feature vectors is `[samples, features]`.
    public let shape: [Int]
    /// The values in row-major order; `scalars.count == shape.reduce(1, *)`.
    public var scalars: [Float]

    /// Wraps `scalars` with `shape`; the counts must agree (a programmer error otherwise).
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor shape \(shape) has a negative extent")
        precondition(shape.reduce(1, *) == scalars.count,
                     "Tensor shape \(shape) needs \(shape.reduce(1, *)) scalars, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor of `shape` filled with `value`.
    public init(shape: [Int], repeating value: Float) {
        self.init(shape: shape, scalars: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    /// Builds a `[rows.count, width]` matrix from equally long rows.
    public init(rows: [[Float]]) {
        let width = rows.first?.count ?? 0
        precondition(rows.allSatisfy { $0.count == width }, "Tensor(rows:) needs rows of equal length")
        self.init(shape: [rows.count, width], scalars: rows.flatMap { $0 })
    }

    /// The number of samples: the outermost extent (1 for a scalar).
    public var rowCount: Int { shape.first ?? 1 }

    /// The number of values per sample: the product of all axes but the first.
    public var columnCount: Int { shape.count <= 1 ? 1 : shape.dropFirst().reduce(1, *) }

    /// The element at `row`, `column` of a matrix-shaped tensor.
    public subscript(row: Int, column: Int) -> Float {
        get { scalars[row * columnCount + column] }
        set { scalars[row * columnCount + column] = newValue }
    }

    /// One sample's values.
    public func row(_ index: Int) -> ArraySlice<Float> {
        scalars[(index * columnCount)..<((index + 1) * columnCount)]
    }

    /// The samples at `indices`, in that order, as a new tensor with the same trailing shape.
    public func gatheringRows(_ indices: some Collection<Int>) -> Tensor {
        var out = [Float]()
        out.reserveCapacity(indices.count * columnCount)
        for index in indices { out.append(contentsOf: row(index)) }
        return Tensor(shape: [indices.count] + shape.dropFirst(), scalars: out)
    }

    /// The samples in `range`.
    public func rows(_ range: Range<Int>) -> Tensor {
        Tensor(shape: [range.count] + shape.dropFirst(),
               scalars: Array(scalars[(range.lowerBound * columnCount)..<(range.upperBound * columnCount)]))
    }

    /// A tensor of values drawn uniformly from `[low, high)` by the counter-based generator.
    public static func uniform(shape: [Int], low: Float = 0, high: Float = 1, seed: UInt64) -> Tensor {
        var random = PhiloxRandom(seed: seed, stream: PhiloxStream.tensorUniform)
        let scalars = (0..<shape.reduce(1, *)).map { _ in low + (high - low) * random.nextUniform() }
        return Tensor(shape: shape, scalars: scalars)
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = scalars.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), scalars: [\(shown)\(scalars.count > 8 ? ", …" : "")])"
    }
}
