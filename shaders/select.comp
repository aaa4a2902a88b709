#version 450
// select.comp: per row, the K largest values in order (value descending, index ascending on
// ties), by K rounds of a workgroup arg-max, each round excluding what earlier rounds took.
// Rows longer than a chunk are done in two dispatches: candidates per chunk, then the
// candidates (IDS_IN: their original indices come from a second input). K = 1 is argmax.
#include "common.glsl"
layout(binding = 0) readonly buffer Xb { float X[]; };
layout(binding = 1) readonly buffer Ib { int Iin[]; };
layout(binding = 2) writeonly buffer Vb { float Vout[]; };
layout(binding = 3) writeonly buffer Jb { int Iout[]; };
layout(push_constant) uniform P { uint n, chunk, n_chunks, k, ids_in; } p;

shared float bv[gl_WorkGroupSize.x];
shared int bi[gl_WorkGroupSize.x];

// (v, i) ranks before (w, j): larger value first, then lower index. NaN never ranks.
bool before(float v, int i, float w, int j) { return v > w || (v == w && i < j); }

void main()
{
    uint c = gl_WorkGroupID.x, row = gl_WorkGroupID.y;
    uint lo = c * p.chunk, hi = min(p.n, lo + p.chunk);
    float pv = 1.0 / 0.0;     // the previous round's pick
    int pi = -1;
    for (uint r = 0; r < p.k; r++) {
        float best = -1.0 / 0.0;
        int besti = 0x7fffffff;
        for (uint i = lo + TID; i < hi; i += WG) {
            float v = X[row * p.n + i];
            int idx = p.ids_in != 0u ? Iin[row * p.n + i] : int(i);
            if (before(pv, pi, v, idx) && (besti == 0x7fffffff || before(v, idx, best, besti))) {
                best = v;
                besti = idx;
            }
        }
        bv[TID] = best;
        bi[TID] = besti;
        barrier();
        for (uint s = WG / 2u; s > 0u; s >>= 1) {
            if (TID < s && bi[TID + s] != 0x7fffffff &&
                (bi[TID] == 0x7fffffff || before(bv[TID + s], bi[TID + s], bv[TID], bi[TID]))) {
                bv[TID] = bv[TID + s];
                bi[TID] = bi[TID + s];
            }
            barrier();
        }
        pv = bv[0];
        pi = bi[0];
        barrier();
        if (TID == 0u) {
            uint o = (row * p.n_chunks + c) * p.k + r;
            Vout[o] = pv;
            Iout[o] = pi;
        }
    }
}
