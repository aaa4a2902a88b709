#version 450
// rope.comp: rotates pairs of x [head_dim, n_head, n_tok, n_seq] in place by
// angle = pos * freq[i] (freq: the op's f32 table, YaRN included), cos/sin times attn_factor.
// Token t of sequence s sits at pos0 + t, plus POS[s] when each sequence has its own offset.
// The angle is reduced into [-pi, pi] with a three-part 2*pi (Cody-Waite with fma) because
// GPU sin/cos are only accurate there and positions reach 10^5 radians.
#include "common.glsl"
layout(binding = 0) buffer Xb { float X[]; };
layout(binding = 1) readonly buffer Fb { float F[]; };
layout(binding = 2) readonly buffer Pb { int POS[]; };
layout(push_constant) uniform P {
    uint head_dim, n_head, n_tok, n_seq, n_rot, mode, pos0; float attn_factor;
    uint pos_off, has_pos;
} p;

void main()
{
    uint half_rot = p.n_rot / 2u;
    uint id = flat_group() * WG + TID;
    if (id >= half_rot * p.n_head * p.n_tok * p.n_seq) return;
    uint i = id % half_rot, h = (id / half_rot) % p.n_head, row = id / (half_rot * p.n_head);
    uint t = row % p.n_tok, seq = row / p.n_tok;
    uint pos = p.pos0 + t + (p.has_pos != 0u ? uint(POS[p.pos_off + seq]) : 0u);
    float a = float(pos) * F[i];
    float k = round(a * 0.15915494309189535);
    precise float r = fma(-k, 6.28125, a);
    r = fma(-k, 0.0019350051879882812, r);
    r = fma(-k, 3.019916050561733e-07, r);
    float c = cos(r) * p.attn_factor, s = sin(r) * p.attn_factor;
    uint base = (row * p.n_head + h) * p.head_dim;
    uint i0 = p.mode == 0u ? base + 2u * i : base + i;
    uint i1 = p.mode == 0u ? i0 + 1u : i0 + half_rot;
    float x0 = X[i0], x1 = X[i1];
    X[i0] = x0 * c - x1 * s;
    X[i1] = x0 * s + x1 * c;
}
