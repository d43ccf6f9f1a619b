import Foundation
import MLPCore

/// Which CSV columns are features and which are targets: the label column by name or 0-based index, by
/// default the column named `label`, else the last; or several one-hot label columns.
public struct ColumnSelection: Equatable, Sendable {
    public let features: [Int]
    public let labels: [Int]
    /// Whether the labels are one-hot columns.
    public let oneHot: Bool

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

/// Reads a file line by line in 1 MiB chunks, reporting each line's byte offset: memory stays flat whatever
/// the file's size.
struct LineReader {
    let handle: FileHandle
    private var buffer = Data()
    private var bufferStart: UInt64
    private var finished = false

    init(path: String, from offset: UInt64 = 0) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw MLPError.fileNotReadable(path: path, reason: FileManager.default.fileExists(atPath: path) ? "cannot be opened" : "no such file")
        }
        self.handle = handle
        if offset > 0 { handle.seek(toFileOffset: offset) }
        bufferStart = offset
    }

    /// The next line (without its newline) and the offset of its first byte; nil at the end of the file.
    mutating func next() -> (line: Substring, offset: UInt64)? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let bytes = buffer[buffer.startIndex..<newline]
                let offset = bufferStart
                bufferStart += UInt64(newline - buffer.startIndex + 1)
                buffer = buffer[(newline + 1)...]
                return (Substring(String(decoding: bytes, as: UTF8.self)), offset)
            }
            if finished {
                guard !buffer.isEmpty else { return nil }
                let offset = bufferStart
                let line = Substring(String(decoding: buffer, as: UTF8.self))
                bufferStart += UInt64(buffer.count)
                buffer = Data()
                return (line, offset)
            }
            let chunk = handle.readData(ofLength: 1 << 20)
            if chunk.isEmpty { finished = true } else { buffer = buffer.isEmpty ? chunk : buffer + chunk }
        }
    }

    func close() { try? handle.close() }
}

/// Batches read from a CSV file on demand, never the whole file: a first pass checks every row (errors name
/// the line) and records where each batch starts; `batch(i)` then seeks there and parses `batchSize` rows.
/// Indexable, so `fit` can shuffle the batch order; memory use is independent of the file's size.
///
/// The same file as an in-memory ``ArraySource`` with the same batch size gives the same batches, so the
/// same seed gives the same model either way.
public final class StreamingCSVSource: BatchSource {
    public let path: String
    public let header: [String]
    public let columns: ColumnSelection
    public let batchSize: Int
    public let missing: MissingValuePolicy
    /// Data rows, and the byte offset (and line number) where each batch starts.
    public private(set) var rowCount = 0
    /// The distinct label values seen in the first pass (single label column only; up to 1000 of them), for
    /// inferring the output layer without loading the file.
    public private(set) var labelValues: Set<Float> = []
    private var starts: [(offset: UInt64, line: Int)] = []

    public init(path: String, labelColumn: String? = nil, labelColumns: [String]? = nil, batchSize: Int = 32,
                missing: MissingValuePolicy = .error) throws {
        precondition(batchSize > 0, "batch size must be positive")
        self.path = path
        self.batchSize = batchSize
        self.missing = missing
        var reader = try LineReader(path: path)
        defer { reader.close() }
        var header: [String]?
        var lineNumber = 0
        var rows = 0
        var starts: [(UInt64, Int)] = []
        var selection: ColumnSelection?
        var labels: Set<Float> = []
        while let (line, offset) = reader.next() {
            lineNumber += 1
            guard let names = header else {
                if !CSVTable.isBlank(line) {
                    header = try CSVTable.parseHeader(line, path: path, line: lineNumber)
                    selection = try ColumnSelection(header: header!, labelColumn: labelColumn, labelColumns: labelColumns, path: path)
                }
                continue
            }
            guard let row = try CSVTable.parseRow(line, columns: names, path: path, line: lineNumber, missing: missing) else { continue }
            if let selection, selection.labels.count == 1, labels.count <= 1000 { labels.insert(row[selection.labels[0]]) }
            if rows % batchSize == 0 { starts.append((offset, lineNumber)) }
            rows += 1
        }
        guard let header else { throw MLPError.malformedFile(path: path, line: 0, reason: "the file is empty (a header row is needed)") }
        guard rows > 0 else { throw MLPError.malformedFile(path: path, line: 0, reason: "no data rows after the header") }
        self.header = header
        columns = selection!
        labelValues = labels
        rowCount = rows
        self.starts = starts
    }

    public var batchCount: Int? { starts.count }

    public func batch(_ index: Int) throws -> Batch {
        guard starts.indices.contains(index) else { throw MLPError.invalidArgument("batch \(index) is past the end (\(starts.count) batches)") }
        var reader = try LineReader(path: path, from: starts[index].offset)
        defer { reader.close() }
        var lineNumber = starts[index].line - 1
        var features: [Float] = [], labels: [Float] = []
        var count = 0
        while count < batchSize, let (line, _) = reader.next() {
            lineNumber += 1
            guard let row = try CSVTable.parseRow(line, columns: header, path: path, line: lineNumber, missing: missing) else { continue }
            features += columns.features.map { row[$0] }
            labels += columns.labels.map { row[$0] }
            count += 1
        }
        return Batch(x: Tensor(shape: [count, columns.features.count], scalars: features), y: columns.labels.isEmpty ? nil : Tensor(shape: [count, columns.labels.count], scalars: labels))
    }
}
