// weights.glsl: reading matmul weights of every type from a row-major [rows][K] matrix.
// Quantised types keep all quants first (binding WQ) and all f16 scales apart (binding WS);
// the float types use WQ only. wq_off/ws_off are word offsets of this dispatch's first row.
// Define exactly one of W_F32, W_F16, W_BF16, W_Q8_0, W_Q4_0 before including.

#if defined(W_F32)
#define W_WORDS_PER_ROW(K) (K)
#elif defined(W_F16) || defined(W_BF16)
#define W_WORDS_PER_ROW(K) ((K) / 2u)
#elif defined(W_Q8_0)
#define W_WORDS_PER_ROW(K) ((K) / 4u)
#elif defined(W_Q4_0)
#define W_WORDS_PER_ROW(K) ((K) / 8u)
#endif

float w_scale(uint row, uint k, uint K)
{
#if defined(W_Q8_0) || defined(W_Q4_0)
    uint s = ws_off * 2u + row * (K / 32u) + k / 32u;
    return half_at(WS[s >> 1], s);
#else
    return 1.0;
#endif
}

// Four consecutive weights (row, k..k+3), k % 4 == 0.
vec4 w_load4(uint row, uint k, uint K)
{
    uint base = wq_off + row * W_WORDS_PER_ROW(K);
#if defined(W_F32)
    uint i = base + k;
    return vec4(uintBitsToFloat(WQ[i]), uintBitsToFloat(WQ[i + 1]), uintBitsToFloat(WQ[i + 2]),
                uintBitsToFloat(WQ[i + 3]));
#elif defined(W_F16)
    uint i = base + k / 2u;
    return vec4(unpackHalf2x16(WQ[i]), unpackHalf2x16(WQ[i + 1]));
#elif defined(W_BF16)
    uint i = base + k / 2u;
    uint a = WQ[i], b = WQ[i + 1];
    return vec4(uintBitsToFloat(a << 16), uintBitsToFloat(a & 0xffff0000u),
                uintBitsToFloat(b << 16), uintBitsToFloat(b & 0xffff0000u));
#elif defined(W_Q8_0)
    uint q = WQ[base + k / 4u];
    return vec4(ivec4(int(q << 24) >> 24, int(q << 16) >> 24, int(q << 8) >> 24, int(q) >> 24)) *
           w_scale(row, k, K);
#elif defined(W_Q4_0)
    uint j = k % 32u;                         // byte j holds elements j and j + 16
    uint q = WQ[base + (k / 32u) * 4u + (j & 15u) / 4u];
    q = j < 16u ? q : q >> 4;
    return (vec4(q & 15u, (q >> 8) & 15u, (q >> 16) & 15u, (q >> 24) & 15u) - 8.0) *
           w_scale(row, k, K);
#endif
}
