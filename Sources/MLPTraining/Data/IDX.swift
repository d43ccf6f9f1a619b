import CZlibShim
import Foundation
import MLPCore

/// MNIST's IDX files (`train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`, `t10k-…`): a big-endian
/// header — magic `0x0000 08 NN` (unsigned bytes, NN dimensions) and NN sizes — then the bytes.
public enum IDX {
    /// The raw contents of a file, gunzipped when it ends in `.gz`; the header is checked against the size
    /// before the values are decompressed or converted.
    static func contents(of path: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MLPError.fileNotReadable(path: path, reason: FileManager.default.fileExists(atPath: path) ? "cannot be opened" : "no such file")
        }
        return path.hasSuffix(".gz") ? try gunzip(data, path: path) : data
    }

    /// Deflate expands at most about 1032:1, so a gzip file of n bytes holds at most this many.
    static func largestInflatedSize(compressed: Int) -> Int {
        let (product, overflow) = compressed.multipliedReportingOverflow(by: 1032)
        return overflow ? Int.max : product + 1024
    }

    /// A header's dimensions, where the values start and how many there are, in checked arithmetic; nil when
    /// `bytes` are too few to hold the whole header yet. Errors name the byte offset.
    static func header(_ bytes: UnsafeRawBufferPointer, path: String) throws -> (shape: [Int], start: Int, count: Int)? {
        func bad(_ offset: Int, _ reason: String) -> MLPError { .malformedFile(path: path, line: 0, reason: "byte \(offset): \(reason)") }
        guard bytes.count >= 4 else { return nil }
        guard bytes[0] == 0, bytes[1] == 0 else { throw bad(0, "wrong IDX magic \(bytes.prefix(4).map { String(format: "%02x", $0) }.joined())") }
        guard bytes[2] == 0x08 else { throw bad(2, "IDX element type 0x\(String(format: "%02x", bytes[2])) is not unsigned bytes (0x08)") }
        let rank = Int(bytes[3])
        guard (1...4).contains(rank) else { throw bad(3, "IDX rank \(rank) is not 1…4") }
        let start = 4 + 4 * rank
        guard bytes.count >= start else { return nil }
        let shape = (0..<rank).map { i -> Int in
            let o = 4 + 4 * i
            return Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])
        }
        var count = 1
        for size in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow, product <= Int.max - start else {
                throw bad(4, "the header's dimensions \(shape.map(String.init).joined(separator: "×")) are too large for any file")
            }
            count = product
        }
        return (shape, start, count)
    }

    /// Decompresses gzip data with zlib, stopping with an error as soon as the IDX header inside promises more
    /// than such a file can hold, or the data runs past what the header promises (so a crafted file cannot make
    /// it allocate more than its header honestly describes).
    static func gunzip(_ data: Data, path: String) throws -> Data {
        var stream = z_stream()
        guard mlp_inflate_init_gzip(&stream) == Z_OK else { throw MLPError.malformedFile(path: path, line: 0, reason: "cannot start gzip decompression") }
        defer { inflateEnd(&stream) }
        var output = Data()
        var expected: Int?
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var status = Z_OK
        try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
            stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
            stream.avail_in = uInt(input.count)
            repeat {
                status = chunk.withUnsafeMutableBufferPointer { buffer -> Int32 in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = uInt(buffer.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                guard status == Z_OK || status == Z_STREAM_END else {
                    throw MLPError.malformedFile(path: path, line: 0, reason: "corrupt gzip data near byte \(stream.total_in)")
                }
                output.append(contentsOf: chunk[0..<(chunk.count - Int(stream.avail_out))])
                if expected == nil, let found = try output.withUnsafeBytes({ try header($0, path: path) }) {
                    let total = found.start + found.count
                    guard total <= largestInflatedSize(compressed: data.count) else {
                        throw MLPError.malformedFile(path: path, line: 0, reason: "byte \(found.start): the header promises \(found.count) values (\(found.shape.map(String.init).joined(separator: "×"))), more than a gzip file of \(data.count) bytes can hold")
                    }
                    expected = total
                    output.reserveCapacity(total)
                }
                if let expected, output.count > expected {
                    throw MLPError.malformedFile(path: path, line: 0, reason: "byte \(expected): the file holds more values than its header promises")
                }
            } while status != Z_STREAM_END && (stream.avail_in > 0 || stream.avail_out == 0)
        }
        guard status == Z_STREAM_END else { throw MLPError.malformedFile(path: path, line: 0, reason: "truncated gzip data (\(data.count) bytes)") }
        return output
    }

    /// An IDX file's dimensions and bytes (as floats). Errors name the file and the byte offset.
    public static func read(_ path: String) throws -> (shape: [Int], values: [Float]) {
        let data = try contents(of: path)
        func bad(_ offset: Int, _ reason: String) -> MLPError { .malformedFile(path: path, line: 0, reason: "byte \(offset): \(reason)") }
        return try data.withUnsafeBytes { bytes in
            guard let (shape, start, count) = try header(bytes, path: path) else {
                throw bytes.count < 4 ? bad(0, "too short for an IDX header (\(bytes.count) bytes)") : bad(4, "the header ends early")
            }
            guard bytes.count - start == count else {
                throw bad(start, "the header promises \(count) values (\(shape.map(String.init).joined(separator: "×"))), the file holds \(bytes.count - start)")
            }
            return (shape, bytes[start...].map(Float.init))
        }
    }

    /// An images file and a labels file as (samples × pixels scaled to [0, 1], class indices).
    public static func dataset(images: String, labels: String) throws -> (x: Tensor, y: Tensor) {
        let (imageShape, pixels) = try read(images)
        let (labelShape, classes) = try read(labels)
        guard imageShape.count >= 2 else { throw MLPError.malformedFile(path: images, line: 0, reason: "an images file needs rank 2 or more, got \(imageShape)") }
        guard labelShape.count == 1 else { throw MLPError.malformedFile(path: labels, line: 0, reason: "a labels file has rank 1, got \(labelShape)") }
        guard imageShape[0] == labelShape[0] else {
            throw MLPError.shapeMismatch("\(images) has \(imageShape[0]) images but \(labels) has \(labelShape[0]) labels")
        }
        let width = imageShape.dropFirst().reduce(1, *)
        return (Tensor(shape: [imageShape[0], width], scalars: pixels.map { $0 / 255 }), Tensor(shape: [labelShape[0], 1], scalars: classes))
    }

    /// The file `stem` (e.g. `train-images-idx3-ubyte`) in `directory`, else `stem.gz`; throws, naming the plain
    /// path, when neither exists.
    public static func file(_ stem: String, in directory: String) throws -> String {
        for name in [stem, stem + ".gz"] {
            let path = (directory as NSString).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        throw MLPError.fileNotReadable(path: (directory as NSString).appendingPathComponent(stem), reason: "no such file (nor .gz)")
    }

    /// MNIST's four files in `directory` (plain or .gz): the training and the test set.
    public static func mnist(directory: String) throws -> (train: (x: Tensor, y: Tensor), test: (x: Tensor, y: Tensor)) {
        func find(_ stem: String) throws -> String { try file(stem, in: directory) }
        let trainImages = try find("train-images-idx3-ubyte"), testImages = try find("t10k-images-idx3-ubyte")
        let train = try dataset(images: trainImages, labels: find("train-labels-idx1-ubyte"))
        let test = try dataset(images: testImages, labels: find("t10k-labels-idx1-ubyte"))
        guard train.x.columnCount == test.x.columnCount else {
            throw MLPError.shapeMismatch("\(testImages) has images of \(test.x.columnCount) pixels but \(trainImages) has images of \(train.x.columnCount)")
        }
        return (train, test)
    }
}
