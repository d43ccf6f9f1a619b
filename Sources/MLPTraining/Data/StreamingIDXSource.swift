import Foundation
import MLPCore

/// Batches read from an uncompressed IDX images file and labels file (MNIST's format, see ``IDX``) on demand,
/// never the whole files: the headers are checked as ``IDX/read(_:)`` checks them, then each batch, or each
/// share of a batch (``batch(_:part:of:)``), is read at its offset — so a data-parallel rank reads only its rows.
///
/// The batches are those of ``IDX/dataset(images:labels:)`` in an ``ArraySource`` with the same batch size:
/// pixels divided by 255, labels as class indices in one column. A gzip file (`.gz`) cannot be read at an
/// offset; it is refused with an error saying so (load it in memory with ``IDX/dataset(images:labels:)``).
public final class StreamingIDXSource: BatchSource {
    /// The images file.
    public let images: String
    /// The labels file.
    public let labels: String
    /// Rows per batch (32 by default); the last batch holds the remainder.
    public let batchSize: Int
    /// The images file's dimensions (samples first).
    public let imageShape: [Int]
    /// The number of samples.
    public let rowCount: Int
    /// Pixels per image (the features of a row).
    public let featureCount: Int
    /// Every label, gathered in one pass over the labels file (for inferring the output layer).
    public let labelSummary: LabelSummary
    private let imageFile: ReadOnlyFile
    private let labelFile: ReadOnlyFile
    private let imageStart: Int
    private let labelStart: Int

    /// Opens both files and checks their headers (and sizes) as ``IDX/dataset(images:labels:)`` does, then reads
    /// the labels once for ``labelSummary``; errors name the file and the byte offset.
    public init(images: String, labels: String, batchSize: Int = 32) throws {
        precondition(batchSize > 0, "batch size must be positive")
        self.images = images
        self.labels = labels
        self.batchSize = batchSize
        imageFile = try ReadOnlyFile(seekable: images)
        labelFile = try ReadOnlyFile(seekable: labels)
        let imageHeader = try imageFile.idxHeader()
        let labelHeader = try labelFile.idxHeader()
        guard imageHeader.shape.count >= 2 else {
            throw MLPError.malformedFile(path: images, line: 0, reason: "an images file needs rank 2 or more, got \(imageHeader.shape)")
        }
        guard labelHeader.shape.count == 1 else {
            throw MLPError.malformedFile(path: labels, line: 0, reason: "a labels file has rank 1, got \(labelHeader.shape)")
        }
        guard imageHeader.shape[0] == labelHeader.shape[0] else {
            throw MLPError.shapeMismatch("\(images) has \(imageHeader.shape[0]) images but \(labels) has \(labelHeader.shape[0]) labels")
        }
        imageShape = imageHeader.shape
        rowCount = imageHeader.shape[0]
        featureCount = imageHeader.shape.dropFirst().reduce(1, *)
        imageStart = imageHeader.start
        labelStart = labelHeader.start
        var summary = LabelSummary()
        var offset = 0
        while offset < rowCount {
            let chunk = try labelFile.read(count: min(1 << 16, rowCount - offset), at: labelStart + offset)
            for label in chunk { summary.add(Float(label), line: 0) }
            offset += chunk.count
        }
        labelSummary = summary
    }

    /// The number of batches.
    public var batchCount: Int? { (rowCount + batchSize - 1) / batchSize }

    /// Batch `index`, read from both files.
    public func batch(_ index: Int) throws -> Batch {
        try batch(index, part: 0, of: 1).batch
    }

    /// Share `part` of `parts` of batch `index`: only its rows are read, at their offsets.
    public func batch(_ index: Int, part: Int, of parts: Int) throws -> (batch: Batch, globalRows: Int) {
        try Batch.checkShare(part: part, of: parts)
        let start = index * batchSize, end = min(rowCount, start + batchSize)
        guard index >= 0, start < end else { throw MLPError.invalidArgument("batch \(index) is past the end (\(batchCount ?? 0) batches)") }
        let share = Batch.shareRows(of: end - start, part: part, of: parts)
        let first = start + share.lowerBound
        let pixels = try imageFile.read(count: share.count * featureCount, at: imageStart + first * featureCount)
        let classes = try labelFile.read(count: share.count, at: labelStart + first)
        return (Batch(x: Tensor(shape: [share.count, featureCount], scalars: pixels.map { Float($0) / 255 }),
                      y: Tensor(shape: [share.count, 1], scalars: classes.map(Float.init))), end - start)
    }
}

/// A file opened for reading at offsets (`pread`, safe from several threads at once); closed when released.
final class ReadOnlyFile: Sendable {
    let path: String
    let descriptor: Int32
    /// The file's size in bytes when opened.
    let size: Int

    /// Opens `path`; a `.gz` file is refused (it cannot be read at an offset).
    init(seekable path: String) throws {
        guard !path.hasSuffix(".gz") else {
            throw MLPError.invalidArgument("\(path) is gzip-compressed, and a compressed file cannot be read at an offset: gunzip it to stream it, or load it in memory")
        }
        self.path = path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw MLPError.fileNotReadable(path: path, reason: errno == ENOENT ? "no such file" : String(cString: strerror(errno)))
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(descriptor)
            throw MLPError.fileNotReadable(path: path, reason: "not a regular file")
        }
        self.descriptor = descriptor
        size = Int(info.st_size)
    }

    deinit { close(descriptor) }

    /// `count` bytes at `offset`; an error naming the file when they are not all there (the file shrank).
    func read(count: Int, at offset: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = bytes.withUnsafeMutableBytes { buffer in
                pread(descriptor, buffer.baseAddress! + done, count - done, off_t(offset + done))
            }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else {
                throw MLPError.fileNotReadable(path: path, reason: got < 0 ? "reading byte \(offset + done): \(String(cString: strerror(errno)))"
                                                : "reading \(count) bytes at byte \(offset): the file ends at byte \(offset + done) (it changed after it was opened)")
            }
            done += got
        }
        return bytes
    }

    /// The IDX header, checked as ``IDX/read(_:)`` checks it (the same errors), and that the file holds exactly
    /// the values it promises.
    func idxHeader() throws -> (shape: [Int], start: Int) {
        func bad(_ offset: Int, _ reason: String) -> MLPError { .malformedFile(path: path, line: 0, reason: "byte \(offset): \(reason)") }
        let prefix = try read(count: min(size, 4 + 4 * 4), at: 0)
        return try prefix.withUnsafeBytes { bytes in
            guard let (shape, start, count) = try IDX.header(bytes, path: path) else {
                throw size < 4 ? bad(0, "too short for an IDX header (\(size) bytes)") : bad(4, "the header ends early")
            }
            guard size - start == count else {
                throw bad(start, "the header promises \(count) values (\(shape.map(String.init).joined(separator: "×"))), the file holds \(size - start)")
            }
            return (shape, start)
        }
    }
}
