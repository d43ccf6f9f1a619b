// regularization.cl — the gradient of Keras' L1/L2 penalties, added to a weight's gradient:
// g += l1·sign(w) + 2·l2·w (sign(0) = 0). The penalty itself is accumulate_sum mode 2 (reduce.cl).

__kernel void regularization_gradient(__global const float *w, __global float *g, const int n, const float l1, const float l2) {
    int i = get_global_id(0);
    if (i >= n) return;
    float wi = w[i];
    float sign = wi > 0.0f ? 1.0f : (wi < 0.0f ? -1.0f : 0.0f);
    g[i] += l1 * sign + 2.0f * l2 * wi;
}
