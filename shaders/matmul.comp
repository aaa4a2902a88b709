#version 450
// matmul.comp: Y[m, n] = W[n, :] . X[m, :] for many tokens (prefill), tiled: a workgroup of
// 16x16 computes a (16 TM) x (16 TN) block of outputs, TM rows x TN tokens per invocation
// from registers, staging BK-wide slices of W (dequantised) and X in shared memory. Each
// invocation's rows and tokens are adjacent in the tiles, so it reads them as vec4s:
// (TM + TN) / 4 loads feed TM * TN FMAs. TM is chosen per device (gpu/device.c).
// K/BK loop trips per invocation.
#include "common.glsl"
layout(constant_id = 1) const uint TM = 8;   // rows per invocation: 8 or 16
const uint TN = 8u;                          // tokens per invocation
const uint BN = 16u * TM, BM = 16u * TN, BK = 16u;

layout(binding = 0) readonly buffer WQb { uint WQ[]; };
layout(binding = 1) readonly buffer WSb { uint WS[]; };
layout(binding = 2) readonly buffer Xb { vec4 X4[]; };
layout(binding = 3) writeonly buffer Yb { float Y[]; };
layout(push_constant) uniform P {
    uint K, N, M, ldy, row0, wq_off, ws_off;
    uint xb4, yb;   // batch strides of x (vec4s) and y; batch b uses weight rows b*N ..
} p;
#define wq_off p.wq_off
#define ws_off p.ws_off
#include "weights.glsl"

shared vec4 Ws[BK][BN / 4u];
shared vec4 Xs[BK][BM / 4u];

void main()
{
    uint n0 = gl_WorkGroupID.x * BN, m0 = gl_WorkGroupID.y * BM;
    uint b = gl_WorkGroupID.z, wrow = b * p.N, xb = b * p.xb4, yb = b * p.yb;
    uint tx = TID % 16u, ty = TID / 16u;     // rows n0 + TM tx.., tokens m0 + TN ty..
    float acc[TM][TN];
    [[unroll]] for (uint i = 0; i < TM; i++)
        [[unroll]] for (uint j = 0; j < TN; j++) acc[i][j] = 0.0;

    for (uint k0 = 0; k0 < p.K; k0 += BK) {
        // the 256 invocations stage vec4s of 4 consecutive k: TM / 4 each of W, TN / 4 of X
        [[unroll]] for (uint h = 0; h < BN * BK / 1024u; h++) {
            uint v = TID + 256u * h, r = v / (BK / 4u), kk = (v % (BK / 4u)) * 4u, k = k0 + kk;
            vec4 w = n0 + r < p.N && k < p.K ? w_load4(wrow + n0 + r, k, p.K) : vec4(0.0);
            uint c = r / 4u, e = r % 4u;
            Ws[kk][c][e] = w.x, Ws[kk + 1u][c][e] = w.y, Ws[kk + 2u][c][e] = w.z;
            Ws[kk + 3u][c][e] = w.w;
        }
        [[unroll]] for (uint h = 0; h < BM * BK / 1024u; h++) {
            uint v = TID + 256u * h, r = v / (BK / 4u), kk = (v % (BK / 4u)) * 4u, k = k0 + kk;
            vec4 x = m0 + r < p.M && k < p.K ? X4[xb + ((m0 + r) * p.K + k) / 4u] : vec4(0.0);
            uint c = r / 4u, e = r % 4u;
            Xs[kk][c][e] = x.x, Xs[kk + 1u][c][e] = x.y, Xs[kk + 2u][c][e] = x.z;
            Xs[kk + 3u][c][e] = x.w;
        }
        barrier();
        [[unroll]] for (uint k = 0; k < BK; k++) {
            float a[TM], b[TN];
            [[unroll]] for (uint u = 0; u < TM / 4u; u++) {
                vec4 w = Ws[k][TM / 4u * tx + u];
                a[4u * u] = w.x, a[4u * u + 1u] = w.y, a[4u * u + 2u] = w.z, a[4u * u + 3u] = w.w;
            }
            [[unroll]] for (uint u = 0; u < TN / 4u; u++) {
                vec4 x = Xs[k][TN / 4u * ty + u];
                b[4u * u] = x.x, b[4u * u + 1u] = x.y, b[4u * u + 2u] = x.z, b[4u * u + 3u] = x.w;
            }
            [[unroll]] for (uint i = 0; i < TM; i++)
                [[unroll]] for (uint j = 0; j < TN; j++) acc[i][j] = fma(a[i], b[j], acc[i][j]);
        }
        barrier();
    }
    [[unroll]] for (uint j = 0; j < TN; j++) {
        uint m = m0 + TN * ty + j;
        [[unroll]] for (uint i = 0; i < TM; i++) {
            uint n = n0 + TM * tx + i;
            if (m < p.M && n < p.N) Y[yb + m * p.ldy + p.row0 + n] = acc[i][j];
        }
    }
}
