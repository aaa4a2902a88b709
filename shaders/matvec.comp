#version 450
// matvec.comp: y[m, row] = W[row, :] . x[m, :] for NV vectors at once (decode, CFG pairs),
// reading each weight once. RT threads share a row: 1 on CPUs (no reduction, x loads are
// uniform across lanes), a subgroup's worth on GPUs (coalesced weight loads).
// Weights are read in units: 8 elements for float types, one 32-element block when quantised.
#include "common.glsl"
layout(constant_id = 2) const uint RT = 1;
layout(constant_id = 3) const uint NV = 1;

layout(binding = 0) readonly buffer WQb { uint WQ[]; };
layout(binding = 0) readonly buffer WQ4b { uvec4 WQ4[]; };
layout(binding = 1) readonly buffer WSb { uint WS[]; };
layout(binding = 2) readonly buffer Xb { vec4 X4[]; };
layout(binding = 3) writeonly buffer Yb { float Y[]; };
layout(push_constant) uniform P {
    uint K, N, ldy, row0, wq_off, ws_off, x_off4, y_off;
} p;
#define wq_off p.wq_off
#define ws_off p.ws_off
#include "weights.glsl"

#if defined(W_Q8_0) || defined(W_Q4_0)
const uint UNIT = 32u;
#else
const uint UNIT = 8u;
#endif

float dot4i8(uint q, vec4 x)
{
    return dot(vec4(int(q << 24) >> 24, int(q << 16) >> 24, int(q << 8) >> 24, int(q) >> 24), x);
}

// Dot product of weight unit u of `row` with vector v's matching elements.
float unit_dot(uint row, uint u, uint xb)
{
#if defined(W_F32)
    uint w = (wq_off + row * p.K) / 4u + u * 2u;
    return dot(uintBitsToFloat(WQ4[w]), X4[xb]) + dot(uintBitsToFloat(WQ4[w + 1u]), X4[xb + 1u]);
#elif defined(W_F16)
    uvec4 q = WQ4[(wq_off + row * (p.K / 2u)) / 4u + u];
    return dot(vec4(unpackHalf2x16(q.x), unpackHalf2x16(q.y)), X4[xb]) +
           dot(vec4(unpackHalf2x16(q.z), unpackHalf2x16(q.w)), X4[xb + 1u]);
#elif defined(W_BF16)
    uvec4 q = WQ4[(wq_off + row * (p.K / 2u)) / 4u + u];
    uvec4 lo = q << 16, hi = q & 0xffff0000u;
    return dot(uintBitsToFloat(uvec4(lo.x, hi.x, lo.y, hi.y)), X4[xb]) +
           dot(uintBitsToFloat(uvec4(lo.z, hi.z, lo.w, hi.w)), X4[xb + 1u]);
#elif defined(W_Q8_0)
    uint w = (wq_off + row * (p.K / 4u)) / 4u + u * 2u;
    uvec4 a = WQ4[w], b = WQ4[w + 1u];
    float s = dot4i8(a.x, X4[xb]) + dot4i8(a.y, X4[xb + 1u]) + dot4i8(a.z, X4[xb + 2u]) +
              dot4i8(a.w, X4[xb + 3u]) + dot4i8(b.x, X4[xb + 4u]) + dot4i8(b.y, X4[xb + 5u]) +
              dot4i8(b.z, X4[xb + 6u]) + dot4i8(b.w, X4[xb + 7u]);
    return s * w_scale(row, u * 32u, p.K);
#elif defined(W_Q4_0)
    uvec4 q = WQ4[(wq_off + row * (p.K / 8u)) / 4u + u];
    // Low nibbles are elements 0..15, high nibbles 16..31; each element is q - 8.
    vec4 x0 = X4[xb], x1 = X4[xb + 1u], x2 = X4[xb + 2u], x3 = X4[xb + 3u];
    vec4 x4 = X4[xb + 4u], x5 = X4[xb + 5u], x6 = X4[xb + 6u], x7 = X4[xb + 7u];
    uvec4 l = q & 0x0f0f0f0fu, h = (q >> 4) & 0x0f0f0f0fu;
    float s = dot(vec4(l.x & 15u, (l.x >> 8) & 15u, (l.x >> 16) & 15u, l.x >> 24), x0) +
              dot(vec4(l.y & 15u, (l.y >> 8) & 15u, (l.y >> 16) & 15u, l.y >> 24), x1) +
              dot(vec4(l.z & 15u, (l.z >> 8) & 15u, (l.z >> 16) & 15u, l.z >> 24), x2) +
              dot(vec4(l.w & 15u, (l.w >> 8) & 15u, (l.w >> 16) & 15u, l.w >> 24), x3) +
              dot(vec4(h.x & 15u, (h.x >> 8) & 15u, (h.x >> 16) & 15u, h.x >> 24), x4) +
              dot(vec4(h.y & 15u, (h.y >> 8) & 15u, (h.y >> 16) & 15u, h.y >> 24), x5) +
              dot(vec4(h.z & 15u, (h.z >> 8) & 15u, (h.z >> 16) & 15u, h.z >> 24), x6) +
              dot(vec4(h.w & 15u, (h.w >> 8) & 15u, (h.w >> 16) & 15u, h.w >> 24), x7);
    vec4 xs = (x0 + x1 + x2 + x3) + (x4 + x5 + x6 + x7);
    s -= 8.0 * (xs.x + xs.y + xs.z + xs.w);
    return s * w_scale(row, u * 32u, p.K);
#endif
}

void main()
{
    uint row = flat_group() * (WG / RT) + TID / RT, lane = TID % RT;
    bool live = row < p.N;
    uint units = p.K / UNIT, xrow4 = p.K / 4u;
    float acc[NV];
    [[unroll]] for (uint v = 0; v < NV; v++) acc[v] = 0.0;
    if (live)
        for (uint u = lane; u < units; u += RT)
            [[unroll]] for (uint v = 0; v < NV; v++)
                acc[v] += unit_dot(row, u, p.x_off4 + v * xrow4 + u * (UNIT / 4u));
    if (RT > 1) {
        // Tree-reduce each vector's partial sums within the row's RT lanes.
        [[unroll]] for (uint v = 0; v < NV; v++) {
            red_f[TID] = acc[v];
            barrier();
            for (uint s = RT / 2u; s > 0u; s >>= 1) {
                if (lane < s) red_f[TID] += red_f[TID + s];
                barrier();
            }
            acc[v] = red_f[TID];
            barrier();
        }
    }
    if (live && lane == 0u)
        [[unroll]] for (uint v = 0; v < NV; v++) Y[p.y_off + v * p.ldy + p.row0 + row] = acc[v];
}
