import Foundation
import MLPCore

/// Which CSV columns are features and which are targets: the label column by name or 0-based index, by
/// default the column named `label`, else the last; or several one-hot label columns.
public struct ColumnSelection: Equatable, Sendable {
    /// The 0-based indices of the feature columns, in file order.
    public let features: [Int]
    /// The 0-based indices of the label column(s); empty when there are none (prediction).
    public let labels: [Int]
    /// Whether the labels are one-hot columns.
    public let oneHot: Bool

    /// Picks the columns from `header`: `labelColumns` (one-hot) or `labelColumn`, by name or 0-based index, else
    /// the column named `label`, else the last one when `requireLabels`. Throws, naming `path`, for a column that
    /// is not there or when no feature column is left.
    public init(header: [String], labelColumn: String? = nil, labelColumns: [String]? = nil, requireLabels: Bool = true,
                path: String) throws {
        func index(_ spec: String) throws -> Int {
            if let found = header.firstIndex(of: spec) { return found }
            if let number = Int(spec), header.indices.contains(number) { return number }
            throw MLPError.invalidArgument("\(path): no column '\(spec)'; columns are \(header.joined(separator: ", ")) (or a 0-based index below \(header.count))")
        }
        var labels: [Int] = []
        if let labelColumns {
            labels = try labelColumns.map { try index($0.trimmingCharacters(in: .whitespaces)) }
        } else if let labelColumn {
            labels = [try index(labelColumn)]
        } else if let named = header.firstIndex(of: "label") {
            labels = [named]
        } else if requireLabels {
            labels = [header.count - 1]
        }
        features = header.indices.filter { !labels.contains($0) }
        guard !features.isEmpty else { throw MLPError.invalidArgument("\(path): no feature columns left after taking the label column(s)") }
        self.labels = labels
        oneHot = labelColumns != nil
    }
}

/// Batches read from a CSV file on demand, never the whole file: a first pass checks every row (errors name
/// the line) and records where each batch starts; `batch(i)` then seeks there and parses `batchSize` rows.
/// Indexable, so `fit` can shuffle the batch order; memory use is independent of the file's size.
///
/// The same file as an in-memory ``ArraySource`` with the same batch size gives the same batches, so the
/// same seed gives the same model either way.
public final class StreamingCSVSource: BatchSource {
    /// The CSV file read.
    public let path: String
    /// The column names of the header row.
    public let header: [String]
    /// Which columns are features and which are labels.
    public let columns: ColumnSelection
    /// Rows per batch (32 by default); the last batch holds the remainder.
    public let batchSize: Int
    /// What a missing cell does (an error by default).
    public let missing: MissingValuePolicy
    /// The longest line read (from the header's width, as for ``CSVTable``).
    public let lineLimit: CSVLineLimit
    /// Data rows, and the byte offset (and line number) where each batch starts.
    public let rowCount: Int
    /// The distinct label values seen in the first pass (single label column only; up to 1000 of them), for
    /// inferring the output layer without loading the file.
    public let labelValues: Set<Float>
    /// Every label of the single label column (range, first label that is not a class index, with its line).
    public let labelSummary: LabelSummary
    private let starts: [(offset: UInt64, line: Int)]

    /// Opens `path` and makes the first pass over it (every row checked, batch starts recorded); throws, naming
    /// the file and line, at the first row that cannot be read.
    public init(path: String, labelColumn: String? = nil, labelColumns: [String]? = nil, batchSize: Int = 32,
                missing: MissingValuePolicy = .error, lineLimit: CSVLineLimit = .default) throws {
        precondition(batchSize > 0, "batch size must be positive")
        try CSVTable.check(missing)
        self.path = path
        self.batchSize = batchSize
        self.missing = missing
        self.lineLimit = lineLimit
        let reader = try CSVLineReader(path: path, maxLineBytes: lineLimit.bytes)
        var header: [String]?
        var rows = 0
        var starts: [(UInt64, Int)] = []
        var selection: ColumnSelection?
        var labels: Set<Float> = []
        var summary = LabelSummary()
        while try reader.nextLine({ bytes, lineNumber, offset in
            guard let names = header else {
                if !CSVTable.isBlank(bytes) {
                    let names = try CSVTable.parseHeader(bytes, path: path, line: lineNumber)
                    header = names
                    selection = try ColumnSelection(header: names, labelColumn: labelColumn, labelColumns: labelColumns, path: path)
                    reader.maxLineBytes = lineLimit.dataLineBytes(columns: names.count)
                }
                return
            }
            guard let row = try CSVTable.parseRow(bytes, columns: names, path: path, line: lineNumber, missing: missing) else { return }
            if let selection, selection.labels.count == 1 {
                let label = row[selection.labels[0]]
                if labels.count <= 1000 { labels.insert(label) }
                summary.add(label, line: lineNumber)
            }
            if rows % batchSize == 0 { starts.append((offset, lineNumber)) }
            rows += 1
        }) != nil {}
        guard let header else { throw MLPError.malformedFile(path: path, line: 0, reason: "the file is empty (a header row is needed)") }
        guard rows > 0 else { throw MLPError.malformedFile(path: path, line: 0, reason: "no data rows after the header") }
        self.header = header
        columns = selection!
        labelValues = labels
        labelSummary = summary
        rowCount = rows
        self.starts = starts
    }

    public var batchCount: Int? { starts.count }

    /// The first label (single label column) for which `predicate` holds, and its file line, reading the file
    /// again; nil when there is none.
    public func firstLabel(where predicate: (Float) -> Bool) throws -> LabelSummary.Located? {
        guard columns.labels.count == 1, let start = starts.first else { return nil }
        let reader = try CSVLineReader(path: path, from: start.offset, firstLine: start.line,
                                       maxLineBytes: lineLimit.dataLineBytes(columns: header.count))
        let column = columns.labels[0]
        while let found = try reader.nextLine({ bytes, lineNumber, _ -> LabelSummary.Located? in
            guard let row = try CSVTable.parseRow(bytes, columns: header, path: path, line: lineNumber, missing: missing),
                  predicate(row[column]) else { return nil }
            return LabelSummary.Located(value: row[column], line: lineNumber)
        }) {
            if let found { return found }
        }
        return nil
    }

    public func batch(_ index: Int) throws -> Batch {
        guard starts.indices.contains(index) else { throw MLPError.invalidArgument("batch \(index) is past the end (\(starts.count) batches)") }
        let reader = try CSVLineReader(path: path, from: starts[index].offset, firstLine: starts[index].line,
                                       maxLineBytes: lineLimit.dataLineBytes(columns: header.count))
        var features: [Float] = [], labels: [Float] = []
        features.reserveCapacity(batchSize * columns.features.count)
        labels.reserveCapacity(batchSize * columns.labels.count)
        var count = 0
        while count < batchSize, try reader.nextLine({ bytes, lineNumber, _ in
            guard let row = try CSVTable.parseRow(bytes, columns: header, path: path, line: lineNumber, missing: missing) else { return }
            for column in columns.features { features.append(row[column]) }
            for column in columns.labels { labels.append(row[column]) }
            count += 1
        }) != nil {}
        return Batch(x: Tensor(shape: [count, columns.features.count], scalars: features), y: columns.labels.isEmpty ? nil : Tensor(shape: [count, columns.labels.count], scalars: labels))
    }
}
