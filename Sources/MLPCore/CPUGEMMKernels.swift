/// The register-blocked micro-kernels of the packed GEMM (``GEMMWorkspace``): a 6×16 tile of C in `SIMD8`
/// registers, with 6×8 and 2×16 variants for narrow and short edge tiles. A build for AVX-512 (`MLPKIT_AVX512`)
/// runs the 6×16 tile in `SIMD16` registers instead (``wideKernel(k:a:step:b:ldb:alpha:c:ldc:rows:columns:overwrite:)``).
extension GEMMWorkspace {
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
            #if MLPKIT_AVX512
            wideKernel(k: k, a: a, step: step, b: b, ldb: nr, alpha: alpha, c: c, ldc: ldc, rows: rows, columns: columns, overwrite: overwrite)
            #else
            microKernel(k: k, a: a, step: step, b: b, ldb: nr, alpha: alpha, c: c, ldc: ldc, rows: rows, columns: columns, overwrite: overwrite)
            #endif
        } else {
            #if MLPKIT_AVX512
            wideKernel(k: k, a: a, step: step, b: b, ldb: ldb, alpha: alpha, c: c, ldc: ldc, rows: rows, columns: columns, overwrite: overwrite)
            #else
            microKernel(k: k, a: a, step: step, b: b, ldb: ldb, alpha: alpha, c: c, ldc: ldc, rows: rows, columns: columns, overwrite: overwrite)
            #endif
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
            let b0 = rawB.loadUnaligned(fromByteOffset: p &* ldbBytes, as: SIMD8<Float>.self)
            let b1 = rawB.loadUnaligned(fromByteOffset: p &* ldbBytes &+ 32, as: SIMD8<Float>.self)
            multiplyAdd(&tile.0, a0[offset], b0); multiplyAdd(&tile.1, a0[offset], b1)
            multiplyAdd(&tile.2, a1[offset], b0); multiplyAdd(&tile.3, a1[offset], b1)
        }
        var even: Tile = (SIMD8(), SIMD8(), SIMD8(), SIMD8()), odd: Tile = (SIMD8(), SIMD8(), SIMD8(), SIMD8())
        var offset = 0
        var p = 0
        while p &+ 2 <= k {
            accumulate(&even, p, offset)
            accumulate(&odd, p &+ 1, offset &+ step)
            offset &+= 2 &* step
            p &+= 2
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
            putLanes(hi, target + 8, count: columns - 8, overwrite: overwrite)
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
            let b0 = rawB.loadUnaligned(fromByteOffset: p &* ldbBytes, as: SIMD8<Float>.self)
            multiplyAdd(&tile.0, a0[offset], b0); multiplyAdd(&tile.1, a1[offset], b0); multiplyAdd(&tile.2, a2[offset], b0)
            multiplyAdd(&tile.3, a3[offset], b0); multiplyAdd(&tile.4, a4[offset], b0); multiplyAdd(&tile.5, a5[offset], b0)
        }
        let zero = SIMD8<Float>()
        var even: Tile = (zero, zero, zero, zero, zero, zero), odd: Tile = (zero, zero, zero, zero, zero, zero)
        var offset = 0
        var p = 0
        // Wrapping arithmetic, as in the 16-lane kernel: the indices stay far from overflow, and the checks had
        // cost two branches per step.
        while p &+ 2 <= k {
            accumulate(&even, p, offset)
            accumulate(&odd, p &+ 1, offset &+ step)
            offset &+= 2 &* step
            p &+= 2
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
            putLanes(value, target, count: columns, overwrite: overwrite)
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
            if columns >= 8 {
                put(lo, target)
                putLanes(hi, target + 8, count: columns - 8, overwrite: overwrite)
            } else {
                putLanes(lo, target, count: columns, overwrite: overwrite)
            }
        }
        putRow(0, c00, c01); putRow(1, c10, c11); putRow(2, c20, c21)
        putRow(3, c30, c31); putRow(4, c40, c41); putRow(5, c50, c51)
    }

    /// Lanes `0..<count` (0...8) of `value` into `target[0..<count]` (`+=` unless `overwrite`), nothing past them:
    /// four at once where four fit, then one by one (an edge tile's last columns).
    @inline(__always)
    static func putLanes(_ value: SIMD8<Float>, _ target: UnsafeMutablePointer<Float>, count: Int, overwrite: Bool) {
        var lane = 0
        if count >= 4 {
            let raw = UnsafeMutableRawPointer(target), low = value.lowHalf
            raw.storeBytes(of: overwrite ? low : UnsafeRawPointer(raw).loadUnaligned(as: SIMD4<Float>.self) + low, as: SIMD4<Float>.self)
            lane = 4
        }
        while lane < count {
            target[lane] = overwrite ? value[lane] : target[lane] + value[lane]
            lane &+= 1
        }
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
