#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Float allocations of the CPU backend (its buffers and the GEMM's packing space).
///
/// An allocation of ``hugePageSize`` (2 MiB) or more starts on a 2 MiB boundary and, on Linux, is marked
/// `MADV_HUGEPAGE`, so that where transparent huge pages are on in `madvise` mode (`/sys/kernel/mm/
/// transparent_hugepage/enabled`, as on the development machine) the kernel backs it with 2 MiB pages. The wide
/// products read a weight matrix's rows 8 KiB apart, one 4 KiB page each, and Adam streams four arrays of 6.3 M floats;
/// with huge pages the wide workload trained 1.06× and predicted 1.06× as fast (medians of 6 alternating runs, AMD EPYC
/// Zen 5). Where the advice is refused or huge pages are off, the memory is the same, in 4 KiB pages. Smaller
/// allocations are plain `malloc` ones. Free with ``free(_:)``.
enum HostMemory {
    static let hugePageSize = 2 << 20

    /// Uninitialised memory for `count` floats.
    static func allocateFloats(_ count: Int) -> UnsafeMutablePointer<Float> {
        let bytes = max(1, count) * MemoryLayout<Float>.stride
        guard bytes >= hugePageSize else { return plain(bytes, count) }
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, hugePageSize, bytes) == 0, let raw else { return plain(bytes, count) }
        #if os(Linux)
        // Advice only (4 KiB pages where it is refused). The whole 2 MiB pages inside the allocation can be huge
        // ones; a tail shorter than that stays in small pages, so nothing is backed beyond what was asked for.
        let length = (bytes + 4095) / 4096 * 4096
        _ = madvise(raw, length, MADV_HUGEPAGE)
        #endif
        return raw.bindMemory(to: Float.self, capacity: count)
    }

    /// `malloc`'s memory (16-byte aligned, which the vector loads, all unaligned ones, do not need).
    private static func plain(_ bytes: Int, _ count: Int) -> UnsafeMutablePointer<Float> {
        guard let raw = malloc(bytes) else { fatalError("HostMemory: out of memory allocating \(bytes) bytes") }
        return raw.bindMemory(to: Float.self, capacity: max(1, count))
    }

    /// Frees memory from ``allocateFloats(_:)`` (either kind: both come from `malloc`'s heap).
    static func free(_ pointer: UnsafeMutablePointer<Float>) {
        #if canImport(Glibc)
        Glibc.free(pointer)
        #else
        Darwin.free(pointer)
        #endif
    }
}
