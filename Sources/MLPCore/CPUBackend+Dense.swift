/// GEMM and column sums (``BackendDense``): the packed GEMM (``GEMMWorkspace``: CPUGEMMWorkspace.swift,
/// CPUGEMMKernels.swift) and column sums in `SIMD8` lanes, bit-identical to the reference.
extension CPUBackend {
    /// `C = alpha·op(A)·op(B) + beta·C`, optimised (see `GEMMWorkspace`, CPUGEMMWorkspace.swift); equal to
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
        // one column panel: 2^22). Lower thresholds measured slower, both on the seed's small products and on the
        // mnist training.
        let parallel = pool != nil && m * n * k >= (columnPanels == 1 ? 1 << 22 : 1 << 20) && (work.splitColumns ? columnPanels : rowPanels) > 1
        if work.splitColumns {
            work.nextGroup.store(0, ordering: .relaxed)
            #if MLPKIT_AVX512
            // Two row panels or more: op(A) packed whole beforehand (every k-block), so that the 12 × 32 kernel
            // reads two contiguous panels rather than twelve rows of A in place; not for products of at most
            // `inPlaceColumnPanels` column panels (the seed's), whose A would be used only that often (the rule
            // of the row split).
            work.aPackedWhole = rowPanels >= 2 && columnPanels > GEMMWorkspace.inPlaceColumnPanels
            if work.aPackedWhole {
                work.reserve(a: rowPanels * mr * k, b: 0)
                if parallel, let pool { pool.run(packWholeATask) } else { work.packWholeA(participant: 0, participants: 1) }
            }
            #endif
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
            if parallel, let pool {
                pool.run(packTask)
                pool.run(rowTask)
            } else {
                work.packShared()
                work.computeRows(participant: 0, participants: 1)
            }
            p0 += kLength
        }
    }

    public func columnSums(_ matrix: DeviceBuffer, rows: Int, columns: Int, into out: DeviceBuffer) {
        CPUBackend.columnSumsVectorised(ptr(matrix), rows: rows, columns: columns, into: ptr(out))
    }

    /// ``CPUReference/columnSums(_:rows:columns:into:)``, 32 columns per pass over the rows in four `SIMD8` sums
    /// (four independent addition chains); every column's sum adds the rows in order, as the reference. The last
    /// `columns mod 8` columns come from a vector over the last 8 columns (the overlapping ones are summed twice,
    /// identically); matrices under 8 columns wide are scalar.
    static func columnSumsVectorised(_ matrix: UnsafePointer<Float>, rows: Int, columns: Int, into out: UnsafeMutablePointer<Float>) {
        guard columns >= 8 else {
            for j in 0..<columns {
                var sum: Float = 0
                for i in 0..<rows { sum += matrix[i * columns + j] }
                out[j] = sum
            }
            return
        }
        let vectors = (columns + 7) / 8
        // Vector v covers columns offset(v) ..< +8; the last one may start before 8·v.
        func offset(_ v: Int) -> Int { min(min(v, vectors - 1) * 8, columns - 8) }
        var v = 0
        while v < vectors {
            let o0 = offset(v), o1 = offset(v + 1), o2 = offset(v + 2), o3 = offset(v + 3)
            var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
            for i in 0..<rows {
                let row = matrix + i * columns
                s0 += load(row + o0)
                s1 += load(row + o1)
                s2 += load(row + o2)
                s3 += load(row + o3)
            }
            store(s0, out + o0)
            store(s1, out + o1)
            store(s2, out + o2)
            store(s3, out + o3)
            v += 4
        }
    }
}
