import Foundation
import MLPCore

/// How long a CSV line may be before reading stops with an error.
///
/// A line is held whole while it is parsed, so an unbounded line (a binary file, a file with no newlines) would
/// take unbounded memory. Every line may take ``bytes``; a data line may take ``bytesPerColumn`` per header
/// column when that is more, so wide files need no setting.
public struct CSVLineLimit: Equatable, Sendable {
    /// The cap for every line, the header included.
    public var bytes: Int
    /// The allowance per header column for data lines (64 bytes: room for any decimal spelling of a float
    /// with padding).
    public var bytesPerColumn: Int

    /// Creates a limit: 1 MiB for every line and 64 bytes per header column by default.
    public init(bytes: Int = 1 << 20, bytesPerColumn: Int = 64) {
        precondition(bytes > 0 && bytesPerColumn >= 0, "a line limit must be positive")
        self.bytes = bytes
        self.bytesPerColumn = bytesPerColumn
    }

    /// 1 MiB a line, or 64 bytes a column when that is more.
    public static let `default` = CSVLineLimit()

    /// The cap for a data line under a header of `columns` names.
    func dataLineBytes(columns: Int) -> Int {
        let (wide, overflow) = columns.multipliedReportingOverflow(by: bytesPerColumn)
        return overflow ? Int.max : max(bytes, wide)
    }
}

/// Splits a CSV file (or bytes in memory) into lines in one linear pass, the same way whichever it reads.
///
/// - Lines end at `\n`, `\r\n` or a lone `\r`; the terminator is not part of the line.
/// - A UTF-8 byte-order mark at the start of the file is skipped.
/// - A NUL byte is an error naming the line (`not a text CSV file`), found as soon as it is read.
/// - A line longer than ``maxLineBytes`` is an error naming the line, found after reading at most that many
///   bytes of it, so memory stays within the cap plus one read chunk and time stays linear in the file's size.
///
/// The bytes handed to ``nextLine(_:)`` are followed in memory by a byte that ends any number (the line's
/// terminator, or a 0 after the last byte), so C number parsers never read past them.
final class CSVLineReader {
    let path: String
    /// The cap for the next line; callers raise it once the header's width is known.
    var maxLineBytes: Int

    private let descriptor: Int32?
    private let chunkBytes: Int
    /// `storage[0..<filled]` holds bytes read and not yet handed out past `lineStart`; `storage[filled]` is 0.
    private var storage: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var filled = 0
    private var lineStart = 0
    /// The file offset of `storage[0]`.
    private var storageOffset: UInt64
    private var endOfInput: Bool
    /// A line ended in `\r`: a `\n` right after it belongs to that line's terminator.
    private var pendingCarriageReturn = false
    private var atStartOfFile: Bool
    private var nextLineNumber: Int

    /// Reads `path` from byte `offset`, where line `firstLine` starts.
    init(path: String, from offset: UInt64 = 0, firstLine: Int = 1, maxLineBytes: Int = CSVLineLimit.default.bytes,
         chunkBytes: Int = 1 << 20) throws {
        self.path = path
        self.maxLineBytes = maxLineBytes
        self.chunkBytes = chunkBytes
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw CSVLineReader.openError(path: path, errno: errno) }
        var status = stat()
        if fstat(descriptor, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR {
            Foundation.close(descriptor)
            throw MLPError.fileNotReadable(path: path, reason: "is a directory")
        }
        if offset > 0 && lseek(descriptor, off_t(offset), SEEK_SET) < 0 {
            let reason = String(cString: strerror(errno))
            Foundation.close(descriptor)
            throw MLPError.fileNotReadable(path: path, reason: reason)
        }
        self.descriptor = descriptor
        capacity = chunkBytes + 1
        storage = .allocate(capacity: capacity)
        storage[0] = 0
        storageOffset = offset
        endOfInput = false
        atStartOfFile = offset == 0
        nextLineNumber = firstLine
    }

    /// Reads `bytes` held in memory; `path` names them in errors.
    init(bytes: some Collection<UInt8>, path: String, maxLineBytes: Int = CSVLineLimit.default.bytes) {
        self.path = path
        self.maxLineBytes = maxLineBytes
        descriptor = nil
        chunkBytes = 0
        capacity = bytes.count + 1
        storage = .allocate(capacity: capacity)
        _ = UnsafeMutableBufferPointer(start: storage, count: bytes.count).initialize(from: bytes)
        storage[bytes.count] = 0
        filled = bytes.count
        storageOffset = 0
        endOfInput = true
        atStartOfFile = true
        nextLineNumber = 1
    }

    deinit {
        storage.deallocate()
        if let descriptor { Foundation.close(descriptor) }
    }

    static func openError(path: String, errno code: Int32) -> MLPError {
        .fileNotReadable(path: path, reason: code == ENOENT ? "no such file" : String(cString: strerror(code)))
    }

    /// Calls `body` with the next line's bytes (no terminator), its 1-based number and the file offset of its
    /// first byte, and returns what `body` returns; nil at the end of the input.
    func nextLine<Result>(_ body: (UnsafeBufferPointer<UInt8>, _ line: Int, _ offset: UInt64) throws -> Result) throws -> Result? {
        // Bytes of the current line already looked at (relative, so it survives `readMore` moving the line).
        var scanned = 0
        while true {
            if pendingCarriageReturn && (lineStart < filled || endOfInput) {
                pendingCarriageReturn = false
                if lineStart < filled && storage[lineStart] == UInt8(ascii: "\n") { lineStart += 1 }
            }
            if atStartOfFile && (filled - lineStart >= 3 || endOfInput) {
                atStartOfFile = false
                if filled - lineStart >= 3 && storage[lineStart] == 0xEF && storage[lineStart + 1] == 0xBB && storage[lineStart + 2] == 0xBF {
                    lineStart += 3
                }
            }
            if !pendingCarriageReturn && !atStartOfFile {
                // Look for the line's end, but never further than the cap allows.
                let limit = filled - lineStart > maxLineBytes ? lineStart + maxLineBytes + 1 : filled
                var index = lineStart + scanned
                while index < limit {
                    let byte = storage[index]
                    if byte <= 13 {
                        if byte == 10 || byte == 13 { break }
                        if byte == 0 {
                            throw MLPError.malformedFile(path: path, line: nextLineNumber,
                                                         reason: "not a text CSV file: NUL byte at byte \(storageOffset + UInt64(index))")
                        }
                    }
                    index += 1
                }
                if index - lineStart > maxLineBytes {
                    throw MLPError.malformedFile(path: path, line: nextLineNumber, reason: "line longer than \(maxLineBytes) bytes")
                }
                if index < filled {
                    pendingCarriageReturn = storage[index] == 13
                    return try emit(end: index, next: index + 1, body)
                }
                scanned = index - lineStart
                if endOfInput { return lineStart < filled ? try emit(end: filled, next: filled, body) : nil }
            }
            if !(try readMore()) { endOfInput = true }
        }
    }

    private func emit<Result>(end: Int, next: Int, _ body: (UnsafeBufferPointer<UInt8>, Int, UInt64) throws -> Result) throws -> Result {
        let line = nextLineNumber
        let offset = storageOffset + UInt64(lineStart)
        let bytes = UnsafeBufferPointer(start: storage + lineStart, count: end - lineStart)
        nextLineNumber += 1
        lineStart = next
        return try body(bytes, line, offset)
    }

    /// Moves the unfinished line to the front, grows the buffer if the line fills it, and reads one chunk.
    /// False at the end of the file.
    private func readMore() throws -> Bool {
        guard let descriptor else { return false }
        if lineStart > 0 {
            let kept = filled - lineStart
            storage.update(from: storage + lineStart, count: kept)
            storageOffset += UInt64(lineStart)
            filled = kept
            lineStart = 0
        }
        if capacity - 1 - filled < chunkBytes {
            let grown = max(capacity * 2, filled + chunkBytes + 1)
            let larger = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
            larger.update(from: storage, count: filled)
            storage.deallocate()
            storage = larger
            capacity = grown
        }
        while true {
            let count = read(descriptor, storage + filled, chunkBytes)
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw MLPError.fileNotReadable(path: path, reason: String(cString: strerror(errno))) }
            filled += count
            storage[filled] = 0
            return count > 0
        }
    }
}
