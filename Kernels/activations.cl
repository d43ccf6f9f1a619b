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
