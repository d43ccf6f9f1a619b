// dense.cl — GEMM helpers and the bias gradient (GEMM itself is CLBlast).
//
// column_sums — out[j] = Σ_i M[i, j]: the bias gradient from dZ (rows, columns), row-major.
//
// One work-item per column walks the rows in order (coalesced across the work-group: neighbouring
// work-items read neighbouring columns of the same row). Batches are short, so this is not the bottleneck.

__kernel void column_sums(__global const float *m, __global float *out, const int rows, const int columns) {
    int j = get_global_id(0);
    if (j >= columns) return;
    float sum = 0.0f;
    for (int i = 0; i < rows; i++) sum += m[i * columns + j];
    out[j] = sum;
}

// scale — x[i] *= factor: C = β·C for a GEMM with k = 0, which CLBlast rejects.

__kernel void scale_buffer(__global float *x, const int n, const float factor) {
    int i = get_global_id(0);
    if (i >= n) return;
    x[i] = factor == 0.0f ? 0.0f : x[i] * factor;
}
