// optimizers.cl — one element-wise kernel per optimizer step, formulas as in Keras 3 (keras/src/optimizers/*.py,
// each written out above its kernel). One work-item per weight; scalars (learning rate, step size) come from the host,
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

// Adam: m += (g − m)(1 − β1), v += (g² − v)(1 − β2) (each stored as 0 under FLT_MIN), w −= step·m/(√v + ε),
// step = lr·√(1−β2ᵗ)/(1−β1ᵗ).
// AMSGrad (has_vmax): vmax = max(vmax, v) takes v's place in the step.
__kernel void adam_update(__global float *w, __global const float *g, __global float *m, __global float *v,
                          __global float *vmax, const int has_vmax, const int n, const float step, const float beta1,
                          const float beta2, const float epsilon) {
    int i = get_global_id(0);
    if (i >= n) return;
    float gi = g[i];
    float mi = m[i] + (gi - m[i]) * (1.0f - beta1);
    float vi = v[i] + (gi * gi - v[i]) * (1.0f - beta2);
    if (fabs(mi) < FLT_MIN) mi = 0.0f;  // subnormal moments stored as zero, as on the CPU backend
    if (fabs(vi) < FLT_MIN) vi = 0.0f;
    m[i] = mi;
    v[i] = vi;
    if (has_vmax) { vi = fmax(vmax[i], vi); vmax[i] = vi; }
    w[i] -= step * mi / (sqrt(vi) + epsilon);
}

// RMSprop: v = ρv + (1 − ρ)g²; centered: a = ρa + (1 − ρ)g and denominator v − a² + ε, else v + ε;
// Δ = lr·g/√denominator; with momentum: μbuf = μ·μbuf + Δ, w −= μbuf; else w −= Δ.
__kernel void rmsprop_update(__global float *w, __global const float *g, __global float *v, __global float *mom,
                             const int has_momentum, __global float *avg, const int centered, const int n, const float lr,
                             const float rho, const float momentum, const float epsilon) {
    int i = get_global_id(0);
    if (i >= n) return;
    float gi = g[i];
    float vi = rho * v[i] + (1.0f - rho) * (gi * gi);
    v[i] = vi;
    float denominator = vi + epsilon;
    if (centered) {
        float ai = rho * avg[i] + (1.0f - rho) * gi;
        avg[i] = ai;
        denominator = vi - ai * ai + epsilon;
    }
    float increment = lr * gi / sqrt(denominator);
    if (has_momentum) {
        float mi = momentum * mom[i] + increment;
        mom[i] = mi;
        w[i] -= mi;
    } else {
        w[i] -= increment;
    }
}

// Adagrad: acc += g², w −= lr·g/√(acc + ε).
__kernel void adagrad_update(__global float *w, __global const float *g, __global float *acc, const int n, const float lr,
                             const float epsilon) {
    int i = get_global_id(0);
    if (i >= n) return;
    float a = acc[i] + g[i] * g[i];
    acc[i] = a;
    w[i] -= lr * g[i] / sqrt(a + epsilon);
}

// Nadam (Keras 3): m, v as Adam (stored as 0 under FLT_MIN); m̂ = u_next·m/(1 − Π_next) + (1 − u_t)·g/(1 − Π_t); v̂ = v/(1 − β2ᵗ);
// w −= m̂·lr/(√v̂ + ε). The host computes the schedule scalars u_t, u_next, Π_t, Π_next, β2ᵗ.
__kernel void nadam_update(__global float *w, __global const float *g, __global float *m, __global float *v, const int n,
                           const float lr, const float beta1, const float beta2, const float epsilon, const float u_t,
                           const float u_next, const float product_t, const float product_next, const float beta2_power) {
    int i = get_global_id(0);
    if (i >= n) return;
    float gi = g[i];
    float mi = m[i] + (gi - m[i]) * (1.0f - beta1);
    float vi = v[i] + (gi * gi - v[i]) * (1.0f - beta2);
    if (fabs(mi) < FLT_MIN) mi = 0.0f;  // subnormal moments stored as zero, as Adam's and the CPU backend's
    if (fabs(vi) < FLT_MIN) vi = 0.0f;
    m[i] = mi;
    v[i] = vi;
    float m_hat = u_next * mi / (1.0f - product_next) + (1.0f - u_t) * gi / (1.0f - product_t);
    float v_hat = vi / (1.0f - beta2_power);
    w[i] -= m_hat * lr / (sqrt(v_hat) + epsilon);
}

// Decoupled weight decay (applied before the update): w −= w·decay·lr.
__kernel void decay_weights(__global float *w, const int n, const float decay, const float lr) {
    int i = get_global_id(0);
    if (i >= n) return;
    w[i] = w[i] - w[i] * decay * lr;
}
