import CHDF5Reader
import Foundation
import MLPCore

/// An HDF5 file read in full, in an isolated child process, into an in-memory tree: what MLPKit's Keras
/// loaders read instead of calling libhdf5 in this process.
///
/// ## Why a child process
/// libhdf5 1.10 (Debian's) is not hardened against malformed files: one flipped bit in a Keras-written `.h5`
/// can make it segfault, loop or allocate without bound, and nothing in this process could catch that. A
/// validating reader for the subset of HDF5 that Keras uses would be safe but is a second HDF5
/// implementation to get right (B-trees, heaps, several superblock and message versions); parsing in a child
/// keeps libhdf5's complete format support and moves its failures out of this process. The child
/// (`CHDF5Reader`, C only: after `fork()` the Swift runtime's locks may be held by threads that no longer exist)
/// opens the file's bytes as a memory image, walks the tree without following links, refuses external links,
/// soft links, external storage and virtual datasets (each could make it read another file), disables filter
/// plugins, and streams groups, attributes and numeric datasets (converted to float32, as before) into a
/// pipe. It runs under an address-space limit, a CPU limit and a wall-clock timeout sized from the file; the
/// stream it may write is capped too. A crash, a limit or a timeout becomes one error naming the file.
///
/// Reading the whole file up front costs one copy of the file per load, which Keras-sized models afford;
/// a dataset or attribute that cannot be read is reported only when a loader asks for it, as before.
final class HDF5Snapshot {
    /// An attribute as the child read it.
    enum Attribute {
        case strings([String])
        case numbers([Double])
        case other
        case unreadable
    }

    /// A dataset as the child read it.
    enum Dataset {
        case values(shape: [Int], scalars: [Float])
        case notNumeric
        case unreadable
    }

    /// The file named in errors.
    let path: String
    /// Prefix for errors about a file inside another (`model.weights.h5: ` in a `.keras` archive).
    let context: String
    private(set) var groups: [String: [String]] = [:]          // group path → child names, in name order
    private(set) var attributes: [String: [String: Attribute]] = [:]
    private(set) var datasets: [String: Dataset] = [:]

    /// Reads the HDF5 file at `path`; a missing, truncated, corrupt or refused file is one clear error.
    convenience init(reading path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw MLPError.fileNotReadable(path: path, reason: "no such file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MLPError.fileNotReadable(path: path, reason: "cannot be opened")
        }
        try self.init(image: data, path: path, context: "")
    }

    /// Reads an HDF5 file image held in memory (an entry of a `.keras` archive); errors name `path` and
    /// start with `context`.
    init(image: Data, path: String, context: String) throws {
        self.path = path
        self.context = context
        let size = image.count
        // The stream holds every value as float32 plus names: bounded by a small multiple of the file.
        let maxStream = 8 * size + (16 << 20)
        // 30 s plus 50 ms per MB; MLPKIT_HDF5_READ_TIMEOUT_MS replaces the 30 s (the fuzz test shortens it).
        let base = getenv("MLPKIT_HDF5_READ_TIMEOUT_MS").flatMap { Int(String(cString: $0)) }.map { max(100, $0) } ?? 30_000
        let timeout = base + size / 20_000
        var stream: UnsafeMutablePointer<UInt8>?
        var streamSize = 0
        var detail: Int32 = 0
        let outcome = image.withUnsafeBytes { bytes in
            mlp_h5r_read(bytes.baseAddress, size, Int32(clamping: timeout), maxStream, &stream, &streamSize, &detail)
        }
        defer { free(stream) }
        let bytes = stream.map { UnsafeBufferPointer(start: $0, count: streamSize) } ?? UnsafeBufferPointer(start: nil, count: 0)
        switch Int(outcome) {
        case Int(MLP_H5R_EXITED.rawValue):
            try parse(bytes, exitStatus: Int(detail))
        case Int(MLP_H5R_SIGNALED.rawValue):
            let reason = detail == SIGXCPU ? "it ran out of CPU time" : "signal \(detail)"
            throw bad("not a readable HDF5 file (the HDF5 library crashed reading it: \(reason))")
        case Int(MLP_H5R_TIMED_OUT.rawValue):
            throw bad("not a readable HDF5 file (the HDF5 library did not finish reading it in \(timeout) ms)")
        case Int(MLP_H5R_TOO_LARGE.rawValue):
            throw bad("not a readable HDF5 file (it unpacks to more than \(maxStream) bytes)")
        default:
            throw MLPError.fileNotReadable(path: path, reason: "cannot start a process to read it: \(String(cString: strerror(detail)))")
        }
    }

    func bad(_ reason: String) -> MLPError { .malformedFile(path: path, line: 0, reason: context + reason) }

    /// How many numbers the file's datasets hold together (a bound on the weights a model read from it can have).
    var totalValues: Int {
        datasets.values.reduce(0) { total, dataset in
            if case let .values(_, scalars) = dataset { return total + scalars.count }
            return total
        }
    }

    var root: HDF5SnapshotGroup { HDF5SnapshotGroup(file: self, path: "/") }

    // MARK: Stream

    private func parse(_ bytes: UnsafeBufferPointer<UInt8>, exitStatus: Int) throws {
        var reader = StreamReader(bytes: bytes)
        let truncated = bad("not a readable HDF5 file (the reader stopped early: exit status \(exitStatus))")
        while true {
            guard let tag = reader.u8() else { throw truncated }
            switch tag {
            case UInt8(ascii: "G"):
                guard let path = reader.string() else { throw truncated }
                groups[path] = groups[path] ?? []
                if path != "/", let slash = path.lastIndex(of: "/") {
                    let parent = slash == path.startIndex ? "/" : String(path[..<slash])
                    groups[parent, default: []].append(String(path[path.index(after: slash)...]))
                }
            case UInt8(ascii: "A"):
                guard let owner = reader.string(), let name = reader.string(), let kind = reader.u8(), let count = reader.u32() else {
                    throw truncated
                }
                let attribute: Attribute
                switch kind {
                case 0:
                    var values: [String] = []
                    for _ in 0..<count {
                        guard let value = reader.string() else { throw truncated }
                        values.append(value)
                    }
                    attribute = .strings(values)
                case 1:
                    guard let values = reader.doubles(Int(count)) else { throw truncated }
                    attribute = .numbers(values)
                case 2: attribute = .other
                default: attribute = .unreadable
                }
                attributes[owner, default: [:]][name] = attribute
            case UInt8(ascii: "D"):
                guard let path = reader.string(), let status = reader.u8(), let rank = reader.u32(), rank <= 8 else { throw truncated }
                var shape: [Int] = []
                for _ in 0..<rank {
                    guard let dimension = reader.u64(), dimension < 1 << 31 else { throw truncated }
                    shape.append(Int(dimension))
                }
                switch status {
                case 0:
                    guard let scalars = reader.floats(shape.reduce(1, *)) else { throw truncated }
                    datasets[path] = .values(shape: shape, scalars: scalars)
                case 1: datasets[path] = .notNumeric
                default: datasets[path] = .unreadable
                }
                if let slash = path.lastIndex(of: "/") {
                    let parent = slash == path.startIndex ? "/" : String(path[..<slash])
                    groups[parent, default: []].append(String(path[path.index(after: slash)...]))
                }
            case UInt8(ascii: "E"):
                guard reader.u32() != nil, let message = reader.string() else { throw truncated }
                throw bad(message)
            case UInt8(ascii: "Z"):
                guard groups["/"] != nil else { throw truncated }
                return
            default:
                throw truncated
            }
        }
    }

    /// Reads the child's records; every read is bounds-checked (nil past the end).
    private struct StreamReader {
        let bytes: UnsafeBufferPointer<UInt8>
        var offset = 0

        mutating func take(_ count: Int) -> UnsafeBufferPointer<UInt8>? {
            guard count >= 0, count <= bytes.count - offset else { return nil }
            defer { offset += count }
            return UnsafeBufferPointer(rebasing: bytes[offset..<(offset + count)])
        }
        mutating func u8() -> UInt8? { take(1)?.first }
        mutating func u32() -> UInt32? { take(4).map { UnsafeRawBufferPointer($0).loadUnaligned(as: UInt32.self) } }
        mutating func u64() -> UInt64? { take(8).map { UnsafeRawBufferPointer($0).loadUnaligned(as: UInt64.self) } }
        mutating func string() -> String? {
            guard let length = u32(), let raw = take(Int(length)) else { return nil }
            return String(decoding: raw, as: UTF8.self)
        }
        mutating func floats(_ count: Int) -> [Float]? {
            guard count <= (bytes.count - offset) / 4, let raw = take(count * 4) else { return nil }
            return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(raw))
                initialized = count
            }
        }
        mutating func doubles(_ count: Int) -> [Double]? {
            guard count <= (bytes.count - offset) / 8, let raw = take(count * 8) else { return nil }
            return [Double](unsafeUninitializedCapacity: count) { buffer, initialized in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(raw))
                initialized = count
            }
        }
    }
}

/// A group (or the root) of an ``HDF5Snapshot``: the reading half of ``HDF5Group``'s interface.
struct HDF5SnapshotGroup {
    let file: HDF5Snapshot
    let path: String

    /// The absolute path of `name` relative to this group (`a/b`, `/a/b`, `./a` all work).
    func child(_ name: String) -> String {
        let base = name.hasPrefix("/") ? [] : path.split(separator: "/")
        let components = (base + name.split(separator: "/")).filter { $0 != "." }
        return "/" + components.joined(separator: "/")
    }

    func exists(_ name: String) -> Bool {
        let full = child(name)
        return file.groups[full] != nil || file.datasets[full] != nil
    }

    func group(_ name: String) throws -> HDF5SnapshotGroup {
        let full = child(name)
        guard file.groups[full] != nil else {
            throw file.bad(file.datasets[full] != nil ? "'\(full)' is not a group" : "no group '\(full)'")
        }
        return HDF5SnapshotGroup(file: file, path: full)
    }

    /// The names of the links (groups and datasets) directly in this group, in name order.
    func childNames() -> [String] { file.groups[path] ?? [] }

    func hasAttribute(_ name: String) -> Bool { file.attributes[path]?[name] != nil }

    /// A string attribute's value(s); a non-string attribute (Keras' empty `weight_names`) reads as no
    /// strings; a missing one is nil.
    func stringAttribute(_ name: String) throws -> [String]? {
        guard let attribute = file.attributes[path]?[name] else { return nil }
        switch attribute {
        case .strings(let values): return values
        case .numbers, .other: return []
        case .unreadable: throw file.bad("cannot read the attribute \(child(name))")
        }
    }

    /// A scalar string attribute.
    func string(_ name: String) throws -> String? { try stringAttribute(name)?.first }

    /// A numeric dataset as float32, with its shape; NaN or infinite values are an error naming the dataset.
    func readDataset(_ name: String) throws -> Tensor {
        let full = child(name)
        guard let dataset = file.datasets[full] else {
            throw file.bad(file.groups[full] != nil ? "'\(full)' is not a dataset" : "no dataset '\(full)'")
        }
        switch dataset {
        case .notNumeric: throw file.bad("'\(full)' is not numeric")
        case .unreadable: throw file.bad("cannot read the dataset '\(full)' (corrupt or truncated)")
        case let .values(shape, scalars):
            if let index = scalars.firstIndex(where: { !$0.isFinite }) {
                throw file.bad("the dataset '\(full)' holds \(scalars[index]) at index \(index): weights must be finite numbers")
            }
            return Tensor(shape: shape, scalars: scalars)
        }
    }
}
