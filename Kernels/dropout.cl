// dropout.cl — inverted dropout with a regenerated mask: y = keep ? x/(1 − rate) : 0, keep = u ≥ rate, where u
// is value i of the Philox stream (seed, stream) from block `block` on: lane i % 4 of block block + i/4,
// exactly as MLPCore's PhiloxRandom(seed:stream:blockIndex:) draws it. The backward pass runs the same
// kernel on dY with the same arguments, so the CPU and the device drop the same units and nothing is stored.

__kernel void dropout(__global const float *x, __global float *y, const int n, const float rate, const uint seed_lo,
                      const uint seed_hi, const uint stream_lo, const uint stream_hi, const uint block_lo, const uint block_hi) {
    int i = get_global_id(0);
    if (i >= n) return;
    ulong block = ((ulong)block_hi << 32 | (ulong)block_lo) + (ulong)(i / 4);
    uint4 bits = philox4x32_10((uint4)((uint)block, (uint)(block >> 32), stream_lo, stream_hi), (uint2)(seed_lo, seed_hi));
    uint lane = i % 4 == 0 ? bits.x : i % 4 == 1 ? bits.y : i % 4 == 2 ? bits.z : bits.w;
    float u = (float)(lane >> 8) * (1.0f / 16777216.0f);
    y[i] = u >= rate ? x[i] * (1.0f / (1.0f - rate)) : 0.0f;
}
