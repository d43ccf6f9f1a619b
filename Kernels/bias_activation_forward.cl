// bias_activation_forward.cl — Z += bias (broadcast over rows), then Y = f(Z).
//
// Layout: Z, Y row-major (rows, columns); bias (columns) or absent (has_bias = 0).
// Element-wise activations: one work-item per element (global = rows·columns, rounded up).
// Softmax: one work-item per row (max, exp-sum, normalise), see bias_softmax_forward.

__kernel void bias_activation_forward(__global float *z, __global const float *bias, const int has_bias,
                                      __global float *y, const int rows, const int columns, const int kind) {
    int i = get_global_id(0);
    if (i >= rows * columns) return;
    float value = z[i];
    if (has_bias) { value += bias[i % columns]; z[i] = value; }
    y[i] = activation_value(value, kind);
}

__kernel void bias_softmax_forward(__global float *z, __global const float *bias, const int has_bias,
                                   __global float *y, const int rows, const int columns) {
    int r = get_global_id(0);
    if (r >= rows) return;
    __global float *zr = z + r * columns;
    __global float *yr = y + r * columns;
    if (has_bias) { for (int j = 0; j < columns; j++) zr[j] += bias[j]; }
    float maximum = -INFINITY;
    for (int j = 0; j < columns; j++) maximum = fmax(maximum, zr[j]);
    float sum = 0.0f;
    for (int j = 0; j < columns; j++) { yr[j] = exp(zr[j] - maximum); sum += yr[j]; }
    for (int j = 0; j < columns; j++) yr[j] /= sum;
}
