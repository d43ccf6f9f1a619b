import Foundation
import MLPCore
import ZIPFoundation

/// A `.keras` archive opened for reading: entries are extracted into memory (nothing is written to disk, so
/// no entry name can place a file anywhere), each entry's size is checked against a cap before it is
/// extracted, and its CRC32 is checked after.
///
/// ZIPFoundation's consumer-based `extract` computes the CRC32 of what it extracts and returns it, but
/// does not compare it with the archive's; this type does, so a flipped byte in `model.weights.h5` is an
/// error, not different weights.
struct KerasArchive {
    /// The most an entry may expand to, whatever the archive's size: entries are held in memory.
    static let absoluteEntryCap: UInt64 = 2 << 30
    /// The most an entry may expand to relative to the archive (deflate reaches ~1000:1 only on crafted input;
    /// Keras' JSON entries compress ~10:1, its weights barely at all).
    static let expansionRatio: UInt64 = 100

    let path: String
    let archiveSize: UInt64
    private let archive: Archive

    init(reading path: String) throws {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else { throw MLPError.fileNotReadable(path: path, reason: "no such file") }
        archiveSize = ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? NSNumber)?.uint64Value ?? 0
        do { archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read) } catch {
            throw MLPError.malformedFile(path: path, line: 0, reason: "not a .keras archive (not a readable zip file)")
        }
    }

    /// The cap on one entry's uncompressed size for this archive.
    var entryCap: UInt64 { min(Self.absoluteEntryCap, Self.expansionRatio * archiveSize + (1 << 20)) }

    func has(_ name: String) -> Bool { archive[name] != nil }

    /// The bytes of entry `name`, size-capped and CRC-checked; every failure names the archive and the entry.
    func entry(_ name: String) throws -> Data {
        func bad(_ reason: String) -> MLPError { .malformedFile(path: path, line: 0, reason: "entry '\(name)': \(reason)") }
        guard let found = archive[name] else { throw MLPError.malformedFile(path: path, line: 0, reason: "the archive has no \(name)") }
        guard found.type == .file else { throw bad("is not a file") }
        let declared = found.uncompressedSize
        guard declared <= entryCap else {
            throw bad("would expand to \(declared) bytes, more than the \(entryCap) bytes allowed for a \(archiveSize)-byte archive")
        }
        var data = Data()
        data.reserveCapacity(Int(declared))
        let computed: CRC32
        do {
            computed = try archive.extract(found, skipCRC32: false) { chunk in
                // The declared size may lie: stop as soon as the entry grows past it.
                guard UInt64(data.count + chunk.count) <= declared else { throw EntryTooLarge() }
                data.append(chunk)
            }
        } catch is EntryTooLarge {
            throw bad("expands past its declared size of \(declared) bytes (corrupt)")
        } catch {
            throw bad("is corrupt (\(error))")
        }
        guard UInt64(data.count) == declared else { throw bad("holds \(data.count) bytes, its header says \(declared) (corrupt)") }
        guard computed == found.checksum else {
            throw bad("is corrupt (CRC32 \(String(format: "%08x", computed)), the archive records \(String(format: "%08x", found.checksum)))")
        }
        return data
    }

    private struct EntryTooLarge: Error {}
}
