import Foundation
import MLPCore

/// What to do with a missing cell (empty, `NA`, `NaN`, `null`, `?`).
public enum MissingValuePolicy: Equatable, Sendable {
    /// A clear error naming the file, line and column (the default).
    case error
    /// Leave the row out.
    case skipRow
    /// Use this value.
    case fill(Float)
}

/// A numeric CSV file: a header row, then one sample per line, every field a number.
///
/// Errors name the file and the 1-based line: a ragged row, a field that is not a number, an empty file.
/// Blank lines are skipped; fields are trimmed; `"`-quoted header names are unquoted.
public struct CSVTable: Sendable {
    public let path: String
    public let header: [String]
    /// One array per data row, each `header.count` long.
    public let rows: [[Float]]
    /// The file line of each row (for error messages about a row's content).
    public let lineNumbers: [Int]

    /// Reads and parses `path`.
    public init(contentsOf path: String, missing: MissingValuePolicy = .error) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw MLPError.fileNotReadable(path: path, reason: "no such file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MLPError.fileNotReadable(path: path, reason: "cannot be opened (is it a directory, or unreadable?)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw MLPError.malformedFile(path: path, line: 0, reason: "not UTF-8 text")
        }
        try self.init(text: text, path: path, missing: missing)
    }

    /// Parses CSV `text`; `path` is used in error messages.
    public init(text: String, path: String = "<csv>", missing: MissingValuePolicy = .error) throws {
        self.path = path
        var header: [String]?
        var rows: [[Float]] = []
        var lineNumbers: [Int] = []
        var lineNumber = 0
        // `\r\n` is one Character in Swift, and a newline like `\n`.
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            lineNumber += 1
            guard let names = header else {
                if !CSVTable.isBlank(line) { header = try CSVTable.parseHeader(line, path: path, line: lineNumber) }
                continue
            }
            if let row = try CSVTable.parseRow(line, columns: names, path: path, line: lineNumber, missing: missing) {
                rows.append(row)
                lineNumbers.append(lineNumber)
            }
        }
        guard let header else { throw MLPError.malformedFile(path: path, line: 0, reason: "the file is empty (a header row is needed)") }
        guard !rows.isEmpty else { throw MLPError.malformedFile(path: path, line: 0, reason: "no data rows after the header") }
        self.header = header
        self.rows = rows
        self.lineNumbers = lineNumbers
    }

    static func isBlank<S: StringProtocol>(_ line: S) -> Bool { line.allSatisfy { $0 == " " || $0 == "\t" || $0 == "\r" } }

    /// Column names from the header line (quotes removed); a header of numbers is an error.
    static func parseHeader<S: StringProtocol>(_ line: S, path: String, line number: Int) throws -> [String] {
        let names = line.split(separator: ",", omittingEmptySubsequences: false).map { field -> String in
            let name = field.trimmingCharacters(in: .whitespaces)
            return name.count >= 2 && name.hasPrefix("\"") && name.hasSuffix("\"") ? String(name.dropFirst().dropLast()) : name
        }
        if names.allSatisfy({ Float($0) != nil }) {
            throw MLPError.malformedFile(path: path, line: number,
                                         reason: "the first line must be a header row of column names, got numbers (\(line.prefix(40)))")
        }
        return names
    }

    static let missingMarkers: Set<String> = ["", "na", "n/a", "nan", "null", "none", "?"]

    /// One data line's values; nil for a blank line or a row skipped by the missing-value policy. A ragged
    /// row, a non-numeric cell or a non-finite number is an error naming the file and line.
    static func parseRow<S: StringProtocol>(_ line: S, columns names: [String], path: String, line number: Int,
                                            missing: MissingValuePolicy) throws -> [Float]? {
        if isBlank(line) { return nil }
        if let fast = fastRow(line, columns: names.count) { return fast }
        return try checkedRow(line, columns: names, path: path, line: number, missing: missing)
    }

    /// The common case, fast: every field a finite number, parsed with `strtof` straight from the bytes. Any
    /// other line (missing cells, errors, odd spacing) returns nil and goes through ``checkedRow``.
    static func fastRow<S: StringProtocol>(_ line: S, columns: Int) -> [Float]? {
        var bytes = Array(line.utf8)
        bytes.append(0)
        var values = [Float]()
        values.reserveCapacity(columns)
        let ok = bytes.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let base = buffer.baseAddress else { return false }
            let end = buffer.count - 1
            var start = 0
            for index in 0...end where index == end || buffer[index] == UInt8(ascii: ",") {
                buffer[index] = 0
                guard index > start else { return false }
                let field = UnsafeMutableRawPointer(base + start).assumingMemoryBound(to: CChar.self)
                var stop: UnsafeMutablePointer<CChar>?
                let value = strtof(field, &stop)
                guard let stop, stop == UnsafeMutableRawPointer(base + index).assumingMemoryBound(to: CChar.self), value.isFinite,
                      buffer[start] != UInt8(ascii: " "), buffer[start] != UInt8(ascii: "\t") else { return false }
                // strtof also reads "inf", "nan" and hexadecimal; only plain decimals take the fast path.
                let first = buffer[start]
                guard first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || first == UInt8(ascii: ".")
                        || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) else { return false }
                values.append(value)
                start = index + 1
            }
            return true
        }
        return ok && values.count == columns ? values : nil
    }

    /// The careful path: trims fields, applies the missing-value policy, and names the problem exactly.
    static func checkedRow<S: StringProtocol>(_ line: S, columns names: [String], path: String, line number: Int,
                                              missing: MissingValuePolicy) throws -> [Float]? {
        let fields = line.split(separator: ",", omittingEmptySubsequences: false)
        guard fields.count == names.count else {
            throw MLPError.malformedFile(path: path, line: number, reason: "\(fields.count) fields, but the header has \(names.count)")
        }
        var row = [Float]()
        row.reserveCapacity(fields.count)
        for (column, raw) in fields.enumerated() {
            let field = raw.trimmingCharacters(in: .whitespaces)
            if let value = Float(field), value.isFinite {
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
            if let value = Float(field), !value.isFinite {
                throw MLPError.malformedFile(path: path, line: number, reason: "column '\(names[column])': '\(field)' is not a finite number")
            }
            throw MLPError.malformedFile(path: path, line: number, reason: "column '\(names[column])': '\(field)' is not a number")
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
