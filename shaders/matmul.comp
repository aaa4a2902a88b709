#version 450
// matmul.comp: Y[m, n] = W[n, :] . X[m, :] for many tokens (prefill), tiled: a workgroup of
// 16x16 computes a 128x128 block of outputs, 8x8 per invocation from registers, staging
// BK-wide slices of W (dequantised) and X in shared memory. The work per invocation is
// K/BK loop trips, so lavapipe's loop cap allows K up to ~500k.
#include "common.glsl"
#define BN 128u
#define BM 128u
#define BK 8u

layout(binding = 0) readonly buffer WQb { uint WQ[]; };
layout(binding = 1) readonly buffer WSb { uint WS[]; };
layout(binding = 2) readonly buffer Xb { vec4 X4[]; };
layout(binding = 3) writeonly buffer Yb { float Y[]; };
layout(push_constant) uniform P {
    uint K, N, M, ldy, row0, wq_off, ws_off;
} p;
#define wq_off p.wq_off
#define ws_off p.ws_off
#include "weights.glsl"

shared float Ws[BK][BN + 1u];
shared float Xs[BK][BM + 1u];

void main()
{
    uint n0 = gl_WorkGroupID.x * BN, m0 = gl_WorkGroupID.y * BM;
    uint tx = TID % 16u, ty = TID / 16u;
    uint lr = TID / 2u, lk = (TID % 2u) * 4u;   // this invocation's slot in the tile loads
    float acc[8][8];
    [[unroll]] for (uint i = 0; i < 8u; i++)
        [[unroll]] for (uint j = 0; j < 8u; j++) acc[i][j] = 0.0;

    for (uint k0 = 0; k0 < p.K; k0 += BK) {
        vec4 w = n0 + lr < p.N ? w_load4(n0 + lr, k0 + lk, p.K) : vec4(0.0);
        vec4 x = m0 + lr < p.M ? X4[((m0 + lr) * p.K + k0 + lk) / 4u] : vec4(0.0);
        Ws[lk][lr] = w.x, Ws[lk + 1u][lr] = w.y, Ws[lk + 2u][lr] = w.z, Ws[lk + 3u][lr] = w.w;
        Xs[lk][lr] = x.x, Xs[lk + 1u][lr] = x.y, Xs[lk + 2u][lr] = x.z, Xs[lk + 3u][lr] = x.w;
        barrier();
        [[unroll]] for (uint k = 0; k < BK; k++) {
            float a[8], b[8];
            [[unroll]] for (uint i = 0; i < 8u; i++) a[i] = Ws[k][tx + 16u * i];
            [[unroll]] for (uint j = 0; j < 8u; j++) b[j] = Xs[k][ty + 16u * j];
            [[unroll]] for (uint i = 0; i < 8u; i++)
                [[unroll]] for (uint j = 0; j < 8u; j++) acc[i][j] = fma(a[i], b[j], acc[i][j]);
        }
        barrier();
    }
    [[unroll]] for (uint j = 0; j < 8u; j++) {
        uint m = m0 + ty + 16u * j;
        [[unroll]] for (uint i = 0; i < 8u; i++) {
            uint n = n0 + tx + 16u * i;
            if (m < p.M && n < p.N) Y[m * p.ldy + p.row0 + n] = acc[i][j];
        }
    }
}
