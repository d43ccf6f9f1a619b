// normalization.cl — BatchNormalization over the rows of (rows, columns) row-major data, Keras defaults.
//
// Training (one work-item per column): μ, biased σ², s = 1/√(σ² + ε), x̂ = (x − μ)·s, y = γ·x̂ + β; keeps x̂ and s
// for the backward pass; moving statistics m = m·momentum + μ·(1 − momentum), v likewise with σ².
// Inference (one work-item per element): y = γ·(x − m)/√(v + ε) + β.
// Backward (one work-item per column): dγ = Σ dy·x̂, dβ = Σ dy, dx = (γ·s/N)·(N·dy − Σdy − x̂·Σ(dy·x̂)).

__kernel void batch_norm_training(__global const float *x, __global float *y, __global float *xhat, __global float *inv_std,
                                  __global const float *gamma, __global const float *beta, __global float *moving_mean,
                                  __global float *moving_var, const int rows, const int columns, const float momentum,
                                  const float epsilon) {
    int j = get_global_id(0);
    if (j >= columns) return;
    float n = (float)rows;
    float mean = 0.0f;
    for (int r = 0; r < rows; r++) mean += x[r * columns + j];
    mean /= n;
    float variance = 0.0f;
    for (int r = 0; r < rows; r++) { float d = x[r * columns + j] - mean; variance += d * d; }
    variance /= n;
    float s = 1.0f / sqrt(variance + epsilon);
    inv_std[j] = s;
    for (int r = 0; r < rows; r++) {
        int o = r * columns + j;
        float h = (x[o] - mean) * s;
        xhat[o] = h;
        y[o] = gamma[j] * h + beta[j];
    }
    moving_mean[j] = moving_mean[j] * momentum + mean * (1.0f - momentum);
    moving_var[j] = moving_var[j] * momentum + variance * (1.0f - momentum);
}

__kernel void batch_norm_inference(__global const float *x, __global float *y, __global const float *gamma,
                                   __global const float *beta, __global const float *moving_mean,
                                   __global const float *moving_var, const int rows, const int columns, const float epsilon) {
    int i = get_global_id(0);
    if (i >= rows * columns) return;
    int j = i % columns;
    y[i] = gamma[j] * (x[i] - moving_mean[j]) / sqrt(moving_var[j] + epsilon) + beta[j];
}

__kernel void batch_norm_backward(__global const float *dy, __global const float *xhat, __global const float *inv_std,
                                  __global const float *gamma, __global float *dx, __global float *dgamma, __global float *dbeta,
                                  const int rows, const int columns) {
    int j = get_global_id(0);
    if (j >= columns) return;
    float n = (float)rows;
    float sum_dy = 0.0f, sum_dy_xhat = 0.0f;
    for (int r = 0; r < rows; r++) {
        int o = r * columns + j;
        sum_dy += dy[o];
        sum_dy_xhat += dy[o] * xhat[o];
    }
    dgamma[j] = sum_dy_xhat;
    dbeta[j] = sum_dy;
    float factor = gamma[j] * inv_std[j] / n;
    for (int r = 0; r < rows; r++) {
        int o = r * columns + j;
        dx[o] = factor * (n * dy[o] - sum_dy - xhat[o] * sum_dy_xhat);
    }
}
