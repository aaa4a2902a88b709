#version 450
// attention.comp: one workgroup = one query row (token t, head h) against one chunk of the
// cache, walked in tiles of WG positions with the online softmax: each invocation scores
// one position of the tile, then owns output dims d = TID + k*WG (k < DPT) and folds the
// tile's p_j * V[j] into them, rescaling by exp(m_old - m_new). With one chunk the result
// is normalised and written out; otherwise the chunk's (acc, max, sum) go to scratch and
// attention_merge.comp combines them. K and V are strided views (V may be the first Dv dims
// of K, as in MLA's absorbed form). Tokens are processed in blocks [t0, t0 + n_tok_blk).
// A batch of sequences at different places: query sequence s reads cache slot SLOT[s] (else
// s) and its token t sits at pos0 + t (+ POS[s]), which bounds what it sees when causal.
#include "common.glsl"
layout(constant_id = 1) const uint DPT = 1;   // output dims per invocation: ceil(dv / WG)
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
layout(binding = 3) writeonly buffer Ob { float O[]; };   // out, or [chunk][row][Dv]
layout(binding = 4) writeonly buffer Mb { vec2 ML[]; };   // [chunk][row] (max, sum)
layout(binding = 5) readonly buffer Sb { int SLOT[]; };
layout(binding = 6) readonly buffer Pb { int POS[]; };
layout(push_constant) uniform P {
    uint dk, dv, n_head, n_tok, group, n_kv, pos0, causal;
    uint k_off, k_nb1, k_nb2, k_nb3, v_off, v_nb1, v_nb2, v_nb3;
    uint q_off, t0, n_tok_blk, per_chunk, direct; float scale;
    uint slot_off, pos_off, n_slot, has_slot, has_pos;
} p;

shared float qs[576];
shared float ps[gl_WorkGroupSize.x];

void main()
{
    uint chunk = gl_WorkGroupID.x, h = gl_WorkGroupID.y;
    uint tl = gl_WorkGroupID.z % p.n_tok_blk, s = gl_WorkGroupID.z / p.n_tok_blk;
    uint t = p.t0 + tl, hk = h / p.group;
    uint qrow = (s * p.n_tok + t) * p.n_head + h;
    for (uint d = TID; d < p.dk; d += WG) qs[d] = Q[p.q_off + qrow * p.dk + d];
    barrier();

    uint slot = p.has_slot != 0u ? uint(SLOT[p.slot_off + s]) : s;
    uint pos = p.pos0 + t + (p.has_pos != 0u ? uint(POS[p.pos_off + s]) : 0u);
    uint limit = p.causal != 0u ? min(p.n_kv, pos + 1u) : p.n_kv;
    if (slot >= p.n_slot) limit = 0u;   // never read outside the cache
    uint first = chunk * p.per_chunk, end = min(limit, first + p.per_chunk);
    float m = -1.0 / 0.0, l = 0.0;
    float acc[DPT];
    [[unroll]] for (uint k = 0; k < DPT; k++) acc[k] = 0.0;
    for (uint base = first; base < end; base += WG) {   // uniform: same bounds for all
        uint j = base + TID;
        float score = -1.0 / 0.0;
        if (j < end) {
            uint kb = p.k_off + slot * p.k_nb3 + j * p.k_nb2 + hk * p.k_nb1;
            float a = 0.0;
            for (uint d = 0; d < p.dk; d++) a = fma(qs[d], k_at(kb + d), a);
            score = a * p.scale;
        }
        float m_new = max(m, wg_max(score));
        float e = j < end ? exp(score - m_new) : 0.0;
        ps[TID] = e;
        float corr = exp(m - m_new);
        l = l * corr + wg_sum(e);          // wg_sum's barriers also publish ps[]
        uint n = min(WG, end - base);
        [[unroll]] for (uint k = 0; k < DPT; k++) {
            uint d = TID + k * WG;
            if (d < p.dv) {
                float a = acc[k] * corr;
                uint vb = p.v_off + slot * p.v_nb3 + base * p.v_nb2 + hk * p.v_nb1 + d;
                for (uint i = 0; i < n; i++) a = fma(ps[i], v_at(vb + i * p.v_nb2), a);
                acc[k] = a;
            }
        }
        m = m_new;
        barrier();                         // ps[] is rewritten by the next tile
    }

    if (p.direct != 0u) {
        [[unroll]] for (uint k = 0; k < DPT; k++) {
            uint d = TID + k * WG;
            if (d < p.dv) O[qrow * p.dv + d] = acc[k] / l;
        }
    } else {
        uint row = ((chunk * gl_NumWorkGroups.z + gl_WorkGroupID.z) * p.n_head + h);
        [[unroll]] for (uint k = 0; k < DPT; k++) {
            uint d = TID + k * WG;
            if (d < p.dv) O[row * p.dv + d] = acc[k];
        }
        if (TID == 0u) ML[row] = vec2(m, l);
    }
}
