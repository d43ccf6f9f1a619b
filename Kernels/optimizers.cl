// optimizers.cl — one element-wise kernel per optimizer step, formulas as in Keras 3 (see
// KERAS-REFERENCE.md). One work-item per weight; scalars (learning rate, step size) come from the host,
// which knows the iteration count, so nothing is read back.

// SGD: without momentum w −= lr·g; with momentum v = μv − lr·g, then w += v (Nesterov: w += μv − lr·g).
__kernel void sgd_update(__global float *w, __global const float *g, __global float *v, const int has_velocity,
                         const int n, const float lr, const float momentum, const int nesterov) {
    int i = get_global_id(0);
    if (i >= n) return;
    if (!has_velocity) { w[i] -= lr * g[i]; return; }
    float velocity = momentum * v[i] - lr * g[i];
    v[i] = velocity;
    w[i] += nesterov ? momentum * velocity - lr * g[i] : velocity;
}

// Adam: m += (g − m)(1 − β1), v += (g² − v)(1 − β2), w −= step·m/(√v + ε), step = lr·√(1−β2ᵗ)/(1−β1ᵗ).
__kernel void adam_update(__global float *w, __global const float *g, __global float *m, __global float *v,
                          const int n, const float step, const float beta1, const float beta2, const float epsilon) {
    int i = get_global_id(0);
    if (i >= n) return;
    float gi = g[i];
    float mi = m[i] + (gi - m[i]) * (1.0f - beta1);
    float vi = v[i] + (gi * gi - v[i]) * (1.0f - beta2);
    m[i] = mi;
    v[i] = vi;
    w[i] -= step * mi / (sqrt(vi) + epsilon);
}

// RMSprop: v = ρv + (1 − ρ)g², w −= lr·g/√(v + ε).
__kernel void rmsprop_update(__global float *w, __global const float *g, __global float *v, const int n,
                             const float lr, const float rho, const float epsilon) {
    int i = get_global_id(0);
    if (i >= n) return;
    float vi = rho * v[i] + (1.0f - rho) * g[i] * g[i];
    v[i] = vi;
    w[i] -= lr * g[i] / sqrt(vi + epsilon);
}
