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
/// For data-parallel training give ``shares`` the job's size: the first pass then also records where each
/// share of each batch starts (memory: batches × shares positions), and a rank's share read
/// (``batch(_:part:of:)``) seeks to its first row and parses only its rows. A share read for another part count
/// starts at the batch and steps over the rows before the share without converting them (with
/// ``MissingValuePolicy/skipRow`` they are parsed, to know which rows are left out).
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
    /// The shares of each batch whose starts the first pass recorded (1 by default: whole batches only).
    public let shares: Int
    /// Where share `p` of batch `b` starts: entry `b × shares + p` (an empty share's entry is its batch's start).
    private let starts: [(offset: UInt64, line: Int)]

    /// Opens `path` and makes the first pass over it (every row checked, batch starts recorded, and the starts
    /// of `shares` contiguous shares of each batch); throws, naming the file and line, at the first row that
    /// cannot be read.
    public init(path: String, labelColumn: String? = nil, labelColumns: [String]? = nil, batchSize: Int = 32,
                missing: MissingValuePolicy = .error, lineLimit: CSVLineLimit = .default, shares: Int = 1) throws {
        precondition(batchSize > 0, "batch size must be positive")
        guard shares > 0 else { throw MLPError.invalidArgument("a streaming CSV source needs shares ≥ 1, got \(shares)") }
        try CSVTable.check(missing)
        self.path = path
        self.shares = shares
        self.batchSize = batchSize
        self.missing = missing
        self.lineLimit = lineLimit
        let reader = try CSVLineReader(path: path, maxLineBytes: lineLimit.bytes)
        var header: [String]?
        var rows = 0
        var starts: [(offset: UInt64, line: Int)] = []
        // The current batch's row positions, to pick its share starts once its size is known.
        var batchRows: [(offset: UInt64, line: Int)] = []
        func recordShares() {
            for part in 0..<shares {
                let first = Batch.shareRows(of: batchRows.count, part: part, of: shares).lowerBound
                starts.append(first < batchRows.count ? batchRows[first] : batchRows[0])
            }
            batchRows.removeAll(keepingCapacity: true)
        }
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
            batchRows.append((offset, lineNumber))
            rows += 1
            if batchRows.count == batchSize { recordShares() }
        }) != nil {}
        if !batchRows.isEmpty { recordShares() }
        guard let header else { throw MLPError.malformedFile(path: path, line: 0, reason: "the file is empty (a header row is needed)") }
        guard rows > 0 else { throw MLPError.malformedFile(path: path, line: 0, reason: "no data rows after the header") }
        self.header = header
        columns = selection!
        labelValues = labels
        labelSummary = summary
        rowCount = rows
        self.starts = starts
    }

    public var batchCount: Int? { starts.count / shares }

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
        try batch(index, part: 0, of: 1).batch
    }

    /// Share `part` of `parts` of batch `index`, parsing only its rows: it seeks to the share's first row when
    /// `parts` is ``shares``, else to the batch's and steps over the rows before the share.
    public func batch(_ index: Int, part: Int, of parts: Int) throws -> (batch: Batch, globalRows: Int) {
        try Batch.checkShare(part: part, of: parts)
        let count = starts.count / shares
        guard (0..<count).contains(index) else { throw MLPError.invalidArgument("batch \(index) is past the end (\(count) batches)") }
        let globalRows = index < count - 1 ? batchSize : rowCount - index * batchSize
        let share = Batch.shareRows(of: globalRows, part: part, of: parts)
        let seeded = parts == shares || share.lowerBound == 0
        let start = starts[index * shares + (parts == shares ? part : 0)]
        guard !share.isEmpty else {
            return (Batch(x: Tensor(shape: [0, columns.features.count], scalars: []),
                          y: columns.labels.isEmpty ? nil : Tensor(shape: [0, columns.labels.count], scalars: [])), globalRows)
        }
        let reader = try CSVLineReader(path: path, from: start.offset, firstLine: start.line,
                                       maxLineBytes: lineLimit.dataLineBytes(columns: header.count))
        var skip = seeded ? 0 : share.lowerBound
        var features: [Float] = [], labels: [Float] = []
        features.reserveCapacity(share.count * columns.features.count)
        labels.reserveCapacity(share.count * columns.labels.count)
        var parsed = 0
        while parsed < share.count, try reader.nextLine({ bytes, lineNumber, _ in
            if skip > 0 {
                // Rows before the share: only whether the line is a row is needed, not its values.
                let isRow = missing == .skipRow
                    ? try CSVTable.parseRow(bytes, columns: header, path: path, line: lineNumber, missing: missing) != nil
                    : !CSVTable.isBlank(bytes)
                if isRow { skip -= 1 }
                return
            }
            guard let row = try CSVTable.parseRow(bytes, columns: header, path: path, line: lineNumber, missing: missing) else { return }
            for column in columns.features { features.append(row[column]) }
            for column in columns.labels { labels.append(row[column]) }
            parsed += 1
        }) != nil {}
        return (Batch(x: Tensor(shape: [parsed, columns.features.count], scalars: features),
                      y: columns.labels.isEmpty ? nil : Tensor(shape: [parsed, columns.labels.count], scalars: labels)), globalRows)
    }
}
