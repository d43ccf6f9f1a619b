/// The reference GEMM and column sums (``BackendDense``).
extension CPUReference {
    /// `C = alpha·op(A)·op(B) + beta·C`; `A` is (m, k) or, transposed, stored (k, m); `B` is (k, n) or
    /// stored (n, k). The triple loop, accumulating in `Float` in the order of `k`.
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                            a: UnsafePointer<Float>, b: UnsafePointer<Float>, beta: Float, c: UnsafeMutablePointer<Float>) {
        for i in 0..<m {
            for j in 0..<n {
                var sum: Float = 0
                for p in 0..<k {
                    let aValue = transA ? a[p * m + i] : a[i * k + p]
                    let bValue = transB ? b[j * k + p] : b[p * n + j]
                    sum += aValue * bValue
                }
                let old = beta == 0 ? 0 : beta * c[i * n + j]
                c[i * n + j] = alpha * sum + old
            }
        }
    }

    /// `out[j] = Σ_i M[i, j]`.
    public static func columnSums(_ matrix: UnsafePointer<Float>, rows: Int, columns: Int, into out: UnsafeMutablePointer<Float>) {
        for j in 0..<columns { out[j] = 0 }
        for i in 0..<rows {
            for j in 0..<columns { out[j] += matrix[i * columns + j] }
        }
    }
}
