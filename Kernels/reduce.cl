// reduce.cl — accumulator[index] += scale · Σ_{i<n} term(values[i]), on the device, so loss and metric sums,
// norms and regularization penalties are read back only when the host asks.
//
// Terms by mode, the SUM_* macros the host defines from Swift's `SumTerm`: SUM_VALUE v (loss and metric sums),
// SUM_SQUARE v² (gradient norms), SUM_PENALTY l1·|v| + l2·v² (penalties).
// One work-group of REDUCE_WG work-items: each sums a strided slice, then a tree reduction in local memory;
// work-item 0 adds the total. The queue is in order, so no atomics are needed.

#ifndef REDUCE_WG
#define REDUCE_WG 256
#endif

__kernel __attribute__((reqd_work_group_size(REDUCE_WG, 1, 1)))
void accumulate_sum(__global const float *values, const int n, __global float *accumulator, const int index,
                    const int mode, const float l1, const float l2, const float scale) {
    __local float partial[REDUCE_WG];
    int lid = get_local_id(0);
    float sum = 0.0f;
    for (int i = lid; i < n; i += REDUCE_WG) {
        float v = values[i];
        sum += mode == SUM_VALUE ? v : mode == SUM_SQUARE ? v * v : mode == SUM_PENALTY ? l1 * fabs(v) + l2 * v * v : 0.0f;
    }
    partial[lid] = sum;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = REDUCE_WG / 2; stride > 0; stride /= 2) {
        if (lid < stride) partial[lid] += partial[lid + stride];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) accumulator[index] += scale * partial[0];
}
