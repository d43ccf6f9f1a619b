import Foundation
import Synchronization

/// The packed, register-blocked GEMM of ``CPUBackend``.
///
/// Layout (GotoBLAS style): for each block of `kc` along k, `op(B)` is packed into column panels of `nr`
/// (k-major, zero-padded) and `alpha·op(A)` into row panels of `mr`; a micro-kernel keeps an `mr × nr` tile of
/// C in `SIMD8` registers (`6 × 2` vectors) across the block. Transposes are handled by the packing, so all
/// three Dense products (`X·W`, `Xᵀ·dZ`, `dZ·Wᵀ`) run the same kernel. Row panels are shared among the worker
/// pool's threads when the product is large enough.
final class GEMMWorkspace {
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
        packedA = .allocate(capacity: 1)
        packedB = .allocate(capacity: 1)
    }

    deinit {
        packedA.deallocate()
        packedB.deallocate()
    }

    func reserve(a: Int, b: Int) {
        if a > packedACapacity {
            packedA.deallocate()
            packedA = .allocate(capacity: a)
            packedACapacity = a
        }
        if b > packedBCapacity {
            packedB.deallocate()
            packedB = .allocate(capacity: b)
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
    static let zeros: UnsafePointer<Float> = {
        let zeros = UnsafeMutablePointer<Float>.allocate(capacity: kc)
        zeros.initialize(repeating: 0, count: kc)
        return UnsafePointer(zeros)
    }()

    /// Transposes `rows` (≤ 8) rows of `length` (≤ `kc`) values (row r at `source + r·rowStride`) into `length`
    /// vectors of 8 at `target + p·targetStride`, lanes past `rows` zero: eight vector loads and eight vector
    /// stores per 8×8 block rather than 64 scalar stores 64 bytes apart (the packing of `Bᵀ` for `dZ·Wᵀ` had cost
    /// as much as the multiply-adds of a small product).
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

    /// Packs op(A)[panel·mr ..< +mr, p0..<p0+kLength] k-major, zero-padded past m.
    func packA(panel: Int) {
        let mr = GEMMWorkspace.mr
        guard let aPointer else { return }
        let base = packedA + panel * kLength * mr
        let row0 = panel * mr
        let height = min(mr, m - row0)
        if height < mr { base.update(repeating: 0, count: kLength * mr) }
        if transA {
            for p in 0..<kLength {
                let source = aPointer + (p0 + p) * m + row0, target = base + p * mr
                for ii in 0..<height { target[ii] = source[ii] }
            }
        } else {
            for ii in 0..<height {
                let source = aPointer + (row0 + ii) * k + p0
                for p in 0..<kLength { base[p * mr + ii] = source[p] }
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

    /// B (not transposed) small enough to stay in the L1 cache: the kernels read the rows of its full column
    /// panels in place (row stride n) instead of from packed copies, which had cost more than the multiply-adds
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

    /// Column split, the whole product: groups of neighbouring column panels (``columnGroup`` when B is wide, else
    /// one), handed out in turn (a shared counter: whoever is done first takes the next group); for each group and
    /// k-block, the group's B
    /// panels are packed here, a row of B at a time (64 floats read together: one 16-float panel at a time, every
    /// read of a large B had been a 64-byte piece of another page), and run against all row panels of op(A) read
    /// in place. The groups' columns of C are disjoint, so nothing waits for another participant (one pool run).
    func computeColumns(participant: Int, participants: Int) {
        let mr = GEMMWorkspace.mr, nr = GEMMWorkspace.nr, kc = GEMMWorkspace.kc
        // Rows of B 4 KiB or more apart (each on its own page): four panels at a time; otherwise one, which keeps
        // a panel's C tile in the L1 cache across the k-blocks (grouping made the mnist forward product 15%
        // slower, and the wide ones 10% faster).
        let group = !transB && n >= 1024 ? GEMMWorkspace.columnGroup : 1
        guard let c, let aPointer else { return }
        let rowStride = transA ? 1 : k, step = transA ? m : 1
        while true {
            let first = nextGroup.wrappingAdd(1, ordering: .relaxed).oldValue * group
            guard first < columnPanels else { return }
            let last = min(columnPanels, first + group)
            var p0 = 0
            while p0 < k {
                let kLength = min(kc, k - p0)
                packGroup(first..<last, p0: p0, kLength: kLength)
                let source = transA ? aPointer + p0 * m : aPointer + p0
                for column in first..<last {
                    let (b, ldb) = bPanel(column, p0: p0)
                    let col0 = column * nr, columns = min(nr, n - col0)
                    for panel in 0..<rowPanels {
                        let row0 = panel * mr, rows = min(mr, m - row0)
                        GEMMWorkspace.runTile(k: kLength, a: GEMMWorkspace.rowsInPlace(source + row0 * rowStride, rowStride: rowStride, rows: rows),
                                              step: step, b: b, ldb: ldb, alpha: alpha, c: c + row0 * n + col0, ldc: n, rows: rows,
                                              columns: columns, overwrite: overwrite && p0 == 0)
                    }
                }
                p0 += kLength
            }
        }
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
        for panel in min(rowPanels, participant * share)..<min(rowPanels, (participant + 1) * share) {
            let row0 = panel * mr
            let rows = min(mr, m - row0)
            if aSource != nil {
                let a = aRows(panel: panel, rows: rows)
                for column in 0..<columnPanels {
                    let col0 = column * nr
                    let (b, ldb) = bPanel(column, p0: p0)
                    GEMMWorkspace.runTile(k: kLength, a: a, step: aStepStride, b: b, ldb: ldb, alpha: alpha,
                                              c: c + row0 * n + col0, ldc: n, rows: rows, columns: min(nr, n - col0),
                                              overwrite: overwrite && p0 == 0)
                }
            } else {
                packA(panel: panel)
                let a = UnsafePointer(packedA + panel * kLength * mr)
                for column in 0..<columnPanels {
                    let (b, ldb) = bPanel(column, p0: p0)
                    let col0 = column * nr
                    GEMMWorkspace.runTile(k: kLength, a: GEMMWorkspace.packedRows(a), step: mr, b: b, ldb: ldb, alpha: alpha,
                                              c: c + row0 * n + col0, ldc: n, rows: rows, columns: min(nr, n - col0),
                                              overwrite: overwrite && p0 == 0)
                }
            }
        }
    }

    /// One tile: the 6×16 ``microKernel(k:a:step:b:ldb:alpha:c:ldc:rows:columns:overwrite:)``; for a tile of at
    /// most 8 columns the 6×8 ``narrowKernel(k:a:step:b:alpha:c:ldc:rows:columns:overwrite:)``, which does half
    /// the work (the output layer's products, the last panel of a 36-wide layer); for a tile of at most 2 rows the
    /// 2×16 ``shortKernel(k:a:step:b:ldb:alpha:c:ldc:rows:columns:overwrite:)`` (the last row panel of a 32-row batch).
    @inline(__always)
    static func runTile(k: Int, a: RowPointers, step: Int, b: UnsafePointer<Float>, ldb: Int, alpha: Float,
                        c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int, overwrite: Bool) {
        if columns <= 8 {
            // (Always a packed panel: only full panels are read in place.)
            narrowKernel(k: k, a: a, step: step, b: b, alpha: alpha, c: c, ldc: ldc, rows: rows, columns: columns, overwrite: overwrite)
        } else if rows <= 2 {
            shortKernel(k: k, a: a, step: step, b: b, ldb: ldb, alpha: alpha, c: c, ldc: ldc, rows: rows, columns: columns, overwrite: overwrite)
        } else if ldb == nr {
            // A packed panel: the stride a constant in this copy of the loop, as before B could be read in place.
            microKernel(k: k, a: a, step: step, b: b, ldb: nr, alpha: alpha, c: c, ldc: ldc, rows: rows, columns: columns, overwrite: overwrite)
        } else {
            microKernel(k: k, a: a, step: step, b: b, ldb: ldb, alpha: alpha, c: c, ldc: ldc, rows: rows, columns: columns, overwrite: overwrite)
        }
    }

    /// The 2×16 kernel: rows 0 and 1 of the panel, four `SIMD8` accumulators for even and four for odd steps of
    /// k (eight independent chains: with four, each step waited on the previous step's multiply-add latency).
    @inline(never)
    static func shortKernel(k: Int, a: RowPointers, step: Int, b: UnsafePointer<Float>, ldb: Int, alpha: Float,
                            c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int, overwrite: Bool) {
        typealias Tile = (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)
        let rawB = UnsafeRawPointer(b), ldbBytes = ldb * MemoryLayout<Float>.stride
        let a0 = a.0, a1 = a.1
        // One step of k into one accumulator set.
        @inline(__always) func accumulate(_ tile: inout Tile, _ p: Int, _ offset: Int) {
            let b0 = rawB.loadUnaligned(fromByteOffset: p * ldbBytes, as: SIMD8<Float>.self)
            let b1 = rawB.loadUnaligned(fromByteOffset: p * ldbBytes + 32, as: SIMD8<Float>.self)
            multiplyAdd(&tile.0, a0[offset], b0); multiplyAdd(&tile.1, a0[offset], b1)
            multiplyAdd(&tile.2, a1[offset], b0); multiplyAdd(&tile.3, a1[offset], b1)
        }
        var even: Tile = (SIMD8(), SIMD8(), SIMD8(), SIMD8()), odd: Tile = (SIMD8(), SIMD8(), SIMD8(), SIMD8())
        var offset = 0
        var p = 0
        while p + 2 <= k {
            accumulate(&even, p, offset)
            accumulate(&odd, p + 1, offset + step)
            offset += 2 * step
            p += 2
        }
        if p < k { accumulate(&even, p, offset) }
        var c00 = even.0 + odd.0, c01 = even.1 + odd.1, c10 = even.2 + odd.2, c11 = even.3 + odd.3
        if alpha != 1 {
            c00 *= alpha; c01 *= alpha; c10 *= alpha; c11 *= alpha
        }
        func putRow(_ row: Int, _ lo: SIMD8<Float>, _ hi: SIMD8<Float>) {
            guard row < rows else { return }
            let target = c + row * ldc
            CPUBackend.store(overwrite ? lo : CPUBackend.load(target) + lo, target)
            if columns == 16 {
                CPUBackend.store(overwrite ? hi : CPUBackend.load(target + 8) + hi, target + 8)
                return
            }
            for column in 8..<columns { target[column] = overwrite ? hi[column - 8] : target[column] + hi[column - 8] }
        }
        putRow(0, c00, c01); putRow(1, c10, c11)
    }

    /// The 6×8 kernel: the first 8 columns of the B panel, six `SIMD8` accumulators for even and six for odd steps
    /// of k (twelve independent chains: with six, the loop waited on the multiply-add latency). A separate
    /// function, so the 6×16 kernel's loop is compiled exactly as before.
    @inline(never)
    static func narrowKernel(k: Int, a: RowPointers, step: Int, b: UnsafePointer<Float>, alpha: Float,
                             c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int, overwrite: Bool) {
        typealias Tile = (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)
        let rawB = UnsafeRawPointer(b), ldbBytes = GEMMWorkspace.nr * MemoryLayout<Float>.stride
        let a0 = a.0, a1 = a.1, a2 = a.2, a3 = a.3, a4 = a.4, a5 = a.5
        // One step of k into one accumulator set.
        @inline(__always) func accumulate(_ tile: inout Tile, _ p: Int, _ offset: Int) {
            let b0 = rawB.loadUnaligned(fromByteOffset: p * ldbBytes, as: SIMD8<Float>.self)
            multiplyAdd(&tile.0, a0[offset], b0); multiplyAdd(&tile.1, a1[offset], b0); multiplyAdd(&tile.2, a2[offset], b0)
            multiplyAdd(&tile.3, a3[offset], b0); multiplyAdd(&tile.4, a4[offset], b0); multiplyAdd(&tile.5, a5[offset], b0)
        }
        let zero = SIMD8<Float>()
        var even: Tile = (zero, zero, zero, zero, zero, zero), odd: Tile = (zero, zero, zero, zero, zero, zero)
        var offset = 0
        var p = 0
        while p + 2 <= k {
            accumulate(&even, p, offset)
            accumulate(&odd, p + 1, offset + step)
            offset += 2 * step
            p += 2
        }
        if p < k { accumulate(&even, p, offset) }
        var c0 = even.0 + odd.0, c1 = even.1 + odd.1, c2 = even.2 + odd.2, c3 = even.3 + odd.3, c4 = even.4 + odd.4, c5 = even.5 + odd.5
        if alpha != 1 {
            c0 *= alpha; c1 *= alpha; c2 *= alpha; c3 *= alpha; c4 *= alpha; c5 *= alpha
        }
        func putRow(_ row: Int, _ value: SIMD8<Float>) {
            guard row < rows else { return }
            let target = c + row * ldc
            if columns == 8 {
                CPUBackend.store(overwrite ? value : CPUBackend.load(target) + value, target)
                return
            }
            for column in 0..<columns { target[column] = overwrite ? value[column] : target[column] + value[column] }
        }
        putRow(0, c0); putRow(1, c1); putRow(2, c2); putRow(3, c3); putRow(4, c4); putRow(5, c5)
    }

    /// `C[0..<rows, 0..<columns] += alpha · A_panel · B_panel` over `k` (`=` when `overwrite`: the first k-block
    /// of a product with β = 0, which saves zeroing C beforehand): row r of A at `a.r[p·step]` (r < 6), B panel
    /// k-major `nr` wide. Twelve `SIMD8` accumulators hold the 6×16 tile.
    @inline(__always)
    static func microKernel(k: Int, a: RowPointers, step: Int, b: UnsafePointer<Float>, ldb: Int, alpha: Float,
                            c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int, overwrite: Bool) {
        var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
        var c20 = SIMD8<Float>(), c21 = SIMD8<Float>(), c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
        var c40 = SIMD8<Float>(), c41 = SIMD8<Float>(), c50 = SIMD8<Float>(), c51 = SIMD8<Float>()
        let rawB = UnsafeRawPointer(b), ldbBytes = ldb * MemoryLayout<Float>.stride
        let a0 = a.0, a1 = a.1, a2 = a.2, a3 = a.3, a4 = a.4, a5 = a.5
        var offset = 0
        for p in 0..<k {
            let b0 = rawB.loadUnaligned(fromByteOffset: p * ldbBytes, as: SIMD8<Float>.self)
            let b1 = rawB.loadUnaligned(fromByteOffset: p * ldbBytes + 32, as: SIMD8<Float>.self)
            let v0 = SIMD8<Float>(repeating: a0[offset]), v1 = SIMD8<Float>(repeating: a1[offset])
            let v2 = SIMD8<Float>(repeating: a2[offset]), v3 = SIMD8<Float>(repeating: a3[offset])
            let v4 = SIMD8<Float>(repeating: a4[offset]), v5 = SIMD8<Float>(repeating: a5[offset])
            offset += step
            #if MLPKIT_FMA
            // Fused multiply-add: only when the build targets a CPU with FMA (Scripts/cpu-flags.sh), since
            // without it `addProduct` is a per-lane library call.
            c00.addProduct(v0, b0); c01.addProduct(v0, b1)
            c10.addProduct(v1, b0); c11.addProduct(v1, b1)
            c20.addProduct(v2, b0); c21.addProduct(v2, b1)
            c30.addProduct(v3, b0); c31.addProduct(v3, b1)
            c40.addProduct(v4, b0); c41.addProduct(v4, b1)
            c50.addProduct(v5, b0); c51.addProduct(v5, b1)
            #else
            c00 += v0 * b0; c01 += v0 * b1
            c10 += v1 * b0; c11 += v1 * b1
            c20 += v2 * b0; c21 += v2 * b1
            c30 += v3 * b0; c31 += v3 * b1
            c40 += v4 * b0; c41 += v4 * b1
            c50 += v5 * b0; c51 += v5 * b1
            #endif
        }
        if alpha != 1 {
            c00 *= alpha; c01 *= alpha; c10 *= alpha; c11 *= alpha; c20 *= alpha; c21 *= alpha
            c30 *= alpha; c31 *= alpha; c40 *= alpha; c41 *= alpha; c50 *= alpha; c51 *= alpha
        }
        // Rows and columns inside C only (edge tiles); whole vectors where a full 8 columns fit. No temporary
        // array: nothing allocated.
        @inline(__always) func put(_ value: SIMD8<Float>, _ target: UnsafeMutablePointer<Float>) {
            CPUBackend.store(overwrite ? value : CPUBackend.load(target) + value, target)
        }
        if rows == 6 && columns == 16 {
            put(c00, c); put(c01, c + 8); put(c10, c + ldc); put(c11, c + ldc + 8); put(c20, c + 2 * ldc); put(c21, c + 2 * ldc + 8)
            put(c30, c + 3 * ldc); put(c31, c + 3 * ldc + 8); put(c40, c + 4 * ldc); put(c41, c + 4 * ldc + 8)
            put(c50, c + 5 * ldc); put(c51, c + 5 * ldc + 8)
            return
        }
        func putRow(_ row: Int, _ lo: SIMD8<Float>, _ hi: SIMD8<Float>) {
            guard row < rows else { return }
            let target = c + row * ldc
            var column = 0
            if columns >= 8 {
                put(lo, target)
                column = 8
            }
            while column < columns {
                let value = column < 8 ? lo[column] : hi[column - 8]
                target[column] = overwrite ? value : target[column] + value
                column += 1
            }
        }
        putRow(0, c00, c01); putRow(1, c10, c11); putRow(2, c20, c21)
        putRow(3, c30, c31); putRow(4, c40, c41); putRow(5, c50, c51)
    }

    /// `acc += a·b` lane by lane: a fused multiply-add where the build targets FMA (Scripts/cpu-flags.sh).
    @inline(__always)
    static func multiplyAdd(_ acc: inout SIMD8<Float>, _ a: Float, _ b: SIMD8<Float>) {
        #if MLPKIT_FMA
        acc.addProduct(SIMD8(repeating: a), b)
        #else
        acc += SIMD8(repeating: a) * b
        #endif
    }

    typealias RowPointers = (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>,
                             UnsafePointer<Float>, UnsafePointer<Float>)

    /// The packed panel's six rows.
    @inline(__always)
    static func packedRows(_ a: UnsafePointer<Float>) -> RowPointers { (a, a + 1, a + 2, a + 3, a + 4, a + 5) }
}

extension CPUBackend {
    /// `C = alpha·op(A)·op(B) + beta·C`, optimised (see ``GEMMWorkspace``); equal to
    /// ``CPUReference/gemm(transA:transB:m:n:k:alpha:a:b:beta:c:)`` up to float rounding. A product allocates
    /// nothing once the packing buffers have grown to its size.
    public func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: DeviceBuffer, b: DeviceBuffer, beta: Float, c: DeviceBuffer) {
        precondition(m >= 0 && n >= 0 && k >= 0, "gemm: negative dimension")
        precondition(a.count >= m * k && b.count >= k * n && c.count >= m * n,
                     "gemm: buffers (\(a.count), \(b.count), \(c.count)) too small for m=\(m) n=\(n) k=\(k)")
        guard m > 0, n > 0 else { return }
        let aPointer = ptr(a), bPointer = ptr(b), cPointer = ptr(c)
        // β = 0: the first k-block stores instead of adding (no zeroing pass), unless there is no product at all.
        let overwrite = beta == 0 && k > 0 && alpha != 0
        if beta == 0 && !overwrite {
            cPointer.update(repeating: 0, count: m * n)
        } else if beta != 1 && beta != 0 {
            for i in 0..<(m * n) { cPointer[i] *= beta }
        }
        guard k > 0, alpha != 0 else { return }
        let mr = GEMMWorkspace.mr, nr = GEMMWorkspace.nr, kc = GEMMWorkspace.kc
        let work = workspace
        let rowPanels = (m + mr - 1) / mr, columnPanels = (n + nr - 1) / nr
        work.reserve(a: rowPanels * mr * min(k, kc), b: columnPanels * nr * min(k, kc))
        work.m = m
        work.n = n
        work.c = cPointer
        work.rowPanels = rowPanels
        work.columnPanels = columnPanels
        work.alpha = alpha
        work.aPointer = UnsafePointer(aPointer)
        work.bPointer = UnsafePointer(bPointer)
        work.transA = transA
        work.transB = transB
        work.k = k
        work.overwrite = overwrite
        work.bInPlace = !transB && k * n <= GEMMWorkspace.inPlaceBLimit
        // Split by columns when B is the larger operand (each thread then packs its own share of it).
        work.splitColumns = columnPanels > 1 && n > m
        // Handing a product to the pool costs ~0.25 µs while its workers spin and ~10 µs to wake them, and the
        // operands' cache lines then move between cores: splitting pays from 2^20 multiply-adds (narrow products,
        // one column panel: 2^22). Measured: splitting from 2^14 made the seed's products 2–3× slower, from
        // 2^18 the mnist training 5% slower.
        let parallel = pool != nil && m * n * k >= (columnPanels == 1 ? 1 << 22 : 1 << 20) && (work.splitColumns ? columnPanels : rowPanels) > 1
        if work.splitColumns {
            work.nextGroup.store(0, ordering: .relaxed)
            if parallel, let pool {
                pool.run(columnTask)
            } else {
                work.computeColumns(participant: 0, participants: 1)
            }
            return
        }
        var p0 = 0
        while p0 < k {
            let kLength = min(kc, k - p0)
            work.kLength = kLength
            work.p0 = p0
            if columnPanels <= GEMMWorkspace.inPlaceColumnPanels {
                // Few column panels: each A panel would be used only that often, so the kernel reads
                // op(A)[:, p0...] in place instead of packing it.
                work.aSource = transA ? UnsafePointer(aPointer + p0 * m) : UnsafePointer(aPointer + p0)
                work.aRowStride = transA ? 1 : k
                work.aStepStride = transA ? m : 1
            } else {
                work.aSource = nil
            }
            work.packShared()
            if parallel, let pool {
                pool.run(rowTask)
            } else {
                work.computeRows(participant: 0, participants: 1)
            }
            p0 += kLength
        }
    }
}
