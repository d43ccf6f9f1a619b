// column_sums.cl — out[j] = Σ_i M[i, j]: the bias gradient from dZ (rows, columns), row-major.
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
