import Foundation

/// Fixed worker threads for the CPU backend's GEMM: started once, woken per product, so a product allocates
/// nothing (no closures, no dispatch blocks). The caller takes part; `workers.count + 1` threads in all.
final class GEMMWorkerPool {
    private let condition = NSCondition()
    private var generation = 0
    private var pending = 0
    private var job: ((Int, Int) -> Void)?
    private var stopping = false
    let participants: Int

    /// Starts `count` threads; they hold the pool until ``stop()``.
    init(threads count: Int) {
        participants = count + 1
        for index in 0..<count {
            let thread = Thread { self.work(index: index + 1) }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Ends the worker threads (the owner calls this when it goes away).
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    private func work(index: Int) {
        var seen = 0
        while true {
            condition.lock()
            while generation == seen && !stopping { condition.wait() }
            if stopping {
                condition.unlock()
                return
            }
            seen = generation
            let task = job
            condition.unlock()
            task?(index, participants)
            condition.lock()
            pending -= 1
            if pending == 0 { condition.broadcast() }
            condition.unlock()
        }
    }

    /// Runs `task(participant, participants)` on every participant (the caller is participant 0) and waits.
    /// `task` must stay alive until this returns; it is not copied, so passing a stored method allocates nothing.
    func run(_ task: @escaping (Int, Int) -> Void) {
        condition.lock()
        job = task
        pending = participants - 1
        generation += 1
        condition.broadcast()
        condition.unlock()
        task(0, participants)
        condition.lock()
        while pending > 0 { condition.wait() }
        job = nil
        condition.unlock()
    }
}

/// The packed, register-blocked GEMM of ``CPUBackend``.
///
/// Layout (GotoBLAS style): for each block of `kc` along k, `op(B)` is packed into column panels of `nr`
/// (k-major, zero-padded) and `alpha·op(A)` into row panels of `mr`; a micro-kernel keeps an `mr × nr` tile of
/// C in `SIMD8` registers (`4 × 2` vectors) across the block. Transposes are handled by the packing, so all
/// three Dense products (`X·W`, `Xᵀ·dZ`, `dZ·Wᵀ`) run the same kernel. Row panels are shared among the worker
/// pool's threads when the product is large enough.
final class GEMMWorkspace {
    static let mr = 4, nr = 16, kc = 256
    var packedA: UnsafeMutablePointer<Float>
    var packedACapacity = 0
    var packedB: UnsafeMutablePointer<Float>
    var packedBCapacity = 0
    // The product being computed (read by the pool's workers).
    var m = 0, n = 0, kLength = 0, rowPanels = 0, columnPanels = 0
    var c: UnsafeMutablePointer<Float>?

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

    /// The tiles of row panels `participant, participant + participants, …` for the current k-block.
    func computeRows(participant: Int, participants: Int) {
        let mr = GEMMWorkspace.mr, nr = GEMMWorkspace.nr
        guard let c else { return }
        var panel = participant
        while panel < rowPanels {
            let a = packedA + panel * kLength * mr
            let row0 = panel * mr
            let rows = min(mr, m - row0)
            for column in 0..<columnPanels {
                let b = packedB + column * kLength * nr
                let col0 = column * nr
                GEMMWorkspace.microKernel(k: kLength, a: a, b: b, c: c + row0 * n + col0, ldc: n, rows: rows, columns: min(nr, n - col0))
            }
            panel += participants
        }
    }

    /// `C[0..<rows, 0..<columns] += A_panel · B_panel` over `k`: A panel k-major `mr` wide, B panel k-major
    /// `nr` wide. Eight `SIMD8` accumulators hold the 4×16 tile.
    @inline(__always)
    static func microKernel(k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int,
                            rows: Int, columns: Int) {
        var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
        var c20 = SIMD8<Float>(), c21 = SIMD8<Float>(), c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
        let rawB = UnsafeRawPointer(b)
        for p in 0..<k {
            let b0 = rawB.loadUnaligned(fromByteOffset: p * 64, as: SIMD8<Float>.self)
            let b1 = rawB.loadUnaligned(fromByteOffset: p * 64 + 32, as: SIMD8<Float>.self)
            let ap = a + p * 4
            let a0 = SIMD8<Float>(repeating: ap[0]), a1 = SIMD8<Float>(repeating: ap[1])
            let a2 = SIMD8<Float>(repeating: ap[2]), a3 = SIMD8<Float>(repeating: ap[3])
            c00 += a0 * b0; c01 += a0 * b1
            c10 += a1 * b0; c11 += a1 * b1
            c20 += a2 * b0; c21 += a2 * b1
            c30 += a3 * b0; c31 += a3 * b1
        }
        if rows == 4 && columns == 16 {
            let raw = UnsafeMutableRawPointer(c)
            func add(_ row: Int, _ lo: SIMD8<Float>, _ hi: SIMD8<Float>) {
                let offset = row * ldc * 4
                raw.storeBytes(of: raw.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self) + lo, toByteOffset: offset, as: SIMD8<Float>.self)
                raw.storeBytes(of: raw.loadUnaligned(fromByteOffset: offset + 32, as: SIMD8<Float>.self) + hi, toByteOffset: offset + 32,
                               as: SIMD8<Float>.self)
            }
            add(0, c00, c01); add(1, c10, c11); add(2, c20, c21); add(3, c30, c31)
            return
        }
        // An edge tile: add only the rows and columns inside C (no temporary array: nothing allocated).
        func addPartial(_ row: Int, _ lo: SIMD8<Float>, _ hi: SIMD8<Float>) {
            guard row < rows else { return }
            for column in 0..<columns { c[row * ldc + column] += column < 8 ? lo[column] : hi[column - 8] }
        }
        addPartial(0, c00, c01); addPartial(1, c10, c11); addPartial(2, c20, c21); addPartial(3, c30, c31)
    }
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
        if beta == 0 {
            cPointer.update(repeating: 0, count: m * n)
        } else if beta != 1 {
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
        let parallel = pool != nil && m * n * k >= 1 << 18 && rowPanels > 1
        var p0 = 0
        while p0 < k {
            let kLength = min(kc, k - p0)
            work.kLength = kLength
            // Pack op(B)[p0..<p0+kLength, :] into k-major panels of nr columns.
            let packedB = work.packedB
            for panel in 0..<columnPanels {
                let base = packedB + panel * kLength * nr
                let col0 = panel * nr
                for p in 0..<kLength {
                    let row = base + p * nr
                    for jj in 0..<nr {
                        let j = col0 + jj
                        row[jj] = j < n ? (transB ? bPointer[j * k + p0 + p] : bPointer[(p0 + p) * n + j]) : 0
                    }
                }
            }
            // Pack alpha·op(A)[:, p0..<p0+kLength] into k-major panels of mr rows.
            let packedA = work.packedA
            for panel in 0..<rowPanels {
                let base = packedA + panel * kLength * mr
                let row0 = panel * mr
                for p in 0..<kLength {
                    let column = base + p * mr
                    for ii in 0..<mr {
                        let i = row0 + ii
                        column[ii] = i < m ? alpha * (transA ? aPointer[(p0 + p) * m + i] : aPointer[i * k + p0 + p]) : 0
                    }
                }
            }
            if parallel, let pool {
                pool.run(rowTask)
            } else {
                work.computeRows(participant: 0, participants: 1)
            }
            p0 += kLength
        }
    }
}
