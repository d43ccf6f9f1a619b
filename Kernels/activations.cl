// activations.cl — element-wise activations and their derivatives, shared by the kernels below.
//
// Codes (must match `Activation.kernelCode` in MLPOpenCL): 0 linear, 1 relu, 2 sigmoid, 3 tanh, 4 softmax
// (row-wise, handled by the callers), 5 softplus, 6 softsign, 7 elu, 8 selu, 9 gelu, 10 silu, 11 leaky_relu,
// 12 relu6, 13 hard_sigmoid, 14 exponential. Constants as in Keras 3.

#define SELU_ALPHA 1.6732632423543772f
#define SELU_SCALE 1.0507009873554805f
#define LEAKY_SLOPE 0.2f

float stable_sigmoid(float z) {
    if (z >= 0.0f) return 1.0f / (1.0f + exp(-z));
    float e = exp(z);
    return e / (1.0f + e);
}

float activation_value(float z, int kind) {
    switch (kind) {
    case 1: return z > 0.0f ? z : 0.0f;
    case 2: return stable_sigmoid(z);
    case 3: return tanh(z);
    case 5: return fmax(z, 0.0f) + log1p(exp(-fabs(z)));
    case 6: return z / (fabs(z) + 1.0f);
    case 7: return z > 0.0f ? z : expm1(z);
    case 8: return SELU_SCALE * (z > 0.0f ? z : SELU_ALPHA * expm1(z));
    case 9: return 0.5f * z * (1.0f + erf(z * 0.70710678118654752f));
    case 10: return z * stable_sigmoid(z);
    case 11: return z > 0.0f ? z : LEAKY_SLOPE * z;
    case 12: return fmin(fmax(z, 0.0f), 6.0f);
    case 13: return fmin(fmax(z + 3.0f, 0.0f), 6.0f) / 6.0f;
    case 14: return exp(z);
    default: return z;
    }
}

// f'(z) given z and y = f(z); not for softmax.
float activation_derivative(float z, float y, int kind) {
    switch (kind) {
    case 1: return z > 0.0f ? 1.0f : 0.0f;
    case 2: return y * (1.0f - y);
    case 3: return 1.0f - y * y;
    case 5: return stable_sigmoid(z);
    case 6: { float d = 1.0f + fabs(z); return 1.0f / (d * d); }
    case 7: return z > 0.0f ? 1.0f : y + 1.0f;
    case 8: return z > 0.0f ? SELU_SCALE : SELU_SCALE * SELU_ALPHA * exp(z);
    case 9: return 0.5f * (1.0f + erf(z * 0.70710678118654752f)) + z * 0.39894228040143268f * exp(-0.5f * z * z);
    case 10: { float s = stable_sigmoid(z); return s + z * s * (1.0f - s); }
    case 11: return z > 0.0f ? 1.0f : LEAKY_SLOPE;
    case 12: return (z > 0.0f && z < 6.0f) ? 1.0f : 0.0f;
    case 13: return (z > -3.0f && z < 3.0f) ? 1.0f / 6.0f : 0.0f;
    case 14: return y;
    default: return 1.0f;
    }
}

// bias_activation_forward — Z += bias (broadcast over rows), then Y = f(Z).
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

// activation_backward — dZ = f'(Z) ⊙ dY; for softmax dZ = Y ⊙ (dY − Σ_j dY_j·Y_j) per row.
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
