/// The products of a Dense layer and its bias gradient.
public protocol BackendDense: AnyObject {
    /// `C = alpha·op(A)·op(B) + beta·C` with `op(A)` of shape (m, k), `op(B)` (k, n), `C` (m, n), all
    /// row-major; `transA` means `A` is stored as (k, m), `transB` that `B` is stored as (n, k).
    func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
              a: DeviceBuffer, b: DeviceBuffer, beta: Float, c: DeviceBuffer)

    /// `out[j] = Σ_i M[i, j]`: the bias gradient from `dZ` (rows, columns).
    func columnSums(_ matrix: DeviceBuffer, rows: Int, columns: Int, into out: DeviceBuffer)
}
