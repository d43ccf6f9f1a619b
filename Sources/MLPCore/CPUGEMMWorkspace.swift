import CPrefetch
import Foundation
import Synchronization

/// The packed, register-blocked GEMM of ``CPUBackend``.
///
/// Layout (GotoBLAS style): for each block of `kc` along k, `op(B)` is packed into column panels of `nr`
/// (k-major, zero-padded) and `alpha·op(A)` into row panels of `mr`; a micro-kernel keeps an `mr × nr` tile of
/// C in `SIMD8` registers (`6 × 2` vectors) across the block; an AVX-512 build (`MLPKIT_AVX512`) keeps it in
/// `SIMD16` registers, two neighbouring panels (6 × 32) at a time where both are full, and two whole row panels
/// with them (12 × 32) where there are two; its column split packs op(A) whole before the columns run (the
/// 12 × 32 kernel then reads two contiguous panels). Transposes are handled by the packing, so all
/// three Dense products (`X·W`, `Xᵀ·dZ`, `dZ·Wᵀ`) run the same kernel. Row panels are shared among the worker
/// pool's threads when the product is large enough. In the column split, the parts of B that the next packing
/// reads are prefetched while the current block computes (``BPrefetch``): without it the packing waited on
/// memory for ~13% of a wide product's time (the wide forward product 256 × 2048 · 2048 × 2048: 358–367 →
/// 418–419 GFLOP/s with it, on the AMD EPYC Zen 5).
///
/// `@unchecked Sendable` because the pool's tasks capture it: the caller sets the product up before
/// ``WorkerPool/run(_:)`` publishes a task and changes it only after `run` returns; while a task runs, each
/// participant packs only its own panels (its row panels of A, or the column group it took from `nextGroup`, an
/// atomic) and writes only their disjoint rows or columns of C.
final class GEMMWorkspace: @unchecked Sendable {
    static let mr = 6, nr = 16, kc = 256
    /// Column panels packed and run together in the column split.
    static let columnGroup = 4
    /// The next group of column panels in the column split (reset per product).
    let nextGroup = Atomic<Int>(0)
    /// Products with at most this many column panels read op(A) in place in the row split too.
    static let inPlaceColumnPanels = 4
    // The fields are written by the caller before the workers run and only read while they do (the pool's
    // condition orders the two), so Swift's dynamic exclusivity checks, which cost a third of a small product's
    // time, are off for them.
    @exclusivity(unchecked) var packedA: UnsafeMutablePointer<Float>
    @exclusivity(unchecked) var packedACapacity = 0
    @exclusivity(unchecked) var packedB: UnsafeMutablePointer<Float>
    @exclusivity(unchecked) var packedBCapacity = 0
    // The product being computed (read by the pool's workers).
    @exclusivity(unchecked) var m = 0, n = 0, kLength = 0, rowPanels = 0, columnPanels = 0
    @exclusivity(unchecked) var c: UnsafeMutablePointer<Float>?

    init() {
        packedA = HostMemory.allocateFloats(1)
        packedB = HostMemory.allocateFloats(1)
    }

    deinit {
        HostMemory.free(packedA)
        HostMemory.free(packedB)
    }

    func reserve(a: Int, b: Int) {
        if a > packedACapacity {
            HostMemory.free(packedA)
            packedA = HostMemory.allocateFloats(a)
            packedACapacity = a
        }
        if b > packedBCapacity {
            HostMemory.free(packedB)
            packedB = HostMemory.allocateFloats(b)
            packedBCapacity = b
        }
    }

    /// Where the row split's micro-kernel reads A: the packed panels, or (products with at most
    /// ``inPlaceColumnPanels`` column panels) `op(A)` in place, which saves a packing pass whose elements would be
    /// used only a few times.
    @exclusivity(unchecked) var aSource: UnsafePointer<Float>?
    @exclusivity(unchecked) var aRowStride = 0, aStepStride = 0, alpha: Float = 1

    // The operands of the product (read by the pool's workers).
    @exclusivity(unchecked) var aPointer: UnsafePointer<Float>?, bPointer: UnsafePointer<Float>?
    @exclusivity(unchecked) var transA = false, transB = false, k = 0, p0 = 0
    /// Work split: by column panels (``computeColumns``: each participant packs its own B panels; A is read in
    /// place, unpacked) when B is the larger operand, else by row panels (``computeRows``: each packs its own A
    /// panels; B packed beforehand, per k-block).
    @exclusivity(unchecked) var splitColumns = false
    /// β = 0: the first k-block's tiles are stored, not added.
    @exclusivity(unchecked) var overwrite = false

    /// Where column panel `panel` of op(B) is packed: one slot of `min(k, kc)·nr` floats per panel, for the
    /// current k-block.
    @inline(__always)
    func packedPanel(_ panel: Int) -> UnsafeMutablePointer<Float> { packedB + panel * min(k, GEMMWorkspace.kc) * GEMMWorkspace.nr }

    /// Packs op(B)[p0..<p0+kLength, panel·nr ..< +nr] k-major into the panel's slot; lanes past n hold zeros (Bᵀ)
    /// or whatever follows in memory (B), never stored by a kernel.
    func packB(panel: Int, p0: Int, kLength: Int) {
        let nr = GEMMWorkspace.nr
        guard let bPointer else { return }
        let base = packedPanel(panel)
        let col0 = panel * nr
        let width = min(nr, n - col0)
        if transB {
            // op(B) = Bᵀ: the panel's columns are rows of B, contiguous along k.
            for half in 0..<2 {
                GEMMWorkspace.packTransposed(bPointer + (col0 + half * 8) * k + p0, rowStride: k, rows: max(0, min(8, width - half * 8)),
                                             length: kLength, into: base + half * 8, targetStride: nr)
            }
        } else if width == nr {
            // Two vector copies per row (a `memmove` call per 64 bytes cost more than the copy).
            for p in 0..<kLength {
                let source = bPointer + (p0 + p) * n + col0, target = base + p * nr
                CPUBackend.store(CPUBackend.load(source), target)
                CPUBackend.store(CPUBackend.load(source + 8), target + 8)
            }
        } else {
            // An edge panel: 16 values from each row all the same, the lanes past `width` holding the next row's
            // first values (or, after the last row, the buffer's slack): the kernels never store their results.
            for p in 0..<kLength {
                let source = bPointer + (p0 + p) * n + col0, target = base + p * nr
                CPUBackend.store(CPUBackend.load(source), target)
                CPUBackend.store(CPUBackend.load(source + 8), target + 8)
            }
        }
    }

    /// `kc` zeros: the rows past the edge of an edge panel read them.
    // `nonisolated(unsafe)`: a pointer is not `Sendable`, but this memory is written once, in the initializer (which
    // Swift runs once, thread-safely), and only read after; it is never freed.
    nonisolated(unsafe) static let zeros: UnsafePointer<Float> = {
        let zeros = UnsafeMutablePointer<Float>.allocate(capacity: kc)
        zeros.initialize(repeating: 0, count: kc)
        return UnsafePointer(zeros)
    }()

    /// Transposes `rows` (≤ 8) rows of `length` (≤ `kc`) values (row r at `source + r·rowStride`) into `length`
    /// vectors of 8 at `target + p·targetStride`, lanes past `rows` zero: eight vector loads and eight vector
    /// stores per 8×8 block rather than 64 scalar stores 64 bytes apart (scalar stores make the packing of `Bᵀ` for
    /// `dZ·Wᵀ` cost as much as the multiply-adds of a small product).
    @inline(__always)
    static func packTransposed(_ source: UnsafePointer<Float>, rowStride: Int, rows: Int, length: Int,
                               into target: UnsafeMutablePointer<Float>, targetStride: Int) {
        func row(_ r: Int) -> UnsafePointer<Float> { r < rows ? source + r * rowStride : zeros }
        let s0 = row(0), s1 = row(1), s2 = row(2), s3 = row(3), s4 = row(4), s5 = row(5), s6 = row(6), s7 = row(7)
        @inline(__always) func block(_ p: Int) {
            let columns = transpose8x8(CPUBackend.load(s0 + p), CPUBackend.load(s1 + p), CPUBackend.load(s2 + p), CPUBackend.load(s3 + p),
                                       CPUBackend.load(s4 + p), CPUBackend.load(s5 + p), CPUBackend.load(s6 + p), CPUBackend.load(s7 + p))
            let out = target + p * targetStride
            CPUBackend.store(columns.0, out)
            CPUBackend.store(columns.1, out + targetStride)
            CPUBackend.store(columns.2, out + 2 * targetStride)
            CPUBackend.store(columns.3, out + 3 * targetStride)
            CPUBackend.store(columns.4, out + 4 * targetStride)
            CPUBackend.store(columns.5, out + 5 * targetStride)
            CPUBackend.store(columns.6, out + 6 * targetStride)
            CPUBackend.store(columns.7, out + 7 * targetStride)
        }
        var p = 0
        while p + 8 <= length {
            block(p)
            p += 8
        }
        guard p < length else { return }
        if length >= 8 {
            // The last 1–7 columns: one more block ending at `length` (its first columns are stored again, the same).
            block(length - 8)
            return
        }
        while p < length {
            CPUBackend.store(SIMD8(s0[p], s1[p], s2[p], s3[p], s4[p], s5[p], s6[p], s7[p]), target + p * targetStride)
            p += 1
        }
    }

    typealias Block8 = (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)

    /// The 8×8 transpose (rows in, columns out) as the usual three shuffle stages — interleave pairs of rows
    /// within each 128-bit half, pick 64-bit pairs, swap 128-bit halves — written as lane selections that the
    /// compiler turns into one shuffle instruction each (24 in all; element by element it had built every column
    /// from eight inserts).
    @inline(__always)
    static func transpose8x8(_ r0: SIMD8<Float>, _ r1: SIMD8<Float>, _ r2: SIMD8<Float>, _ r3: SIMD8<Float>,
                             _ r4: SIMD8<Float>, _ r5: SIMD8<Float>, _ r6: SIMD8<Float>, _ r7: SIMD8<Float>) -> Block8 {
        @inline(__always) func low(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { SIMD8(a[0], b[0], a[1], b[1], a[4], b[4], a[5], b[5]) }
        @inline(__always) func high(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { SIMD8(a[2], b[2], a[3], b[3], a[6], b[6], a[7], b[7]) }
        @inline(__always) func pairsLow(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { SIMD8(a[0], a[1], b[0], b[1], a[4], a[5], b[4], b[5]) }
        @inline(__always) func pairsHigh(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { SIMD8(a[2], a[3], b[2], b[3], a[6], a[7], b[6], b[7]) }
        let t0 = low(r0, r1), t1 = high(r0, r1), t2 = low(r2, r3), t3 = high(r2, r3)
        let t4 = low(r4, r5), t5 = high(r4, r5), t6 = low(r6, r7), t7 = high(r6, r7)
        // u_c: column c (rows 0–3) in the low half, column c + 4 in the high half; v_c the same for rows 4–7.
        let u0 = pairsLow(t0, t2), u1 = pairsHigh(t0, t2), u2 = pairsLow(t1, t3), u3 = pairsHigh(t1, t3)
        let v0 = pairsLow(t4, t6), v1 = pairsHigh(t4, t6), v2 = pairsLow(t5, t7), v3 = pairsHigh(t5, t7)
        return (SIMD8(lowHalf: u0.lowHalf, highHalf: v0.lowHalf), SIMD8(lowHalf: u1.lowHalf, highHalf: v1.lowHalf),
                SIMD8(lowHalf: u2.lowHalf, highHalf: v2.lowHalf), SIMD8(lowHalf: u3.lowHalf, highHalf: v3.lowHalf),
                SIMD8(lowHalf: u0.highHalf, highHalf: v0.highHalf), SIMD8(lowHalf: u1.highHalf, highHalf: v1.highHalf),
                SIMD8(lowHalf: u2.highHalf, highHalf: v2.highHalf), SIMD8(lowHalf: u3.highHalf, highHalf: v3.highHalf))
    }

    /// Packs op(A)[panel·mr ..< +mr, p0..<p0+kLength] k-major, zero-padded past m, into the panel's slot of the
    /// current k-block.
    func packA(panel: Int) { packA(panel: panel, p0: p0, kLength: kLength, into: packedA + panel * kLength * GEMMWorkspace.mr) }

    #if MLPKIT_AVX512
    /// The column split's op(A) is packed whole (every k-block, ``packWholeA(participant:participants:)``) before
    /// the columns run.
    @exclusivity(unchecked) var aPackedWhole = false

    /// Where row panel `panel` of the k-block from `p0` (`kLength` long) lies when op(A) is packed whole: the
    /// k-blocks one after another, each its row panels one after another.
    @inline(__always)
    func wholePanel(_ panel: Int, p0: Int, kLength: Int) -> UnsafeMutablePointer<Float> {
        packedA + p0 * rowPanels * GEMMWorkspace.mr + panel * kLength * GEMMWorkspace.mr
    }

    /// Packs this participant's share of op(A)'s (k-block, row panel) pieces into their places
    /// (``wholePanel(_:p0:kLength:)``); the shares are disjoint.
    func packWholeA(participant: Int, participants: Int) {
        let kc = GEMMWorkspace.kc
        let blocks = (k + kc - 1) / kc
        var item = participant
        while item < blocks * rowPanels {
            let block = item / rowPanels, panel = item % rowPanels
            let p0 = block * kc, kLength = min(kc, k - p0)
            packA(panel: panel, p0: p0, kLength: kLength, into: wholePanel(panel, p0: p0, kLength: kLength))
            item += participants
        }
    }
    #endif

    /// Packs op(A)[panel·mr ..< +mr, p0..<p0+kLength] k-major, zero-padded past m, at `base`.
    func packA(panel: Int, p0: Int, kLength: Int, into base: UnsafeMutablePointer<Float>) {
        let mr = GEMMWorkspace.mr
        guard let aPointer else { return }
        let row0 = panel * mr
        let height = min(mr, m - row0)
        if height < mr { base.update(repeating: 0, count: kLength * mr) }
        if transA {
            for p in 0..<kLength {
                let source = aPointer + (p0 + p) * m + row0, target = base + p * mr
                for ii in 0..<height { target[ii] = source[ii] }
            }
        } else {
            var start = 0
            if height == mr {
                // Eight steps of k at a time: the six rows' next eight values (two zero rows added) transposed,
                // each step's six values stored as an eight-lane vector whose last two lanes the next step's store
                // overwrites; the block's last step stays out of it (its store would reach past the panel).
                let first = aPointer + row0 * k + p0
                let zero = SIMD8<Float>()
                while start + 8 < kLength {
                    let at = first + start
                    let t = GEMMWorkspace.transpose8x8(CPUBackend.load(at), CPUBackend.load(at + k), CPUBackend.load(at + 2 * k),
                                                       CPUBackend.load(at + 3 * k), CPUBackend.load(at + 4 * k),
                                                       CPUBackend.load(at + 5 * k), zero, zero)
                    let out = base + start * mr
                    CPUBackend.store(t.0, out); CPUBackend.store(t.1, out + mr); CPUBackend.store(t.2, out + 2 * mr)
                    CPUBackend.store(t.3, out + 3 * mr); CPUBackend.store(t.4, out + 4 * mr); CPUBackend.store(t.5, out + 5 * mr)
                    CPUBackend.store(t.6, out + 6 * mr); CPUBackend.store(t.7, out + 7 * mr)
                    start += 8
                }
            }
            for ii in 0..<height {
                let source = aPointer + (row0 + ii) * k + p0
                for p in start..<kLength { base[p * mr + ii] = source[p] }
            }
        }
    }

    /// The six row pointers of a row panel: into the packed panel, or into op(A) in place (`aSource`: row r at
    /// aSource + (row0 + r)·aRowStride; rows past the edge repeat the last row, their results are not stored).
    @inline(__always)
    func aRows(panel: Int, rows: Int) -> GEMMWorkspace.RowPointers {
        guard let aSource else { return GEMMWorkspace.packedRows(UnsafePointer(packedA + panel * kLength * GEMMWorkspace.mr)) }
        return GEMMWorkspace.rowsInPlace(aSource + panel * GEMMWorkspace.mr * aRowStride, rowStride: aRowStride, rows: rows)
    }

    /// Six row pointers `base + r·rowStride`; rows past `rows` repeat the last one (their results are not stored).
    @inline(__always)
    static func rowsInPlace(_ base: UnsafePointer<Float>, rowStride: Int, rows: Int) -> RowPointers {
        func row(_ r: Int) -> UnsafePointer<Float> { base + min(r, rows - 1) * rowStride }
        return (row(0), row(1), row(2), row(3), row(4), row(5))
    }

    /// Packs every B panel of the current k-block that is not read in place (the row split shares them).
    func packShared() {
        for panel in 0..<columnPanels where !readsInPlace(panel) { packB(panel: panel, p0: p0, kLength: kLength) }
    }

    /// ``packShared()`` split among the pool's participants (row split, parallel products): a share of the
    /// k-block's rows of B (not transposed), each row copied into every panel's slot in one pass along it
    /// (one panel at a time read a 64-byte piece of another page per row), or a share of the panels (Bᵀ, whose
    /// panels are rows of B). The slots written are disjoint; the same values as ``packShared()``.
    func packShared(participant: Int, participants: Int) {
        let nr = GEMMWorkspace.nr
        guard let bPointer else { return }
        if transB || bInPlace {
            for panel in stride(from: participant, to: columnPanels, by: participants) where !readsInPlace(panel) {
                packB(panel: panel, p0: p0, kLength: kLength)
            }
            return
        }
        let share = (kLength + participants - 1) / participants
        let first = min(kLength, participant * share), last = min(kLength, first + share)
        for p in first..<last {
            let source = bPointer + (p0 + p) * n
            for column in 0..<columnPanels {
                let from = source + column * nr, to = packedPanel(column) + p * nr
                CPUBackend.store(CPUBackend.load(from), to)
                CPUBackend.store(CPUBackend.load(from + 8), to + 8)
            }
        }
    }

    /// B (not transposed) small enough to stay in the L1 cache: the kernels read the rows of its full column
    /// panels in place (row stride n) instead of from packed copies, which cost more than the multiply-adds
    /// of the seed's products. Edge panels are still packed (read in place, their rows' unaligned loads made the
    /// narrow products slower).
    @exclusivity(unchecked) var bInPlace = false
    static let inPlaceBLimit = 8192

    @inline(__always)
    func readsInPlace(_ column: Int) -> Bool { bInPlace && n - column * GEMMWorkspace.nr >= GEMMWorkspace.nr }

    /// Column panel `column` of op(B) for the k-block from `p0` and its row stride: in place, or its packed slot
    /// (filled beforehand).
    @inline(__always)
    func bPanel(_ column: Int, p0: Int) -> (UnsafePointer<Float>, Int) {
        let nr = GEMMWorkspace.nr
        if readsInPlace(column), let bPointer { return (bPointer + p0 * n + column * nr, n) }
        return (UnsafePointer(packedPanel(column)), nr)
    }

    #if MLPKIT_AVX512
    /// Whether column panels `column` and `column + 1` can run together in the AVX-512 6 × 32 kernel: both before
    /// `end` and full (16 columns inside C), so both have the same source and stride (in place, or packed). The
    /// loops pair the panels from the first of their run: (first, first + 1), (first + 2, first + 3), ….
    @inline(__always)
    func pairs(_ column: Int, before end: Int) -> Bool { column + 1 < end && n - (column + 1) * GEMMWorkspace.nr >= GEMMWorkspace.nr }
    #endif

    /// Column split, the whole product: groups of neighbouring column panels (``columnGroup`` when B is wide, else
    /// one), handed out in turn (a shared counter: whoever is done first takes the next group); for each group and
    /// k-block, the group's B
    /// panels are packed here, a row of B at a time (64 floats read together: one 16-float panel at a time, every
    /// read of a large B would be a 64-byte piece of another page), and run against all row panels of op(A) read
    /// in place. The groups' columns of C are disjoint, so nothing waits for another participant (one pool run).
    func computeColumns(participant: Int, participants: Int) {
        let mr = GEMMWorkspace.mr, nr = GEMMWorkspace.nr, kc = GEMMWorkspace.kc
        // Rows of B 4 KiB or more apart (each on its own page): four panels at a time; otherwise one, which keeps
        // a panel's C tile in the L1 cache across the k-blocks (grouping slows the mnist forward product and
        // speeds up the wide ones).
        #if MLPKIT_AVX512
        // At least two: the 6 × 32 kernel runs neighbouring panels of a group together (one panel a group ran
        // every tile in the 6 × 16 kernel).
        let group = !transB && n >= 1024 ? GEMMWorkspace.columnGroup : 2
        #else
        let group = !transB && n >= 1024 ? GEMMWorkspace.columnGroup : 1
        #endif
        guard let c, let aPointer else { return }
        let rowStride = transA ? 1 : k, step = transA ? m : 1
        // B's rows are read into the packed panels from memory (a large B is in no cache by the time its product
        // runs): while a block computes, the rows the next packing will read are prefetched, a share after each
        // tile, so that the packing finds them in the L2 cache. The next block is the group's next k-block, or
        // after its last one the first block of the group claimed next (claimed then, one block early).
        let prefetches = !bInPlace
        var first = nextGroup.wrappingAdd(1, ordering: .relaxed).oldValue * group
        while first < columnPanels {
            let last = min(columnPanels, first + group)
            var following = columnPanels
            var p0 = 0
            while p0 < k {
                let kLength = min(kc, k - p0)
                packGroup(first..<last, p0: p0, kLength: kLength)
                let lastBlock = p0 + kLength >= k
                // At the group's last block, the next group is claimed (one block early, for the prefetch).
                if lastBlock { following = nextGroup.wrappingAdd(1, ordering: .relaxed).oldValue * group }
                var ahead = BPrefetch()
                if prefetches, let bPointer {
                    // The next block: this group's next k-block, else the first one of the group claimed next.
                    let panels = lastBlock ? min(following, columnPanels)..<min(columnPanels, following + group) : first..<last
                    let from = lastBlock ? 0 : p0 + kLength
                    if !panels.isEmpty {
                        let rows = from..<min(k, from + kc), columns = (panels.lowerBound * nr)..<min(n, panels.upperBound * nr)
                        ahead = transB
                            ? BPrefetch(b: bPointer, segments: columns, stride: k, offset: rows.lowerBound, length: rows.count)
                            : BPrefetch(b: bPointer, segments: rows, stride: n, offset: columns.lowerBound, length: columns.count)
                        // A share after each tile (or pair of 6 × 32 tiles) of the block.
                        ahead.spread(over: (last - first) * ((rowPanels + 1) / 2))
                    }
                }
                let source = transA ? aPointer + p0 * m : aPointer + p0
                for column in first..<last {
                    let col0 = column * nr
                    #if MLPKIT_AVX512
                    if (column - first) % 2 == 1 && pairs(column - 1, before: last) { continue }  // ran with the panel before it
                    if (column - first) % 2 == 0 && pairs(column, before: last) {
                        let (b0, ldb) = bPanel(column, p0: p0), (b1, _) = bPanel(column + 1, p0: p0)
                        var panel = 0
                        while panel < rowPanels {
                            let row0 = panel * mr, rows = min(mr, m - row0)
                            let (a, aStep) = columnSplitRows(panel, rows: rows, source: source, rowStride: rowStride, step: step,
                                                             p0: p0, kLength: kLength)
                            if m - row0 >= 2 * mr {
                                // Two whole row panels: the 12 × 32 kernel.
                                let (a2, _) = columnSplitRows(panel + 1, rows: mr, source: source, rowStride: rowStride, step: step,
                                                              p0: p0, kLength: kLength)
                                GEMMWorkspace.runTileQuad(k: kLength, a: a, a2: a2, step: aStep, b0: b0, b1: b1, ldb: ldb, alpha: alpha,
                                                          c: c + row0 * n + col0, ldc: n, overwrite: overwrite && p0 == 0)
                                panel += 2
                            } else {
                                GEMMWorkspace.runTilePair(k: kLength, a: a, step: aStep, b0: b0, b1: b1, ldb: ldb, alpha: alpha,
                                                          c: c + row0 * n + col0, ldc: n, rows: rows, overwrite: overwrite && p0 == 0)
                                panel += 1
                            }
                            ahead.next(); ahead.next()
                        }
                        continue
                    }
                    #endif
                    let (b, ldb) = bPanel(column, p0: p0)
                    let columns = min(nr, n - col0)
                    for panel in 0..<rowPanels {
                        let row0 = panel * mr, rows = min(mr, m - row0)
                        let (a, aStep) = columnSplitRows(panel, rows: rows, source: source, rowStride: rowStride, step: step,
                                                         p0: p0, kLength: kLength)
                        GEMMWorkspace.runTile(k: kLength, a: a, step: aStep, b: b, ldb: ldb, alpha: alpha, c: c + row0 * n + col0, ldc: n,
                                              rows: rows, columns: columns, overwrite: overwrite && p0 == 0)
                        if panel % 2 == 1 { ahead.next() }
                    }
                }
                ahead.rest()
                p0 += kLength
            }
            first = following
        }
    }

    /// Row panel `panel`'s six row pointers and step along k for the column split's k-block from `p0`: op(A) packed
    /// whole (``aPackedWhole``, AVX-512 builds) or read in place from `source` (row r at `source + r·rowStride`,
    /// `step` apart along k). The column split's counterpart of ``rowPanel(_:rows:)``.
    @inline(__always)
    func columnSplitRows(_ panel: Int, rows: Int, source: UnsafePointer<Float>, rowStride: Int, step: Int, p0: Int,
                         kLength: Int) -> (GEMMWorkspace.RowPointers, Int) {
        #if MLPKIT_AVX512
        if aPackedWhole {
            return (GEMMWorkspace.packedRows(UnsafePointer(wholePanel(panel, p0: p0, kLength: kLength))), GEMMWorkspace.mr)
        }
        #endif
        return (GEMMWorkspace.rowsInPlace(source + panel * GEMMWorkspace.mr * rowStride, rowStride: rowStride, rows: rows), step)
    }

    /// Packs the B panels `columns` of the k-block from `p0` that are not read in place, each into its own slot
    /// (``computeColumns(participant:participants:)``): full panels of B (not transposed) row by row across the
    /// group, the others one at a time.
    func packGroup(_ columns: Range<Int>, p0: Int, kLength: Int) {
        let nr = GEMMWorkspace.nr
        guard let bPointer else { return }
        var full = columns.lowerBound
        if !transB {
            // The group's full panels (all but possibly the last), row by row.
            while full < columns.upperBound && n - full * nr >= nr { full += 1 }
            if !bInPlace && full > columns.lowerBound {
                for p in 0..<kLength {
                    let source = bPointer + (p0 + p) * n
                    for column in columns.lowerBound..<full {
                        let from = source + column * nr, to = packedPanel(column) + p * nr
                        CPUBackend.store(CPUBackend.load(from), to)
                        CPUBackend.store(CPUBackend.load(from + 8), to + 8)
                    }
                }
            }
        }
        for column in full..<columns.upperBound where !readsInPlace(column) {
            packB(panel: column, p0: p0, kLength: kLength)
        }
    }

    /// Row split, the current k-block: the participant's `1/participants` of the row panels, each packed here
    /// (or read in place for narrow products) and run against every packed B panel.
    func computeRows(participant: Int, participants: Int) {
        let mr = GEMMWorkspace.mr, nr = GEMMWorkspace.nr
        guard let c else { return }
        // A contiguous run of row panels per participant: neighbours share at most one cache line of C.
        let share = (rowPanels + participants - 1) / participants
        let last = min(rowPanels, (participant + 1) * share)
        var panel = min(rowPanels, participant * share)
        while panel < last {
            let row0 = panel * mr
            let rows = min(mr, m - row0)
            #if MLPKIT_AVX512
            // Two whole row panels of this participant: the 12 × 32 kernel where a pair of column panels is full.
            if panel + 1 < last && m - row0 >= 2 * mr {
                let (a, step) = rowPanel(panel, rows: mr), (a2, _) = rowPanel(panel + 1, rows: mr)
                for column in 0..<columnPanels {
                    let col0 = column * nr
                    if column % 2 == 1 && pairs(column - 1, before: columnPanels) { continue }  // ran with the panel before it
                    if column % 2 == 0 && pairs(column, before: columnPanels) {
                        let (b0, ldb) = bPanel(column, p0: p0), (b1, _) = bPanel(column + 1, p0: p0)
                        GEMMWorkspace.runTileQuad(k: kLength, a: a, a2: a2, step: step, b0: b0, b1: b1, ldb: ldb, alpha: alpha,
                                                  c: c + row0 * n + col0, ldc: n, overwrite: overwrite && p0 == 0)
                        continue
                    }
                    let (b, ldb) = bPanel(column, p0: p0)
                    GEMMWorkspace.runTile(k: kLength, a: a, step: step, b: b, ldb: ldb, alpha: alpha, c: c + row0 * n + col0, ldc: n,
                                          rows: mr, columns: min(nr, n - col0), overwrite: overwrite && p0 == 0)
                    GEMMWorkspace.runTile(k: kLength, a: a2, step: step, b: b, ldb: ldb, alpha: alpha, c: c + (row0 + mr) * n + col0, ldc: n,
                                          rows: mr, columns: min(nr, n - col0), overwrite: overwrite && p0 == 0)
                }
                panel += 2
                continue
            }
            #endif
            let (a, step) = rowPanel(panel, rows: rows)
            for column in 0..<columnPanels {
                let col0 = column * nr
                #if MLPKIT_AVX512
                if column % 2 == 1 && pairs(column - 1, before: columnPanels) { continue }  // ran with the panel before it
                if column % 2 == 0 && pairs(column, before: columnPanels) {
                    let (b0, ldb) = bPanel(column, p0: p0), (b1, _) = bPanel(column + 1, p0: p0)
                    GEMMWorkspace.runTilePair(k: kLength, a: a, step: step, b0: b0, b1: b1, ldb: ldb, alpha: alpha,
                                              c: c + row0 * n + col0, ldc: n, rows: rows, overwrite: overwrite && p0 == 0)
                    continue
                }
                #endif
                let (b, ldb) = bPanel(column, p0: p0)
                GEMMWorkspace.runTile(k: kLength, a: a, step: step, b: b, ldb: ldb, alpha: alpha,
                                      c: c + row0 * n + col0, ldc: n, rows: rows, columns: min(nr, n - col0),
                                      overwrite: overwrite && p0 == 0)
            }
            panel += 1
        }
    }

    /// Row panel `panel`'s six row pointers and step along k for the row split: op(A) read in place (narrow
    /// products) or this participant's packed copy of the panel, packed here.
    @inline(__always)
    func rowPanel(_ panel: Int, rows: Int) -> (GEMMWorkspace.RowPointers, Int) {
        if aSource != nil { return (aRows(panel: panel, rows: rows), aStepStride) }
        packA(panel: panel)
        return (GEMMWorkspace.packedRows(UnsafePointer(packedA + panel * kLength * GEMMWorkspace.mr)), GEMMWorkspace.mr)
    }
}

/// The parts of B that the column split's next packing will read, prefetched a share at a time between tiles
/// (``GEMMWorkspace/computeColumns(participant:participants:)``), a cache line at a time: `length` floats at
/// `base + segment·stride + offset` for each segment, the k-block's rows of B (not transposed) or, for Bᵀ, the
/// group's rows of B along the k-block. Empty (nothing prefetched) by default.
struct BPrefetch {
    private var base: UnsafeRawPointer?
    private var segment = 0, end = 0, strideBytes = 0, lengthBytes = 0, share = 0

    init() {}

    init(b: UnsafePointer<Float>, segments: Range<Int>, stride: Int, offset: Int, length: Int) {
        let float = MemoryLayout<Float>.stride
        base = UnsafeRawPointer(b + offset)
        segment = segments.lowerBound
        end = segments.upperBound
        strideBytes = stride * float
        lengthBytes = length * float
    }

    /// Prefetches the segments in `steps` shares (at least one segment a share).
    mutating func spread(over steps: Int) {
        share = max(1, (end - segment + max(1, steps) - 1) / max(1, steps))
    }

    /// The next share of segments.
    @inline(__always)
    mutating func next() {
        guard let base, segment < end else { return }
        let stop = min(end, segment + share)
        while segment < stop {
            let start = base + segment * strideBytes
            var offset = 0
            while offset < lengthBytes {
                mlpkit_prefetch(start + offset)
                offset += 64
            }
            mlpkit_prefetch(start + (lengthBytes - 1))  // the last line, where the segment does not start on one
            segment += 1
        }
    }

    /// Whatever segments are left.
    mutating func rest() {
        share = end - segment
        next()
    }
}
