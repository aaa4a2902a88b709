#version 450
// matmul.comp: Y[m, n] = W[n, :] . X[m, :] for many tokens (prefill), tiled: a workgroup of
// 16x16 computes a 128x128 block of outputs, 8x8 per invocation from registers, staging
// BK-wide slices of W (dequantised) and X in shared memory. Each invocation's 8 rows and
// 8 tokens are adjacent in the tiles, so it reads them as vec4s: 4 loads feed 64 FMAs
// (loads, not arithmetic, bound this on lavapipe). K/BK loop trips per invocation.
#include "common.glsl"
#define BN 128u
#define BM 128u
#define BK 16u

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
    uint tx = TID % 16u, ty = TID / 16u;     // rows n0 + 8tx.., tokens m0 + 8ty..
    uint lr = TID / 2u, lk = (TID % 2u) * 8u; // this invocation's slot in the tile loads
    float acc[8][8];
    [[unroll]] for (uint i = 0; i < 8u; i++)
        [[unroll]] for (uint j = 0; j < 8u; j++) acc[i][j] = 0.0;

    for (uint k0 = 0; k0 < p.K; k0 += BK) {
        bool wok = n0 + lr < p.N, xok = m0 + lr < p.M;
        [[unroll]] for (uint h = 0; h < 2u; h++) {
            uint k = k0 + lk + 4u * h;
            bool kok = k < p.K;
            vec4 w = wok && kok ? w_load4(wrow + n0 + lr, k, p.K) : vec4(0.0);
            vec4 x = xok && kok ? X4[xb + ((m0 + lr) * p.K + k) / 4u] : vec4(0.0);
            uint kk = lk + 4u * h, c = lr / 4u, e = lr % 4u;
            Ws[kk][c][e] = w.x, Ws[kk + 1u][c][e] = w.y, Ws[kk + 2u][c][e] = w.z;
            Ws[kk + 3u][c][e] = w.w;
            Xs[kk][c][e] = x.x, Xs[kk + 1u][c][e] = x.y, Xs[kk + 2u][c][e] = x.z;
            Xs[kk + 3u][c][e] = x.w;
        }
        barrier();
        [[unroll]] for (uint k = 0; k < BK; k++) {
            vec4 a0 = Ws[k][2u * tx], a1 = Ws[k][2u * tx + 1u];
            vec4 b0 = Xs[k][2u * ty], b1 = Xs[k][2u * ty + 1u];
            float a[8] = float[8](a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w);
            float b[8] = float[8](b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w);
            [[unroll]] for (uint i = 0; i < 8u; i++)
                [[unroll]] for (uint j = 0; j < 8u; j++) acc[i][j] = fma(a[i], b[j], acc[i][j]);
        }
        barrier();
    }
    [[unroll]] for (uint j = 0; j < 8u; j++) {
        uint m = m0 + 8u * ty + j;
        [[unroll]] for (uint i = 0; i < 8u; i++) {
            uint n = n0 + 8u * tx + i;
            if (m < p.M && n < p.N) Y[yb + m * p.ldy + p.row0 + n] = acc[i][j];
        }
    }
}
