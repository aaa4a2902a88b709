#version 450
// attention_merge.comp: out = sum_c O_c * exp(m_c - M) / sum_c l_c * exp(m_c - M) over the
// chunks c of one query row (M = max m_c): the online-softmax combination. Rows here are
// the block's (seq, token, head); the output row adds the block's first token t0.
#include "common.glsl"
layout(binding = 0) readonly buffer Ob { float O[]; };
layout(binding = 1) readonly buffer Mb { vec2 ML[]; };
layout(binding = 2) writeonly buffer Yb { float Y[]; };
layout(push_constant) uniform P { uint dv, rows, n_chunks, n_head, n_tok, t0, n_tok_blk; } p;

void main()
{
    uint row = flat_group();
    if (row >= p.rows) return;
    uint h = row % p.n_head, tl = (row / p.n_head) % p.n_tok_blk, s = row / (p.n_head * p.n_tok_blk);
    uint out_row = (s * p.n_tok + p.t0 + tl) * p.n_head + h;
    float M = -1.0 / 0.0;
    for (uint c = 0; c < p.n_chunks; c++) M = max(M, ML[c * p.rows + row].x);
    float L = 0.0;
    for (uint c = 0; c < p.n_chunks; c++) {
        vec2 ml = ML[c * p.rows + row];
        if (ml.y > 0.0) L += ml.y * exp(ml.x - M);
    }
    for (uint d = TID; d < p.dv; d += WG) {
        float acc = 0.0;
        for (uint c = 0; c < p.n_chunks; c++) {
            vec2 ml = ML[c * p.rows + row];
            if (ml.y > 0.0) acc += O[(c * p.rows + row) * p.dv + d] * exp(ml.x - M);
        }
        Y[out_row * p.dv + d] = acc / L;
    }
}
