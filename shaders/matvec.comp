#version 450
// matvec.comp: y[m, row] = W[row, :] . x[m, :] for NV vectors at once (decode, CFG pairs),
// reading each weight once. RT threads share a row: 1 on CPUs (no reduction), a subgroup's
// worth on GPUs (coalesced weight loads). Each invocation computes R rows, so every x value
// it loads serves R weights (on lavapipe x loads are per-lane gathers like the weights).
// Weights are read in units: 8 elements for float types, one 32-element block when quantised.
#include "common.glsl"
layout(constant_id = 1) const uint RT = 1;
layout(constant_id = 2) const uint NV = 1;
layout(constant_id = 3) const uint R = 1;   // rows per invocation

layout(binding = 0) readonly buffer WQb { uint WQ[]; };
layout(binding = 0) readonly buffer WQ4b { uvec4 WQ4[]; };
layout(binding = 1) readonly buffer WSb { uint WS[]; };
layout(binding = 2) readonly buffer Xb { vec4 X4[]; };
layout(binding = 3) writeonly buffer Yb { float Y[]; };
layout(push_constant) uniform P {
    uint K, N, ldy, row0, wq_off, ws_off, x_off4, y_off;
    uint xb4, yb;   // batch strides of x (vec4s) and y; batch b uses weight rows b*N ..
} p;
#define wq_off p.wq_off
#define ws_off p.ws_off
#include "weights.glsl"

#if defined(W_Q8_0) || defined(W_Q4_0)
#define QUANT
const uint UNIT = 32u;       // one block
#else
const uint UNIT = 16u;       // two groups of 8; K % 16 == 8 leaves a tail group
#endif
const uint XU = UNIT / 4u;   // vec4s of x per unit

float dot4i8(uint q, vec4 x)
{
    return dot(vec4(int(q << 24) >> 24, int(q << 16) >> 24, int(q << 8) >> 24, int(q) >> 24), x);
}

vec4 nib4(uint q) { return vec4(q & 15u, (q >> 8) & 15u, (q >> 16) & 15u, q >> 24); }

#ifndef QUANT
// Weights g*8 .. g*8+7 of `row` dotted with x0, x1.
float dot8(uint row, uint g, vec4 x0, vec4 x1)
{
#if defined(W_F32)
    uint w = (wq_off + row * p.K) / 4u + g * 2u;
    return dot(uintBitsToFloat(WQ4[w]), x0) + dot(uintBitsToFloat(WQ4[w + 1u]), x1);
#elif defined(W_F16)
    uvec4 q = WQ4[(wq_off + row * (p.K / 2u)) / 4u + g];
    return dot(vec4(unpackHalf2x16(q.x), unpackHalf2x16(q.y)), x0) +
           dot(vec4(unpackHalf2x16(q.z), unpackHalf2x16(q.w)), x1);
#else
    uvec4 q = WQ4[(wq_off + row * (p.K / 2u)) / 4u + g];
    uvec4 lo = q << 16, hi = q & 0xffff0000u;
    return dot(uintBitsToFloat(uvec4(lo.x, hi.x, lo.y, hi.y)), x0) +
           dot(uintBitsToFloat(uvec4(lo.z, hi.z, lo.w, hi.w)), x1);
#endif
}
#endif

// Dot product of weight unit u of `row` with the matching x values.
float unit_dot(uint row, uint u, vec4 x[XU])
{
#if !defined(QUANT)
    return dot8(row, 2u * u, x[0], x[1]) + dot8(row, 2u * u + 1u, x[2], x[3]);
#elif defined(W_Q8_0)
    uint w = (wq_off + row * (p.K / 4u)) / 4u + u * 2u;
    uvec4 a = WQ4[w], b = WQ4[w + 1u];
    float s = dot4i8(a.x, x[0]) + dot4i8(a.y, x[1]) + dot4i8(a.z, x[2]) + dot4i8(a.w, x[3]) +
              dot4i8(b.x, x[4]) + dot4i8(b.y, x[5]) + dot4i8(b.z, x[6]) + dot4i8(b.w, x[7]);
    return s * w_scale(row, u * 32u, p.K);
#elif defined(W_Q4_0)
    // Low nibbles are elements 0..15, high nibbles 16..31; each element is q - 8, and the
    // -8 is applied once to the sum of x.
    uvec4 q = WQ4[(wq_off + row * (p.K / 8u)) / 4u + u];
    uvec4 l = q & 0x0f0f0f0fu, h = (q >> 4) & 0x0f0f0f0fu;
    float s = dot(nib4(l.x), x[0]) + dot(nib4(l.y), x[1]) + dot(nib4(l.z), x[2]) +
              dot(nib4(l.w), x[3]) + dot(nib4(h.x), x[4]) + dot(nib4(h.y), x[5]) +
              dot(nib4(h.z), x[6]) + dot(nib4(h.w), x[7]);
    vec4 xs = (x[0] + x[1] + x[2] + x[3]) + (x[4] + x[5] + x[6] + x[7]);
    s -= 8.0 * (xs.x + xs.y + xs.z + xs.w);
    return s * w_scale(row, u * 32u, p.K);
#endif
}

void main()
{
    // This invocation's rows: R of them, WG/RT apart; x is loaded once for all R.
    const uint span = WG / RT;
    uint first = flat_group() * span * R + TID / RT, lane = TID % RT;
    uint units = p.K / UNIT, xrow4 = p.K / 4u;
    uint b = gl_WorkGroupID.z, wrow = b * p.N, x0 = p.x_off4 + b * p.xb4;
    float acc[R][NV];
    [[unroll]] for (uint r = 0; r < R; r++)
        [[unroll]] for (uint v = 0; v < NV; v++) acc[r][v] = 0.0;
    for (uint u = lane; u < units; u += RT) {
        [[unroll]] for (uint v = 0; v < NV; v++) {
            vec4 x[XU];
            [[unroll]] for (uint i = 0; i < XU; i++) x[i] = X4[x0 + v * xrow4 + u * XU + i];
            // Rows past the end repeat the last row: no branch in the loop, not stored.
            [[unroll]] for (uint r = 0; r < R; r++)
                acc[r][v] += unit_dot(wrow + min(first + r * span, p.N - 1u), u, x);
        }
    }
#ifndef QUANT
    if ((p.K % UNIT) != 0u && lane == 0u) {   // the last 8 weights of each row
        uint g = p.K / 8u - 1u;
        [[unroll]] for (uint v = 0; v < NV; v++) {
            vec4 xa = X4[x0 + v * xrow4 + 2u * g], xc = X4[x0 + v * xrow4 + 2u * g + 1u];
            [[unroll]] for (uint r = 0; r < R; r++)
                acc[r][v] += dot8(wrow + min(first + r * span, p.N - 1u), g, xa, xc);
        }
    }
#endif
    [[unroll]] for (uint r = 0; r < R; r++) {
        uint row = first + r * span;
        [[unroll]] for (uint v = 0; v < NV; v++) {
            float a = acc[r][v];
            if (RT > 1) {
                // Tree-reduce the row's partial sums over its RT lanes.
                red_f[TID] = a;
                barrier();
                for (uint s = RT / 2u; s > 0u; s >>= 1) {
                    if (lane < s) red_f[TID] += red_f[TID + s];
                    barrier();
                }
                a = red_f[TID];
                barrier();
            }
            if (row < p.N && lane == 0u) Y[p.y_off + b * p.yb + v * p.ldy + p.row0 + row] = a;
        }
    }
}
