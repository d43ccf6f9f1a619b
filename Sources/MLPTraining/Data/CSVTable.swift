import Foundation
import MLPCore

/// What to do with a missing cell (empty, `NA`, `NaN`, `null`, `?`).
public enum MissingValuePolicy: Equatable, Sendable {
    /// A clear error naming the file, line and column (the default).
    case error
    /// Leave the row out.
    case skipRow
    /// Use this value (it must be finite).
    case fill(Float)
}

/// A numeric CSV file: a header row, then one sample per line, every field a number.
///
/// Errors name the file and the 1-based line: a ragged row, a field that is not a number, an empty file, two
/// columns with the same name, a NUL byte (not a text file), a line longer than the ``CSVLineLimit``.
/// Lines end in `\n`, `\r\n` or `\r`; a UTF-8 byte-order mark is skipped; blank lines are skipped; fields are
/// trimmed; `"`-quoted header names are unquoted. Numbers are plain decimals (see ``CSVNumber``): `1e-3`,
/// `-0.5`, `+2` and `.5` are read; `0x1F`, `inf` and `nan` are not (`nan` and `NA` are missing values).
/// ``StreamingCSVSource`` reads a file the same way, line for line.
public struct CSVTable: Sendable {
    /// The file read, as given.
    public let path: String
    /// The column names of the header row, trimmed and unquoted.
    public let header: [String]
    /// One array per data row, each `header.count` long.
    public let rows: [[Float]]
    /// The file line of each row (for error messages about a row's content).
    public let lineNumbers: [Int]

    /// Reads and parses `path`, one chunk at a time (memory holds the rows, not the file's text).
    public init(contentsOf path: String, missing: MissingValuePolicy = .error, lineLimit: CSVLineLimit = .default) throws {
        try CSVTable.check(missing)
        try self.init(reader: CSVLineReader(path: path, maxLineBytes: lineLimit.bytes), missing: missing, lineLimit: lineLimit)
    }

    /// Parses CSV `text`; `path` is used in error messages.
    public init(text: String, path: String = "<csv>", missing: MissingValuePolicy = .error, lineLimit: CSVLineLimit = .default) throws {
        try CSVTable.check(missing)
        try self.init(reader: CSVLineReader(bytes: text.utf8, path: path, maxLineBytes: lineLimit.bytes), missing: missing,
                      lineLimit: lineLimit)
    }

    private init(reader: CSVLineReader, missing: MissingValuePolicy, lineLimit: CSVLineLimit) throws {
        let path = reader.path
        self.path = path
        var header: [String]?
        var rows: [[Float]] = []
        var lineNumbers: [Int] = []
        while try reader.nextLine({ bytes, number, _ in
            guard let names = header else {
                if !CSVTable.isBlank(bytes) {
                    let names = try CSVTable.parseHeader(bytes, path: path, line: number)
                    header = names
                    reader.maxLineBytes = lineLimit.dataLineBytes(columns: names.count)
                }
                return
            }
            if let row = try CSVTable.parseRow(bytes, columns: names, path: path, line: number, missing: missing) {
                rows.append(row)
                lineNumbers.append(number)
            }
        }) != nil {}
        guard let header else { throw MLPError.malformedFile(path: path, line: 0, reason: "the file is empty (a header row is needed)") }
        guard !rows.isEmpty else { throw MLPError.malformedFile(path: path, line: 0, reason: "no data rows after the header") }
        self.header = header
        self.rows = rows
        self.lineNumbers = lineNumbers
    }

    /// A fill value must be a number a model can read.
    static func check(_ missing: MissingValuePolicy) throws {
        if case .fill(let value) = missing, !value.isFinite {
            throw MLPError.invalidArgument("the fill value for missing cells must be a finite number, got \(value)")
        }
    }

    static func isSpace(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }

    static func isBlank(_ line: UnsafeBufferPointer<UInt8>) -> Bool { line.allSatisfy(isSpace) }

    /// Column names from the header line (quotes removed). A header of numbers, text that is not UTF-8 and a
    /// name used twice are errors.
    static func parseHeader(_ line: UnsafeBufferPointer<UInt8>, path: String, line number: Int) throws -> [String] {
        guard let text = String(validating: line, as: UTF8.self) else {
            throw MLPError.malformedFile(path: path, line: number, reason: "not UTF-8 text")
        }
        let names = text.split(separator: ",", omittingEmptySubsequences: false).map { field -> String in
            let name = field.trimmingCharacters(in: .whitespaces)
            return name.count >= 2 && name.hasPrefix("\"") && name.hasSuffix("\"") ? String(name.dropFirst().dropLast()) : name
        }
        if names.allSatisfy({ CSVNumber.value($0) != nil }) {
            throw MLPError.malformedFile(path: path, line: number,
                                         reason: "the first line must be a header row of column names, got numbers (\(text.prefix(40)))")
        }
        var seen: [String: Int] = [:]
        for (column, name) in names.enumerated() {
            if let first = seen[name] {
                throw MLPError.malformedFile(path: path, line: number,
                                             reason: "columns \(first + 1) and \(column + 1) (counting from 1) are both named '\(name)'; column names must be unique")
            }
            seen[name] = column
        }
        return names
    }

    static let missingMarkers: Set<String> = ["", "na", "n/a", "nan", "null", "none", "?"]

    /// One data line's values; nil for a blank line or a row skipped by the missing-value policy. A ragged
    /// row, a non-numeric cell or a non-finite number is an error naming the file and line.
    static func parseRow(_ line: UnsafeBufferPointer<UInt8>, columns names: [String], path: String, line number: Int,
                         missing: MissingValuePolicy) throws -> [Float]? {
        if isBlank(line) { return nil }
        if let fast = fastRow(line, columns: names.count) { return fast }
        return try checkedRow(line, columns: names, path: path, line: number, missing: missing)
    }

    /// The common case, fast: every field a finite decimal with no spaces, parsed straight from the bytes. Any
    /// other line (missing cells, errors, odd spacing) returns nil and goes through ``checkedRow``.
    @inline(__always)
    static func fastRow(_ line: UnsafeBufferPointer<UInt8>, columns: Int) -> [Float]? {
        guard let base = line.baseAddress else { return nil }
        let count = line.count
        var values = [Float]()
        values.reserveCapacity(columns)
        var start = 0, index = 0
        while true {
            while index < count && base[index] != UInt8(ascii: ",") { index += 1 }
            guard let value = CSVNumber.value(base + start, count: index - start), value.isFinite else { return nil }
            values.append(value)
            if index == count { break }
            index += 1
            start = index
        }
        return values.count == columns ? values : nil
    }

    /// The careful path: trims fields, applies the missing-value policy, and names the problem exactly.
    static func checkedRow(_ line: UnsafeBufferPointer<UInt8>, columns names: [String], path: String, line number: Int,
                           missing: MissingValuePolicy) throws -> [Float]? {
        let fields = line.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
        guard fields.count == names.count else {
            throw MLPError.malformedFile(path: path, line: number, reason: "\(fields.count) fields, but the header has \(names.count)")
        }
        var row = [Float]()
        row.reserveCapacity(fields.count)
        for (column, raw) in fields.enumerated() {
            guard let text = String(validating: raw, as: UTF8.self) else {
                throw MLPError.malformedFile(path: path, line: number, reason: "column '\(names[column])': not UTF-8 text")
            }
            let field = text.trimmingCharacters(in: .whitespaces)
            if let value = CSVNumber.value(field), value.isFinite {
                row.append(value)
                continue
            }
            if missingMarkers.contains(field.lowercased()) {
                switch missing {
                case .error:
                    throw MLPError.malformedFile(path: path, line: number,
                                                 reason: "column '\(names[column])': missing value '\(field)' (choose a missing-value policy to skip or fill such rows)")
                case .skipRow: return nil
                case .fill(let value):
                    row.append(value)
                    continue
                }
            }
            throw MLPError.malformedFile(path: path, line: number, reason: "column '\(names[column])': " + CSVNumber.problem(with: field))
        }
        return row
    }

    /// The index of a column given by name or 0-based index.
    public func columnIndex(_ spec: String) throws -> Int {
        if let index = header.firstIndex(of: spec) { return index }
        if let index = Int(spec), header.indices.contains(index) { return index }
        throw MLPError.invalidArgument("\(path): no column '\(spec)'; columns are \(header.joined(separator: ", ")) (or a 0-based index below \(header.count))")
    }

    /// The given columns of every row, as a (rows, columns.count) tensor.
    public func tensor(columns: [Int]) -> Tensor {
        Tensor(shape: [rows.count, columns.count], scalars: rows.flatMap { row in columns.map { row[$0] } })
    }
}
