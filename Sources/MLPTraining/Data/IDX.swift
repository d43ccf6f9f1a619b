import CZlibShim
import Foundation
import MLPCore

/// MNIST's IDX files (`train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`, `t10k-…`): a big-endian
/// header — magic `0x0000 08 NN` (unsigned bytes, NN dimensions) and NN sizes — then the bytes.
public enum IDX {
    /// The raw contents of a file, gunzipped when it ends in `.gz`.
    static func contents(of path: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MLPError.fileNotReadable(path: path, reason: FileManager.default.fileExists(atPath: path) ? "cannot be opened" : "no such file")
        }
        return path.hasSuffix(".gz") ? try gunzip(data, path: path) : data
    }

    /// Decompresses gzip data with zlib.
    static func gunzip(_ data: Data, path: String) throws -> Data {
        var stream = z_stream()
        guard mlp_inflate_init_gzip(&stream) == Z_OK else { throw MLPError.malformedFile(path: path, line: 0, reason: "cannot start gzip decompression") }
        defer { inflateEnd(&stream) }
        var output = Data()
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
            } while status != Z_STREAM_END && (stream.avail_in > 0 || stream.avail_out == 0)
        }
        guard status == Z_STREAM_END else { throw MLPError.malformedFile(path: path, line: 0, reason: "truncated gzip data (\(data.count) bytes)") }
        return output
    }

    /// An IDX file's dimensions and bytes (as floats). Errors name the byte offset.
    public static func read(_ path: String) throws -> (shape: [Int], values: [Float]) {
        let data = try contents(of: path)
        func bad(_ offset: Int, _ reason: String) -> MLPError { .malformedFile(path: path, line: 0, reason: "byte \(offset): \(reason)") }
        guard data.count >= 4 else { throw bad(0, "too short for an IDX header (\(data.count) bytes)") }
        let bytes = [UInt8](data)
        guard bytes[0] == 0, bytes[1] == 0 else { throw bad(0, "wrong IDX magic \(bytes.prefix(4).map { String(format: "%02x", $0) }.joined())") }
        guard bytes[2] == 0x08 else { throw bad(2, "IDX element type 0x\(String(format: "%02x", bytes[2])) is not unsigned bytes (0x08)") }
        let rank = Int(bytes[3])
        guard (1...4).contains(rank) else { throw bad(3, "IDX rank \(rank) is not 1…4") }
        guard bytes.count >= 4 + 4 * rank else { throw bad(4, "the header ends early") }
        let shape = (0..<rank).map { i -> Int in
            let o = 4 + 4 * i
            return Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])
        }
        let count = shape.reduce(1, *), start = 4 + 4 * rank
        guard bytes.count - start == count else {
            throw bad(start, "the header promises \(count) values (\(shape.map(String.init).joined(separator: "×"))), the file holds \(bytes.count - start)")
        }
        return (shape, bytes[start...].map(Float.init))
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

    /// MNIST's four files in `directory` (plain or .gz): the training and the test set.
    public static func mnist(directory: String) throws -> (train: (x: Tensor, y: Tensor), test: (x: Tensor, y: Tensor)) {
        func find(_ stem: String) throws -> String {
            for name in [stem, stem + ".gz"] {
                let path = (directory as NSString).appendingPathComponent(name)
                if FileManager.default.fileExists(atPath: path) { return path }
            }
            throw MLPError.fileNotReadable(path: (directory as NSString).appendingPathComponent(stem), reason: "no such file (nor .gz)")
        }
        return (try dataset(images: find("train-images-idx3-ubyte"), labels: find("train-labels-idx1-ubyte")),
                try dataset(images: find("t10k-images-idx3-ubyte"), labels: find("t10k-labels-idx1-ubyte")))
    }
}
