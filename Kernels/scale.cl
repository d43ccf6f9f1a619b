// scale.cl — x[i] *= factor: C = β·C for a GEMM with k = 0, which CLBlast rejects.

__kernel void scale_buffer(__global float *x, const int n, const float factor) {
    int i = get_global_id(0);
    if (i >= n) return;
    x[i] = factor == 0.0f ? 0.0f : x[i] * factor;
}
