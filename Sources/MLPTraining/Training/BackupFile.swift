import CZlibShim
import Foundation
import MLPCore

/// BackupAndRestore's file, `backup.bin`: raw little-endian, so a backup costs a copy of the weights rather
/// than a JSON rendering of every number.
///
/// Layout: the magic `MLPKBAK1`; then UInt64 fields `epoch`, `seed`, `hasOptimizer`, `iterations`, the
/// learning rate as a Float32 bit pattern; the weights (`count`, then per tensor its scalar count and its
/// Float32 values); the optimizer slots (per parameter, the slot count, then per slot its scalar count and
/// values); the callbacks' float arrays (count, then per array its tensors, as the weights); the other
/// callbacks' state as UTF-8 JSON (length, bytes); last, the CRC-32 (zlib's) of everything
/// before it, so a damaged or truncated backup is refused instead of resumed from.
struct BackupFile: Equatable {
    static let magic = Array("MLPKBAK1".utf8)

    var epoch: Int
    var seed: UInt64
    var weights: [[Float]]
    /// Optimizer state, when the model has an optimizer.
    var iterations: Int?
    var learningRate: Float
    var slots: [[[Float]]]
    /// The other callbacks' `backupState`, as JSON, with their `[[Float]]` values (EarlyStopping's best
    /// weights) moved to ``callbackTensors`` and replaced by `{"mlpkit_tensors": index}`.
    var callbacks: Data
    var callbackTensors: [[[Float]]] = []

    func encoded() -> Data {
        var writer = Writer()
        writer.bytes(BackupFile.magic)
        writer.integer(UInt64(epoch))
        writer.integer(seed)
        writer.integer(iterations == nil ? 0 : 1)
        writer.integer(UInt64(iterations ?? 0))
        writer.integer(UInt64(learningRate.bitPattern))
        writer.integer(UInt64(weights.count))
        for tensor in weights { writer.floats(tensor) }
        writer.integer(UInt64(slots.count))
        for parameter in slots {
            writer.integer(UInt64(parameter.count))
            for slot in parameter { writer.floats(slot) }
        }
        writer.integer(UInt64(callbackTensors.count))
        for tensors in callbackTensors {
            writer.integer(UInt64(tensors.count))
            for tensor in tensors { writer.floats(tensor) }
        }
        writer.integer(UInt64(callbacks.count))
        writer.data.append(callbacks)
        let checksum = BackupFile.crc(writer.data)
        writer.integer(UInt64(checksum))
        return writer.data
    }

    /// Decodes a backup; `path` names it in errors (a wrong magic, a bad checksum, a truncated file).
    init(decoding data: Data, path: String) throws {
        func bad(_ reason: String) -> MLPError { .malformedFile(path: path, line: 0, reason: reason) }
        guard data.count >= BackupFile.magic.count + 8, Array(data.prefix(BackupFile.magic.count)) == BackupFile.magic else {
            throw bad("not an MLPKit backup (no MLPKBAK1 header)")
        }
        let body = data.prefix(data.count - 8)
        var trailer = Reader(data: data.suffix(8))
        guard let stored = trailer.integer(), stored == UInt64(BackupFile.crc(body)) else {
            throw bad("the backup is damaged (checksum mismatch); delete it to start over")
        }
        var reader = Reader(data: body.dropFirst(BackupFile.magic.count))
        func integer() throws -> UInt64 {
            guard let value = reader.integer() else { throw bad("the backup is truncated") }
            return value
        }
        func count(_ limit: Int) throws -> Int {
            let value = try integer()
            guard value <= UInt64(limit) else { throw bad("the backup is damaged (a count of \(value))") }
            return Int(value)
        }
        func floats() throws -> [Float] {
            guard let values = reader.floats(count: try count(reader.remaining / 4)) else { throw bad("the backup is truncated") }
            return values
        }
        epoch = try count(Int.max)
        seed = try integer()
        let hasOptimizer = try integer() == 1
        let storedIterations = try count(Int.max)
        iterations = hasOptimizer ? storedIterations : nil
        learningRate = Float(bitPattern: UInt32(truncatingIfNeeded: try integer()))
        weights = try (0..<count(reader.remaining / 8)).map { _ in try floats() }
        slots = try (0..<count(reader.remaining / 8)).map { _ in try (0..<count(reader.remaining / 8)).map { _ in try floats() } }
        callbackTensors = try (0..<count(reader.remaining / 8)).map { _ in try (0..<count(reader.remaining / 8)).map { _ in try floats() } }
        let length = try count(reader.remaining)
        guard let json = reader.bytes(length), reader.remaining == 0 else { throw bad("the backup is damaged (trailing bytes)") }
        callbacks = json
    }

    init(epoch: Int, seed: UInt64, weights: [[Float]], iterations: Int?, learningRate: Float, slots: [[[Float]]], callbacks: Data,
         callbackTensors: [[[Float]]] = []) {
        self.epoch = epoch
        self.seed = seed
        self.weights = weights
        self.iterations = iterations
        self.learningRate = learningRate
        self.slots = slots
        self.callbacks = callbacks
        self.callbackTensors = callbackTensors
    }

    /// Moves the `[[Float]]` values out of callback states (for the binary section), leaving placeholders.
    static func separatingTensors(_ states: [[String: Any]]) -> (states: [[String: Any]], tensors: [[[Float]]]) {
        var tensors: [[[Float]]] = []
        let separated = states.map { state in
            state.mapValues { value -> Any in
                guard let arrays = value as? [[Float]] else { return value }
                tensors.append(arrays)
                return ["mlpkit_tensors": tensors.count - 1]
            }
        }
        return (separated, tensors)
    }

    /// Puts the binary section's arrays back in place of their placeholders.
    static func joiningTensors(_ states: [[String: Any]], _ tensors: [[[Float]]], path: String) throws -> [[String: Any]] {
        try states.map { state in
            try state.mapValues { value -> Any in
                guard let placeholder = value as? [String: Any], placeholder.count == 1, let index = placeholder["mlpkit_tensors"] as? Int else {
                    return value
                }
                guard tensors.indices.contains(index) else {
                    throw MLPError.malformedFile(path: path, line: 0, reason: "the backup is damaged (callback tensors \(index) missing)")
                }
                return tensors[index]
            }
        }
    }

    /// The epoch a backup file records, read from its header only (nil when the file is not a backup).
    static func epoch(ofFileAt path: String) -> Int? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: magic.count + 8), head.count == magic.count + 8,
              Array(head.prefix(magic.count)) == magic else { return nil }
        var reader = Reader(data: head.dropFirst(magic.count))
        return reader.integer().map { Int(truncatingIfNeeded: $0) }
    }

    static func crc(_ data: Data) -> UInt32 {
        data.withUnsafeBytes { bytes -> UInt32 in
            var value = crc32(0, nil, 0)
            var offset = 0
            while offset < bytes.count {
                let chunk = min(bytes.count - offset, Int(UInt32.max))
                value = crc32(value, bytes.baseAddress!.advanced(by: offset).assumingMemoryBound(to: Bytef.self), uInt(chunk))
                offset += chunk
            }
            return UInt32(truncatingIfNeeded: value)
        }
    }

    struct Writer {
        var data = Data()

        mutating func bytes(_ values: [UInt8]) { data.append(contentsOf: values) }

        mutating func integer(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }

        mutating func floats(_ values: [Float]) {
            integer(UInt64(values.count))
            #if _endian(little)
            values.withUnsafeBytes { data.append(contentsOf: $0) }
            #else
            for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
            #endif
        }
    }

    struct Reader {
        let data: Data
        var offset: Int

        init(data: Data) {
            self.data = data
            offset = data.startIndex
        }

        var remaining: Int { data.endIndex - offset }

        mutating func bytes(_ count: Int) -> Data? {
            guard count >= 0, count <= remaining else { return nil }
            defer { offset += count }
            return data.subdata(in: offset..<(offset + count))
        }

        mutating func integer() -> UInt64? {
            guard let raw = bytes(8) else { return nil }
            return UInt64(littleEndian: raw.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        }

        mutating func floats(count: Int) -> [Float]? {
            guard count <= remaining / 4, let raw = bytes(count * 4) else { return nil }
            return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                raw.withUnsafeBytes { source in
                    for index in 0..<count {
                        buffer[index] = Float(bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)))
                    }
                }
                initialized = count
            }
        }
    }
}
