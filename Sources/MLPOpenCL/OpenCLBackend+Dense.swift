import COpenCL
import MLPCore

/// The shape of a GEMM call, for caching CLBlast's temporary-buffer size.
struct GEMMShape: Hashable {
    let transA: Bool, transB: Bool, m: Int, n: Int, k: Int
}

/// GEMM through CLBlast and column sums (``BackendDense``; Kernels/dense.cl).
extension OpenCLBackend {
    /// Row-major GEMM through `CLBlastSgemmWithTempBuffer` (no hidden allocations); `k = 0` scales `C` by
    /// `beta` (CLBlast rejects empty products).
    public func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: DeviceBuffer, b: DeviceBuffer, beta: Float, c: DeviceBuffer) {
        precondition(a.count >= m * k && b.count >= k * n && c.count >= m * n,
                     "gemm: buffers (\(a.count), \(b.count), \(c.count)) too small for m=\(m) n=\(n) k=\(k)")
        guard m > 0, n > 0, !failed else { return }
        if k == 0 {
            launch("scale_buffer", items: m * n, [.buffer(c), .int(m * n), .float(beta)])
            return
        }
        guard let aMemory = memory(a), let bMemory = memory(b), let cMemory = memory(c) else { return }
        let lda = transA ? m : k, ldb = transB ? k : n, ldc = n
        let layout = CLBlastLayoutRowMajor
        let ta = transA ? CLBlastTransposeYes : CLBlastTransposeNo
        let tb = transB ? CLBlastTransposeYes : CLBlastTransposeNo
        var commandQueue: cl_command_queue? = queue
        let shape = GEMMShape(transA: transA, transB: transB, m: m, n: n, k: k)
        let temporaryBytes: Int
        if let known = gemmTemporarySizes[shape] {
            temporaryBytes = known
        } else {
            var size = 0
            let status = CLBlastSGemmTempBufferSize(layout, ta, tb, m, n, k, 0, lda, 0, ldb, 0, ldc, &commandQueue, &size)
            guard status == CLBlastSuccess else {
                record(.deviceFailure("CLBlast error on \(device.name): CLBlastSGemmTempBufferSize returned \(OpenCLStatus.clblastName(status))"))
                return
            }
            gemmTemporarySizes[shape] = size
            temporaryBytes = size
        }
        let temporaryCount = max(1, (temporaryBytes + 3) / 4)
        if gemmTemporary == nil || gemmTemporary!.count < temporaryCount {
            gemmTemporary = makeBuffer(count: temporaryCount) as? OpenCLBuffer
        }
        guard let temporary = gemmTemporary?.memory else { return }
        counts.launches += 1
        let status = CLBlastSgemmWithTempBuffer(layout, ta, tb, m, n, k, alpha, aMemory, 0, lda, bMemory, 0, ldb,
                                                beta, cMemory, 0, ldc, &commandQueue, nil, temporary)
        if status != CLBlastSuccess {
            record(.deviceFailure("CLBlast error on \(device.name): CLBlastSgemm(m=\(m), n=\(n), k=\(k)) returned \(OpenCLStatus.clblastName(status))"))
        }
    }

    public func columnSums(_ matrix: DeviceBuffer, rows: Int, columns: Int, into out: DeviceBuffer) {
        launch("column_sums", items: columns, [.buffer(matrix), .buffer(out), .int(rows), .int(columns)])
    }
}
