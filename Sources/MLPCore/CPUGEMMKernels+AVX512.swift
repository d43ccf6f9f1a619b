#if MLPKIT_AVX512
/// The AVX-512 micro-kernel of the packed GEMM (``GEMMWorkspace``), compiled only for a target with AVX-512
/// (`-DMLPKIT_AVX512`, which Scripts/cpu-flags.sh prints on x86-64-v4 machines). The panel geometry stays
/// `mr × nr` = 6 × 16, so the packing, the splits and the edge kernels are shared with the eight-lane build: a row
/// of the 16-wide B panel is one `SIMD16` (one zmm register), and the 6 × 16 tile is six `SIMD16` accumulators
/// per parity of k (twelve independent chains, 12 of the 32 zmm registers: with six, each step waited on the
/// fused multiply-add's latency). Per step of k: one load of B, six broadcasts of A, six 16-lane multiply-adds,
/// half the instructions of the two-`SIMD8` kernel.
extension GEMMWorkspace {
    /// `C[0..<rows, 0..<columns] += alpha · A_panel · B_panel` over `k` (`=` when `overwrite`), as
    /// ``microKernel(k:a:step:b:ldb:alpha:c:ldc:rows:columns:overwrite:)`` with `SIMD16` rows of B. The even and
    /// odd steps of k are summed at the end (the order the short and narrow kernels use too).
    @inline(__always)
    static func wideKernel(k: Int, a: RowPointers, step: Int, b: UnsafePointer<Float>, ldb: Int, alpha: Float,
                           c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int, overwrite: Bool) {
        typealias Tile = (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>)
        let rawB = UnsafeRawPointer(b), ldbBytes = ldb * MemoryLayout<Float>.stride
        let a0 = a.0, a1 = a.1, a2 = a.2, a3 = a.3, a4 = a.4, a5 = a.5
        // One step of k into one accumulator set: a fused multiply-add per row (AVX-512 implies FMA).
        @inline(__always) func accumulate(_ tile: inout Tile, _ p: Int, _ offset: Int) {
            let row = rawB.loadUnaligned(fromByteOffset: p &* ldbBytes, as: SIMD16<Float>.self)
            tile.0.addProduct(SIMD16(repeating: a0[offset]), row); tile.1.addProduct(SIMD16(repeating: a1[offset]), row)
            tile.2.addProduct(SIMD16(repeating: a2[offset]), row); tile.3.addProduct(SIMD16(repeating: a3[offset]), row)
            tile.4.addProduct(SIMD16(repeating: a4[offset]), row); tile.5.addProduct(SIMD16(repeating: a5[offset]), row)
        }
        let zero = SIMD16<Float>()
        var even: Tile = (zero, zero, zero, zero, zero, zero), odd: Tile = (zero, zero, zero, zero, zero, zero)
        var offset = 0
        var p = 0
        // Wrapping arithmetic: the indices stay far from overflow, and the checks had cost a branch per step.
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
        // Rows and columns inside C only (edge tiles): a whole vector where 16 columns fit, else 8, then 4
        // (`putLanes`), then the rest lane by lane. Nothing allocated.
        @inline(__always) func putRow(_ row: Int, _ value: SIMD16<Float>) {
            guard row < rows else { return }
            let target = c + row * ldc
            let raw = UnsafeMutableRawPointer(target)
            if columns == 16 {
                let sum = overwrite ? value : UnsafeRawPointer(raw).loadUnaligned(as: SIMD16<Float>.self) + value
                raw.storeBytes(of: sum, as: SIMD16<Float>.self)
                return
            }
            if columns >= 8 {
                CPUBackend.store(overwrite ? value.lowHalf : CPUBackend.load(target) + value.lowHalf, target)
                putLanes(value.highHalf, target + 8, count: columns - 8, overwrite: overwrite)
            } else {
                putLanes(value.lowHalf, target, count: columns, overwrite: overwrite)
            }
        }
        putRow(0, c0); putRow(1, c1); putRow(2, c2); putRow(3, c3); putRow(4, c4); putRow(5, c5)
    }
}
#endif

#if MLPKIT_AVX512
extension GEMMWorkspace {
    /// Two neighbouring full column panels against one row panel (6 × 32 of C) where the build has AVX-512 and
    /// the tile has more than two rows: twelve `SIMD16` accumulators (one chain each, twelve in flight), two loads
    /// of B and six broadcasts of A per twelve multiply-adds, where the 6 × 16 kernel needs seven per six. Else
    /// the two panels one at a time (``runTile(k:a:step:b:ldb:alpha:c:ldc:rows:columns:overwrite:)``).
    @inline(__always)
    static func runTilePair(k: Int, a: RowPointers, step: Int, b0: UnsafePointer<Float>, b1: UnsafePointer<Float>, ldb: Int,
                            alpha: Float, c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, overwrite: Bool) {
        guard rows > 2 else {
            runTile(k: k, a: a, step: step, b: b0, ldb: ldb, alpha: alpha, c: c, ldc: ldc, rows: rows, columns: nr, overwrite: overwrite)
            runTile(k: k, a: a, step: step, b: b1, ldb: ldb, alpha: alpha, c: c + nr, ldc: ldc, rows: rows, columns: nr, overwrite: overwrite)
            return
        }
        if ldb == nr {
            pairKernel(k: k, a: a, step: step, b0: b0, b1: b1, ldb: nr, alpha: alpha, c: c, ldc: ldc, rows: rows, overwrite: overwrite)
        } else {
            pairKernel(k: k, a: a, step: step, b0: b0, b1: b1, ldb: ldb, alpha: alpha, c: c, ldc: ldc, rows: rows, overwrite: overwrite)
        }
    }

    /// `C[0..<rows, 0..<32] += alpha · A_panel · [B_panel0 B_panel1]` over `k` (`=` when `overwrite`).
    @inline(__always)
    static func pairKernel(k: Int, a: RowPointers, step: Int, b0: UnsafePointer<Float>, b1: UnsafePointer<Float>, ldb: Int,
                           alpha: Float, c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, overwrite: Bool) {
        let zero = SIMD16<Float>()
        var c00 = zero, c01 = zero, c10 = zero, c11 = zero, c20 = zero, c21 = zero
        var c30 = zero, c31 = zero, c40 = zero, c41 = zero, c50 = zero, c51 = zero
        let raw0 = UnsafeRawPointer(b0), raw1 = UnsafeRawPointer(b1), ldbBytes = ldb &* MemoryLayout<Float>.stride
        let a0 = a.0, a1 = a.1, a2 = a.2, a3 = a.3, a4 = a.4, a5 = a.5
        var offset = 0, byte = 0, p = 0
        while p < k {
            let l = raw0.loadUnaligned(fromByteOffset: byte, as: SIMD16<Float>.self)
            let h = raw1.loadUnaligned(fromByteOffset: byte, as: SIMD16<Float>.self)
            let v0 = SIMD16<Float>(repeating: a0[offset]), v1 = SIMD16<Float>(repeating: a1[offset])
            let v2 = SIMD16<Float>(repeating: a2[offset]), v3 = SIMD16<Float>(repeating: a3[offset])
            let v4 = SIMD16<Float>(repeating: a4[offset]), v5 = SIMD16<Float>(repeating: a5[offset])
            c00.addProduct(v0, l); c01.addProduct(v0, h); c10.addProduct(v1, l); c11.addProduct(v1, h)
            c20.addProduct(v2, l); c21.addProduct(v2, h); c30.addProduct(v3, l); c31.addProduct(v3, h)
            c40.addProduct(v4, l); c41.addProduct(v4, h); c50.addProduct(v5, l); c51.addProduct(v5, h)
            offset &+= step
            byte &+= ldbBytes
            p &+= 1
        }
        if alpha != 1 {
            c00 *= alpha; c01 *= alpha; c10 *= alpha; c11 *= alpha; c20 *= alpha; c21 *= alpha
            c30 *= alpha; c31 *= alpha; c40 *= alpha; c41 *= alpha; c50 *= alpha; c51 *= alpha
        }
        @inline(__always) func put(_ value: SIMD16<Float>, _ target: UnsafeMutablePointer<Float>) {
            let raw = UnsafeMutableRawPointer(target)
            raw.storeBytes(of: overwrite ? value : UnsafeRawPointer(raw).loadUnaligned(as: SIMD16<Float>.self) + value,
                           as: SIMD16<Float>.self)
        }
        @inline(__always) func putRow(_ row: Int, _ lo: SIMD16<Float>, _ hi: SIMD16<Float>) {
            guard row < rows else { return }
            put(lo, c + row * ldc); put(hi, c + row * ldc + 16)
        }
        putRow(0, c00, c01); putRow(1, c10, c11); putRow(2, c20, c21); putRow(3, c30, c31); putRow(4, c40, c41); putRow(5, c50, c51)
    }
}
#endif

#if MLPKIT_AVX512
extension GEMMWorkspace {
    /// Two full row panels against two full column panels (12 × 32 of C), where both row panels are whole (6
    /// rows each) and both column panels full: 24 `SIMD16` accumulators (24 of the 32 zmm registers), two loads of
    /// B and twelve broadcasts of A per 24 multiply-adds. On the Ice Lake-class CPU this was tuned on, the 6 × 32
    /// kernel waited on its loads of B (one per six multiply-adds); twelve rows per load ran ~1.2× faster with
    /// the panels in cache. Each element of C sums its products along k in the same order as
    /// ``pairKernel(k:a:step:b0:b1:ldb:alpha:c:ldc:rows:overwrite:)``, so the results are the same bit for bit.
    @inline(__always)
    static func quadKernel(k: Int, a: RowPointers, a2: RowPointers, step: Int, b0: UnsafePointer<Float>, b1: UnsafePointer<Float>,
                           ldb: Int, alpha: Float, c: UnsafeMutablePointer<Float>, ldc: Int, overwrite: Bool) {
        let zero = SIMD16<Float>()
        var c00 = zero, c01 = zero, c10 = zero, c11 = zero, c20 = zero, c21 = zero
        var c30 = zero, c31 = zero, c40 = zero, c41 = zero, c50 = zero, c51 = zero
        var c60 = zero, c61 = zero, c70 = zero, c71 = zero, c80 = zero, c81 = zero
        var c90 = zero, c91 = zero, ca0 = zero, ca1 = zero, cb0 = zero, cb1 = zero
        let raw0 = UnsafeRawPointer(b0), raw1 = UnsafeRawPointer(b1), ldbBytes = ldb &* MemoryLayout<Float>.stride
        let a0 = a.0, a1 = a.1, a2r = a.2, a3 = a.3, a4 = a.4, a5 = a.5
        let a6 = a2.0, a7 = a2.1, a8 = a2.2, a9 = a2.3, a10 = a2.4, a11 = a2.5
        var offset = 0, byte = 0, p = 0
        while p < k {
            let l = raw0.loadUnaligned(fromByteOffset: byte, as: SIMD16<Float>.self)
            let h = raw1.loadUnaligned(fromByteOffset: byte, as: SIMD16<Float>.self)
            let v0 = SIMD16<Float>(repeating: a0[offset]); c00.addProduct(v0, l); c01.addProduct(v0, h)
            let v1 = SIMD16<Float>(repeating: a1[offset]); c10.addProduct(v1, l); c11.addProduct(v1, h)
            let v2 = SIMD16<Float>(repeating: a2r[offset]); c20.addProduct(v2, l); c21.addProduct(v2, h)
            let v3 = SIMD16<Float>(repeating: a3[offset]); c30.addProduct(v3, l); c31.addProduct(v3, h)
            let v4 = SIMD16<Float>(repeating: a4[offset]); c40.addProduct(v4, l); c41.addProduct(v4, h)
            let v5 = SIMD16<Float>(repeating: a5[offset]); c50.addProduct(v5, l); c51.addProduct(v5, h)
            let v6 = SIMD16<Float>(repeating: a6[offset]); c60.addProduct(v6, l); c61.addProduct(v6, h)
            let v7 = SIMD16<Float>(repeating: a7[offset]); c70.addProduct(v7, l); c71.addProduct(v7, h)
            let v8 = SIMD16<Float>(repeating: a8[offset]); c80.addProduct(v8, l); c81.addProduct(v8, h)
            let v9 = SIMD16<Float>(repeating: a9[offset]); c90.addProduct(v9, l); c91.addProduct(v9, h)
            let va = SIMD16<Float>(repeating: a10[offset]); ca0.addProduct(va, l); ca1.addProduct(va, h)
            let vb = SIMD16<Float>(repeating: a11[offset]); cb0.addProduct(vb, l); cb1.addProduct(vb, h)
            offset &+= step
            byte &+= ldbBytes
            p &+= 1
        }
        @inline(__always) func put(_ value: SIMD16<Float>, _ row: Int, _ column: Int) {
            let raw = UnsafeMutableRawPointer(c + (row &* ldc &+ column))
            let scaled = alpha == 1 ? value : value * alpha
            raw.storeBytes(of: overwrite ? scaled : UnsafeRawPointer(raw).loadUnaligned(as: SIMD16<Float>.self) + scaled,
                           as: SIMD16<Float>.self)
        }
        put(c00, 0, 0); put(c01, 0, 16); put(c10, 1, 0); put(c11, 1, 16); put(c20, 2, 0); put(c21, 2, 16)
        put(c30, 3, 0); put(c31, 3, 16); put(c40, 4, 0); put(c41, 4, 16); put(c50, 5, 0); put(c51, 5, 16)
        put(c60, 6, 0); put(c61, 6, 16); put(c70, 7, 0); put(c71, 7, 16); put(c80, 8, 0); put(c81, 8, 16)
        put(c90, 9, 0); put(c91, 9, 16); put(ca0, 10, 0); put(ca1, 10, 16); put(cb0, 11, 0); put(cb1, 11, 16)
    }

    /// ``quadKernel(k:a:a2:step:b0:b1:ldb:alpha:c:ldc:overwrite:)`` with the stride of B a constant where the
    /// panels are packed (`ldb == nr`).
    @inline(__always)
    static func runTileQuad(k: Int, a: RowPointers, a2: RowPointers, step: Int, b0: UnsafePointer<Float>, b1: UnsafePointer<Float>,
                            ldb: Int, alpha: Float, c: UnsafeMutablePointer<Float>, ldc: Int, overwrite: Bool) {
        if ldb == nr {
            quadKernel(k: k, a: a, a2: a2, step: step, b0: b0, b1: b1, ldb: nr, alpha: alpha, c: c, ldc: ldc, overwrite: overwrite)
        } else {
            quadKernel(k: k, a: a, a2: a2, step: step, b0: b0, b1: b1, ldb: ldb, alpha: alpha, c: c, ldc: ldc, overwrite: overwrite)
        }
    }
}
#endif
