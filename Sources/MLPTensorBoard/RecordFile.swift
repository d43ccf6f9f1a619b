import Foundation
import MLPCore

/// CRC-32C (Castagnoli), as TFRecord framing uses it, and TensorFlow's mask of it.
public enum CRC32C {
    static let table: [UInt32] = (0..<256).map { index -> UInt32 in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        return crc
    }

    /// The CRC-32C of `bytes`.
    public static func checksum<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    /// `((crc >> 15) | (crc << 17)) + 0xa282ead8`.
    public static func masked<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        let crc = checksum(bytes)
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}

/// TFRecord framing: `uint64 length` (little-endian), `uint32 masked_crc32c(length)`, the data,
/// `uint32 masked_crc32c(data)`.
public enum RecordFraming {
    /// One framed record.
    public static func frame(_ data: Data) -> Data {
        var out = Data(capacity: data.count + 16)
        var length = UInt64(data.count).littleEndian
        let lengthBytes = withUnsafeBytes(of: &length) { Data($0) }
        out.append(lengthBytes)
        var lengthCRC = CRC32C.masked(lengthBytes).littleEndian
        out.append(withUnsafeBytes(of: &lengthCRC) { Data($0) })
        out.append(data)
        var dataCRC = CRC32C.masked(data).littleEndian
        out.append(withUnsafeBytes(of: &dataCRC) { Data($0) })
        return out
    }

    /// The records of a framed file, checking both checksums; a truncated last record ends the list (a
    /// writer killed mid-record leaves everything before it readable).
    public static func records(in data: Data, path: String = "<records>") throws -> [Data] {
        var records: [Data] = []
        var offset = data.startIndex
        func word<T: FixedWidthInteger>(_ type: T.Type, at position: Int) -> T {
            var value = T.zero
            withUnsafeMutableBytes(of: &value) { $0.copyBytes(from: data[position..<(position + MemoryLayout<T>.size)]) }
            return T(littleEndian: value)
        }
        while data.endIndex - offset >= 12 {
            let length = Int(word(UInt64.self, at: offset))
            guard word(UInt32.self, at: offset + 8) == CRC32C.masked(data[offset..<(offset + 8)]) else {
                throw MLPError.malformedFile(path: path, line: 0, reason: "record length checksum mismatch at byte \(offset)")
            }
            let start = offset + 12
            guard length >= 0, data.endIndex - start >= length + 4 else { break }
            let payload = data[start..<(start + length)]
            guard word(UInt32.self, at: start + length) == CRC32C.masked(payload) else {
                throw MLPError.malformedFile(path: path, line: 0, reason: "record data checksum mismatch at byte \(offset)")
            }
            records.append(Data(payload))
            offset = start + length + 4
        }
        return records
    }
}
