// clipping.cl — gradient clipping as Keras 3 does it, with the norm read on the device.
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
