// activation_backward.cl — dZ = f'(Z) ⊙ dY; for softmax dZ = Y ⊙ (dY − Σ_j dY_j·Y_j) per row.
//
// Layout: all (rows, columns) row-major. Element-wise: one work-item per element; softmax: one per row.

__kernel void activation_backward(__global const float *dy, __global const float *z, __global const float *y,
                                  __global float *dz, const int n, const int kind) {
    int i = get_global_id(0);
    if (i >= n) return;
    dz[i] = dy[i] * activation_derivative(z[i], y[i], kind);
}

__kernel void softmax_backward(__global const float *dy, __global const float *y, __global float *dz,
                               const int rows, const int columns) {
    int r = get_global_id(0);
    if (r >= rows) return;
    int o = r * columns;
    float dot = 0.0f;
    for (int j = 0; j < columns; j++) dot += dy[o + j] * y[o + j];
    for (int j = 0; j < columns; j++) dz[o + j] = y[o + j] * (dy[o + j] - dot);
}
