// activations.cl — element-wise activations and their derivatives, shared by the kernels below.
//
// Branches are named by the ACT_* macros (ACT_RELU, ACT_LEAKY_RELU, …: the Keras name in capitals), which the host
// defines from Swift's `Activation.allCases` when it builds the program (OpenCLKernelSelectors.swift); softmax is
// row-wise, handled by the callers. Constants as in Keras 3.

#define SELU_ALPHA 1.6732632423543772f
#define SELU_SCALE 1.0507009873554805f
#define LEAKY_SLOPE 0.2f

float stable_sigmoid(float z) {
    if (z >= 0.0f) return 1.0f / (1.0f + exp(-z));
    float e = exp(z);
    return e / (1.0f + e);
}

float softplus_value(float z) { return fmax(z, 0.0f) + log1p(exp(-fabs(z))); }

float activation_value(float z, int kind) {
    switch (kind) {
    case ACT_RELU: return z > 0.0f ? z : 0.0f;
    case ACT_SIGMOID: return stable_sigmoid(z);
    case ACT_TANH: return tanh(z);
    case ACT_SOFTPLUS: return fmax(z, 0.0f) + log1p(exp(-fabs(z)));
    case ACT_SOFTSIGN: return z / (fabs(z) + 1.0f);
    case ACT_ELU: return z > 0.0f ? z : expm1(z);
    case ACT_SELU: return SELU_SCALE * (z > 0.0f ? z : SELU_ALPHA * expm1(z));
    case ACT_GELU: return 0.5f * z * (1.0f + erf(z * 0.70710678118654752f));
    case ACT_SILU: return z * stable_sigmoid(z);
    case ACT_LEAKY_RELU: return z > 0.0f ? z : LEAKY_SLOPE * z;
    case ACT_RELU6: return fmin(fmax(z, 0.0f), 6.0f);
    case ACT_HARD_SIGMOID: return fmin(fmax(z + 3.0f, 0.0f), 6.0f) / 6.0f;
    case ACT_EXPONENTIAL: return exp(z);
    case ACT_MISH: return z * tanh(softplus_value(z));
    case ACT_LINEAR:
    case ACT_SOFTMAX:  // row-wise: the callers run their own kernels
    default: return z;
    }
}

// f'(z) given z and y = f(z); not for softmax.
float activation_derivative(float z, float y, int kind) {
    switch (kind) {
    case ACT_RELU: return z > 0.0f ? 1.0f : 0.0f;
    case ACT_SIGMOID: return y * (1.0f - y);
    case ACT_TANH: return 1.0f - y * y;
    case ACT_SOFTPLUS: return stable_sigmoid(z);
    case ACT_SOFTSIGN: { float d = 1.0f + fabs(z); return 1.0f / (d * d); }
    case ACT_ELU: return z > 0.0f ? 1.0f : y + 1.0f;
    case ACT_SELU: return z > 0.0f ? SELU_SCALE : SELU_SCALE * SELU_ALPHA * exp(z);
    case ACT_GELU: return 0.5f * (1.0f + erf(z * 0.70710678118654752f)) + z * 0.39894228040143268f * exp(-0.5f * z * z);
    case ACT_SILU: { float s = stable_sigmoid(z); return s + z * s * (1.0f - s); }
    case ACT_LEAKY_RELU: return z > 0.0f ? 1.0f : LEAKY_SLOPE;
    case ACT_RELU6: return (z > 0.0f && z < 6.0f) ? 1.0f : 0.0f;
    case ACT_HARD_SIGMOID: return (z > -3.0f && z < 3.0f) ? 1.0f / 6.0f : 0.0f;
    case ACT_EXPONENTIAL: return y;
    case ACT_MISH: { float t = tanh(softplus_value(z)); return t + z * (1.0f - t * t) * stable_sigmoid(z); }
    case ACT_LINEAR:
    case ACT_SOFTMAX:
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
