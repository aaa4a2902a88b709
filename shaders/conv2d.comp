#version 450
// conv2d.comp: stride-1 2-D convolution (3x3 pad 1, or 1x1 pad 0) on NCHW data. An invocation
// computes COB output channels of PX adjacent pixels: each input value loaded feeds COB
// multiply-adds and each weight loaded feeds PX (loads, not arithmetic, bound lavapipe).
#include "common.glsl"
#define COB 8u
#define PX 4u
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
    // PX horizontally adjacent output pixels (wrapping rows is fine: each has its own x, y)
    uint pix0 = (gl_WorkGroupID.x * WG + TID) * PX;
    uint co0 = gl_WorkGroupID.y * COB, b = gl_WorkGroupID.z, npix = p.w * p.h;
    int pad = int(p.k / 2u);
    uint kk = p.k * p.k;
    int px[PX], py[PX];
    [[unroll]] for (uint q = 0; q < PX; q++) {
        uint pi = min(pix0 + q, npix - 1u);
        px[q] = int(pi % p.w), py[q] = int(pi / p.w);
    }
    float acc[PX][COB];
    [[unroll]] for (uint o = 0; o < COB; o++) {
        float bias = (p.has_bias != 0u && co0 + o < p.cout) ? Bt[co0 + o] : 0.0;
        [[unroll]] for (uint q = 0; q < PX; q++) acc[q][o] = bias;
    }
    if (pix0 < npix) {
        for (uint ci = 0; ci < p.cin; ci++) {
            uint xb = (b * p.cin + ci) * npix;
            for (uint t = 0; t < kk; t++) {
                int dy = int(t / p.k) - pad, dx = int(t % p.k) - pad;
                // each weight loaded once serves PX pixels
                float w[COB];
                [[unroll]] for (uint o = 0; o < COB; o++)
                    w[o] = co0 + o < p.cout ? w_at(((co0 + o) * p.cin + ci) * kk + t) : 0.0;
                [[unroll]] for (uint q = 0; q < PX; q++) {
                    int yy = py[q] + dy, xx = px[q] + dx;
                    float v = (yy < 0 || yy >= int(p.h) || xx < 0 || xx >= int(p.w))
                                  ? 0.0 : X[xb + uint(yy) * p.w + uint(xx)];
                    [[unroll]] for (uint o = 0; o < COB; o++) acc[q][o] = fma(w[o], v, acc[q][o]);
                }
            }
        }
        [[unroll]] for (uint q = 0; q < PX; q++) {
            if (pix0 + q >= npix) break;
            [[unroll]] for (uint o = 0; o < COB; o++)
                if (co0 + o < p.cout)
                    Y[((b * p.cout + co0 + o) * p.h + uint(py[q])) * p.w + uint(px[q])] = acc[q][o];
        }
    }
}
