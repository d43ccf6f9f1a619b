// random.cl — Philox4x32-10 (Salmon et al., SC'11), bit-identical to MLPCore's Swift `Philox4x32`.
//
// A block is a pure function of a 128-bit counter and a 64-bit key. MLPKit's streams put the block index
// in counter words 0–1, the stream id in words 2–3 and the seed in the key; value i of a stream is lane
// i % 4 of block i / 4. Uniforms take the top 24 bits: (x >> 8) · 2⁻²⁴ ∈ [0, 1).

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

uint4 philox4x32_10(uint4 c, uint2 k) {
    for (int round = 0; round < 10; round++) {
        if (round > 0) { k.x += PHILOX_W0; k.y += PHILOX_W1; }
        uint hi0 = mul_hi(PHILOX_M0, c.x), lo0 = PHILOX_M0 * c.x;
        uint hi1 = mul_hi(PHILOX_M1, c.z), lo1 = PHILOX_M1 * c.z;
        c = (uint4)(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    }
    return c;
}

// out[i] = low + (high − low) · uniform_i for i < n; one work-item per value.
__kernel void random_uniform(__global float *out, const int n, const uint seed_lo, const uint seed_hi,
                             const uint stream_lo, const uint stream_hi, const float low, const float high) {
    int i = get_global_id(0);
    if (i >= n) return;
    uint block = (uint)(i / 4);
    uint4 bits = philox4x32_10((uint4)(block, 0u, stream_lo, stream_hi), (uint2)(seed_lo, seed_hi));
    uint lane = i % 4 == 0 ? bits.x : i % 4 == 1 ? bits.y : i % 4 == 2 ? bits.z : bits.w;
    float u = (float)(lane >> 8) * (1.0f / 16777216.0f);
    out[i] = low + (high - low) * u;
}

// dropout — inverted dropout with a regenerated mask: y = keep ? x/(1 − rate) : 0, keep = u ≥ rate, where u
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
