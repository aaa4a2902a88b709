#version 450
// attention_rows.comp: attention for many query rows (prefill), one subgroup per row. Lane l
// of a subgroup of SG holds dims 4 (k SG + l) .. + 3 of the row's query and output, so each
// cache row is read once per subgroup, in whole 16-byte pieces side by side, and a score is
// the subgroup's sum of its lanes' partial dot products: no shared memory, no barriers. The
// rows of a workgroup share one K/V head (consecutive tokens, and the query heads of a
// group), so its subgroups walk the same cache positions in step, KB at a time, with the
// online softmax. Rows past a token's causal limit score -inf. Same bindings, chunks and
// outputs as attention.comp (direct, or per-chunk partials for attention_merge.comp). Needs
// DK and DV multiples of 4 SG, and offsets and strides in whole 4-element vectors (checked
// in gpu/op_attention.c); built with subgroup arithmetic only.
#include "common.glsl"
layout(constant_id = 1) const uint DK = 128;   // query/key width
layout(constant_id = 2) const uint DV = 128;   // value width
layout(constant_id = 3) const uint SG = 8;     // the device's subgroup size: lanes per row
const uint NK = DK / (4u * SG), NV = DV / (4u * SG);   // vec4s per lane
const uint KB = 4u;                                    // positions per online-softmax step
#ifdef KV_F16
layout(binding = 1) readonly buffer Kb { uvec2 K4[]; };
layout(binding = 2) readonly buffer Vb { uvec2 V4[]; };
vec4 k4(uint i) { uvec2 w = K4[i >> 2]; return vec4(unpackHalf2x16(w.x), unpackHalf2x16(w.y)); }
vec4 v4(uint i) { uvec2 w = V4[i >> 2]; return vec4(unpackHalf2x16(w.x), unpackHalf2x16(w.y)); }
#else
layout(binding = 1) readonly buffer Kb { vec4 K4[]; };
layout(binding = 2) readonly buffer Vb { vec4 V4[]; };
vec4 k4(uint i) { return K4[i >> 2]; }
vec4 v4(uint i) { return V4[i >> 2]; }
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

void main()
{
    // workgroup: cache chunk x, K/V head y, z = (sequence, block of WG / SG rows); row r of
    // the block is token r / group, query head hk * group + r % group
    uint rows = WG / SG, lane = gl_SubgroupInvocationID;
    uint chunk = gl_WorkGroupID.x, hk = gl_WorkGroupID.y;
    uint n_blk = (p.n_tok_blk * p.group + rows - 1u) / rows;
    uint blk = gl_WorkGroupID.z % n_blk, s = gl_WorkGroupID.z / n_blk;
    uint r = blk * rows + gl_SubgroupID, tl = r / p.group, h = hk * p.group + r % p.group;
    bool live = tl < p.n_tok_blk;
    uint t = p.t0 + min(tl, p.n_tok_blk - 1u);              // idle rows shadow the last one
    uint t_last = p.t0 + min(p.n_tok_blk - 1u, (blk * rows + rows - 1u) / p.group);

    uint slot = p.has_slot != 0u ? uint(SLOT[p.slot_off + s]) : s;
    uint pos = p.pos0 + (p.has_pos != 0u ? uint(POS[p.pos_off + s]) : 0u);
    uint limit = p.causal != 0u ? min(p.n_kv, pos + t + 1u) : p.n_kv;        // this row's
    uint wg_limit = p.causal != 0u ? min(p.n_kv, pos + t_last + 1u) : p.n_kv;  // the block's
    if (slot >= p.n_slot) limit = wg_limit = 0u;   // never read outside the cache
    uint first = chunk * p.per_chunk, end = min(wg_limit, first + p.per_chunk);
    limit = min(limit, end);

    uint qrow = (s * p.n_tok + t) * p.n_head + h, qb = p.q_off + qrow * DK;
    vec4 q[NK], acc[NV];
    [[unroll]] for (uint k = 0; k < NK; k++) {
        uint d = qb + 4u * (k * SG + lane);
        q[k] = vec4(Q[d], Q[d + 1u], Q[d + 2u], Q[d + 3u]) * p.scale;
    }
    [[unroll]] for (uint k = 0; k < NV; k++) acc[k] = vec4(0.0);
    float m = -1.0 / 0.0, l = 0.0;
    uint kb = p.k_off + slot * p.k_nb3 + hk * p.k_nb1 + 4u * lane;
    uint vb = p.v_off + slot * p.v_nb3 + hk * p.v_nb1 + 4u * lane;
    for (uint j = first; j < end; j += KB) {   // uniform: the same positions for all lanes
        float sc[KB];
        [[unroll]] for (uint i = 0; i < KB; i++) {
            uint ki = kb + min(j + i, end - 1u) * p.k_nb2;   // past the end: masked below
            float a = 0.0;
            [[unroll]] for (uint k = 0; k < NK; k++) a += dot(q[k], k4(ki + 4u * SG * k));
            a = subgroupAdd(a);
            sc[i] = j + i < limit ? a : -1.0 / 0.0;
        }
        float m_new = m;
        [[unroll]] for (uint i = 0; i < KB; i++) m_new = max(m_new, sc[i]);
        float ref = m_new == -1.0 / 0.0 ? 0.0 : m_new;   // nothing seen yet: all weights 0
        float corr = exp(m - ref), pr[KB];
        l *= corr;
        [[unroll]] for (uint i = 0; i < KB; i++) pr[i] = exp(sc[i] - ref), l += pr[i];
        [[unroll]] for (uint k = 0; k < NV; k++) {
            vec4 a = acc[k] * corr;
            [[unroll]] for (uint i = 0; i < KB; i++)
                a = fma(vec4(pr[i]), v4(vb + min(j + i, end - 1u) * p.v_nb2 + 4u * SG * k), a);
            acc[k] = a;
        }
        m = m_new;
    }

    if (!live) return;
    uint row = qrow;
    float inv = l > 0.0 ? 1.0 / l : 0.0;
    if (p.direct == 0u) {   // unnormalised partials and (max, sum), in attention_merge's rows
        uint n_seq = gl_NumWorkGroups.z / n_blk;
        row = ((chunk * n_seq + s) * p.n_tok_blk + tl) * p.n_head + h;
        inv = 1.0;
        if (lane == 0u) ML[row] = vec2(m, l);
    }
    [[unroll]] for (uint k = 0; k < NV; k++) {
        uint o = row * DV + 4u * (k * SG + lane);
        O[o] = acc[k].x * inv, O[o + 1u] = acc[k].y * inv;
        O[o + 2u] = acc[k].z * inv, O[o + 3u] = acc[k].w * inv;
    }
}
