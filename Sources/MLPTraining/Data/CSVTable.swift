import Foundation
import MLPCore

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
    public init(contentsOf path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw MLPError.fileNotReadable(path: path, reason: "no such file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MLPError.fileNotReadable(path: path, reason: "cannot be opened (is it a directory, or unreadable?)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw MLPError.malformedFile(path: path, line: 0, reason: "not UTF-8 text")
        }
        try self.init(text: text, path: path)
    }

    /// Parses CSV `text`; `path` is used in error messages.
    public init(text: String, path: String = "<csv>") throws {
        self.path = path
        var header: [String]?
        var rows: [[Float]] = []
        var lineNumbers: [Int] = []
        var lineNumber = 0
        // `\r\n` is one Character in Swift, and a newline like `\n`.
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            lineNumber += 1
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard let names = header else {
                header = fields.map { $0.count >= 2 && $0.hasPrefix("\"") && $0.hasSuffix("\"") ? String($0.dropFirst().dropLast()) : $0 }
                if let parsed = header, parsed.allSatisfy({ Float($0) != nil }) {
                    throw MLPError.malformedFile(path: path, line: lineNumber,
                                                 reason: "the first line must be a header row of column names, got numbers (\(line.prefix(40)))")
                }
                continue
            }
            guard fields.count == names.count else {
                throw MLPError.malformedFile(path: path, line: lineNumber,
                                             reason: "\(fields.count) fields, but the header has \(names.count)")
            }
            var row = [Float]()
            row.reserveCapacity(fields.count)
            for (column, field) in fields.enumerated() {
                guard let value = Float(field) else {
                    throw MLPError.malformedFile(path: path, line: lineNumber,
                                                 reason: "column '\(names[column])': '\(field)' is not a number")
                }
                row.append(value)
            }
            rows.append(row)
            lineNumbers.append(lineNumber)
        }
        guard let header else { throw MLPError.malformedFile(path: path, line: 0, reason: "the file is empty (a header row is needed)") }
        guard !rows.isEmpty else { throw MLPError.malformedFile(path: path, line: 0, reason: "no data rows after the header") }
        self.header = header
        self.rows = rows
        self.lineNumbers = lineNumbers
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
