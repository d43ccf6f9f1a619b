// regularization.cl — gradient clipping as Keras 3 does it (the norm read on the device), and the L1/L2 penalty gradient.
//
// clip_by_norm: x = x·c / max(√s, c), s = sums[index] (Σx² for clipnorm, Σ over all gradients for
// global_clipnorm), accumulated by accumulate_sum (reduce.cl, mode 1). clip_by_value: clamp to ±limit.

__kernel void clip_by_norm(__global float *x, const int n, __global const float *sums, const int index, const float clip_norm) {
    int i = get_global_id(0);
    if (i >= n) return;
    float s = sums[index];
    float norm = s > 0.0f ? sqrt(s) : 0.0f;
    x[i] = x[i] * clip_norm / fmax(norm, clip_norm);
}

__kernel void clip_by_value(__global float *x, const int n, const float limit) {
    int i = get_global_id(0);
    if (i >= n) return;
    x[i] = fmin(fmax(x[i], -limit), limit);
}

// regularization_gradient — the gradient of Keras' L1/L2 penalties, added to a weight's gradient:
// g += l1·sign(w) + 2·l2·w (sign(0) = 0). The penalty itself is accumulate_sum mode 2 (reduce.cl).

__kernel void regularization_gradient(__global const float *w, __global float *g, const int n, const float l1, const float l2) {
    int i = get_global_id(0);
    if (i >= n) return;
    float wi = w[i];
    float sign = wi > 0.0f ? 1.0f : (wi < 0.0f ? -1.0f : 0.0f);
    g[i] += l1 * sign + 2.0f * l2 * wi;
}
