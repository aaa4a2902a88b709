#version 450
// conv2d.comp: stride-1 2-D convolution (3x3 pad 1, or 1x1 pad 0) on NCHW data. An invocation
// computes COB output channels of one pixel, so each input value loaded feeds COB
// multiply-adds; the weights are the same for the whole workgroup (broadcast loads).
#include "common.glsl"
#define COB 8u
layout(binding = 0) readonly buffer Xb { float X[]; };
layout(binding = 1) readonly buffer Wb { uint Ww[]; };
layout(binding = 2) readonly buffer Bb { float Bt[]; };
layout(binding = 3) writeonly buffer Yb { float Y[]; };
layout(push_constant) uniform P { uint w, h, cin, cout, k, has_bias; } p;

float w_at(uint i)
{
#if defined(W_F16)
    return half_at(Ww[i >> 1], i);
#elif defined(W_BF16)
    return bf16_at(Ww[i >> 1], i);
#else
    return uintBitsToFloat(Ww[i]);
#endif
}

void main()
{
    uint pix = gl_WorkGroupID.x * WG + TID;
    uint co0 = gl_WorkGroupID.y * COB, b = gl_WorkGroupID.z;
    bool live = pix < p.w * p.h;
    int x = int(pix % p.w), y = int(pix / p.w), pad = int(p.k / 2u);
    uint kk = p.k * p.k;
    float acc[COB];
    [[unroll]] for (uint o = 0; o < COB; o++)
        acc[o] = (p.has_bias != 0u && co0 + o < p.cout) ? Bt[co0 + o] : 0.0;
    if (live) {
        for (uint ci = 0; ci < p.cin; ci++) {
            uint xb = (b * p.cin + ci) * p.w * p.h;
            for (uint t = 0; t < kk; t++) {
                int yy = y + int(t / p.k) - pad, xx = x + int(t % p.k) - pad;
                if (yy < 0 || yy >= int(p.h) || xx < 0 || xx >= int(p.w)) continue;
                float v = X[xb + uint(yy) * p.w + uint(xx)];
                [[unroll]] for (uint o = 0; o < COB; o++)
                    if (co0 + o < p.cout) acc[o] = fma(w_at(((co0 + o) * p.cin + ci) * kk + t), v, acc[o]);
            }
        }
        [[unroll]] for (uint o = 0; o < COB; o++)
            if (co0 + o < p.cout) Y[((b * p.cout + co0 + o) * p.h + uint(y)) * p.w + uint(x)] = acc[o];
    }
}
