#version 450
// attention.comp: one workgroup = one query row (token t, head h) against one chunk of WG
// cache positions. Each invocation scores one position; the workgroup then accumulates
// p_j * V[j] with each invocation owning output dims d = TID, TID+WG, ... The unnormalised
// chunk result, its max and its sum go to scratch; attention_merge.comp combines chunks
// (online softmax), so a long context is many short workgroups, never one long loop.
// K and V are strided views (V may be the first Dv dims of K, as in MLA's absorbed form).
#include "common.glsl"
#ifdef KV_F16
layout(binding = 1) readonly buffer Kb { uint Kw[]; };
layout(binding = 2) readonly buffer Vb { uint Vw[]; };
float k_at(uint i) { return half_at(Kw[i >> 1], i); }
float v_at(uint i) { return half_at(Vw[i >> 1], i); }
#else
layout(binding = 1) readonly buffer Kb { float Kf[]; };
layout(binding = 2) readonly buffer Vb { float Vf[]; };
float k_at(uint i) { return Kf[i]; }
float v_at(uint i) { return Vf[i]; }
#endif
layout(binding = 0) readonly buffer Qb { float Q[]; };
layout(binding = 3) writeonly buffer Ob { float O[]; };   // [chunk][seq][tok][head][Dv]
layout(binding = 4) writeonly buffer Mb { vec2 ML[]; };   // [chunk][seq][tok][head] (max, sum)
layout(push_constant) uniform P {
    uint dk, dv, n_head, n_tok, group, n_kv, pos0, causal;
    uint k_off, k_nb1, k_nb2, k_nb3, v_off, v_nb1, v_nb2, v_nb3;
    uint q_off, n_seq; float scale;
} p;

shared float qs[576];
shared float ps[gl_WorkGroupSize.x];

void main()
{
    uint chunk = gl_WorkGroupID.x, h = gl_WorkGroupID.y;
    uint t = gl_WorkGroupID.z % p.n_tok, s = gl_WorkGroupID.z / p.n_tok;
    uint hk = h / p.group;
    uint qbase = p.q_off + ((s * p.n_tok + t) * p.n_head + h) * p.dk;
    for (uint d = TID; d < p.dk; d += WG) qs[d] = Q[qbase + d];
    barrier();

    uint limit = p.causal != 0u ? min(p.n_kv, p.pos0 + t + 1u) : p.n_kv;
    uint j = chunk * WG + TID;
    float score = -1.0 / 0.0;
    if (j < limit) {
        uint kb = p.k_off + s * p.k_nb3 + j * p.k_nb2 + hk * p.k_nb1;
        float acc = 0.0;
        for (uint d = 0; d < p.dk; d++) acc = fma(qs[d], k_at(kb + d), acc);
        score = acc * p.scale;
    }
    float m = wg_max(score);
    float e = j < limit ? exp(score - m) : 0.0;
    float l = wg_sum(e);
    ps[TID] = e;
    barrier();

    uint row = ((chunk * p.n_seq + s) * p.n_tok + t) * p.n_head + h;
    uint n = min(WG, limit > chunk * WG ? limit - chunk * WG : 0u);
    for (uint d = TID; d < p.dv; d += WG) {
        float acc = 0.0;
        for (uint i = 0; i < n; i++) {
            uint vb = p.v_off + s * p.v_nb3 + (chunk * WG + i) * p.v_nb2 + hk * p.v_nb1;
            acc = fma(ps[i], v_at(vb + d), acc);
        }
        O[row * p.dv + d] = acc;
    }
    if (TID == 0u) ML[row] = vec2(m, l);
}
