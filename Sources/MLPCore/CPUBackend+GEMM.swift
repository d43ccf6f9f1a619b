import Dispatch

extension CPUBackend {
    /// Rows of `C` handed to one task; large enough that a task amortises its start.
    static let rowBlock = 16

    /// `C = alpha·op(A)·op(B) + beta·C`, optimised: `op(B)` is packed once into a contiguous (k, n)
    /// panel, then each row of `C` is built as `Σ_p a_ip · B_p` with the inner loop over `n` in
    /// `SIMD8<Float>` registers (row `i` of `C` stays in L1 while `B` streams). Row blocks run on
    /// `threadCount` threads when the product is large enough to pay for it.
    ///
    /// The result equals ``CPUReference/gemm(transA:transB:m:n:k:alpha:a:b:beta:c:)`` up to float
    /// rounding (the sum over `k` is taken in the same order, eight columns at a time).
    public func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: DeviceBuffer, b: DeviceBuffer, beta: Float, c: DeviceBuffer) {
        precondition(m >= 0 && n >= 0 && k >= 0, "gemm: negative dimension")
        precondition(a.count >= m * k && b.count >= k * n && c.count >= m * n,
                     "gemm: buffers (\(a.count), \(b.count), \(c.count)) too small for m=\(m) n=\(n) k=\(k)")
        guard m > 0, n > 0 else { return }
        let aPointer = UnsafePointer(ptr(a))
        let cPointer = ptr(c)
        // Pack op(B) as row-major (k, n).
        let bPanel: UnsafePointer<Float>
        if transB {
            if packedCapacity < k * n {
                packed.deallocate()
                packedCapacity = k * n
                packed = .allocate(capacity: packedCapacity)
            }
            let source = ptr(b)
            for j in 0..<n {
                for p in 0..<k { packed[p * n + j] = source[j * k + p] }
            }
            bPanel = UnsafePointer(packed)
        } else {
            bPanel = UnsafePointer(ptr(b))
        }
        let blocks = (m + CPUBackend.rowBlock - 1) / CPUBackend.rowBlock
        let work = m * n * k
        let body: (Int) -> Void = { block in
            let start = block * CPUBackend.rowBlock
            let end = min(m, start + CPUBackend.rowBlock)
            for i in start..<end {
                CPUBackend.gemmRow(i: i, transA: transA, m: m, n: n, k: k, alpha: alpha, a: aPointer,
                                   b: bPanel, beta: beta, c: cPointer + i * n)
            }
        }
        if threadCount > 1 && blocks > 1 && work >= 1 << 18 {
            DispatchQueue.concurrentPerform(iterations: blocks, execute: body)
        } else {
            for block in 0..<blocks { body(block) }
        }
    }

    /// One row of `C`: `c = beta·c + alpha·Σ_p op(A)[i, p] · B[p, :]`.
    @inline(__always)
    static func gemmRow(i: Int, transA: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>,
                        b: UnsafePointer<Float>, beta: Float, c: UnsafeMutablePointer<Float>) {
        if beta == 0 {
            c.update(repeating: 0, count: n)
        } else if beta != 1 {
            for j in 0..<n { c[j] *= beta }
        }
        // Accumulate alpha·op(A)·B into a temporary-free row: vector part then tail.
        let vectorEnd = n & ~7
        let rawC = UnsafeMutableRawPointer(c)
        for p in 0..<k {
            let aValue = alpha * (transA ? a[p * m + i] : a[i * k + p])
            if aValue == 0 { continue }
            let bRow = b + p * n
            let rawB = UnsafeRawPointer(bRow)
            let splat = SIMD8<Float>(repeating: aValue)
            var j = 0
            while j < vectorEnd {
                let offset = j * MemoryLayout<Float>.stride
                let cv = rawC.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
                let bv = rawB.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
                rawC.storeBytes(of: cv + splat * bv, toByteOffset: offset, as: SIMD8<Float>.self)
                j += 8
            }
            while j < n {
                c[j] += aValue * bRow[j]
                j += 1
            }
        }
    }
}
