#version 450
// add_rows.comp: Y[ids[i], :] += w[i] * S[i, :], one invocation per element; the ids within
// one dispatch are distinct (one expert's tokens), so no two invocations add to one place.
#include "common.glsl"
layout(binding = 0) buffer Yb { float Y[]; };
layout(binding = 1) readonly buffer Sb { float S[]; };
layout(binding = 2) readonly buffer Ib { int ids[]; };
layout(binding = 3) readonly buffer Wb { float Wt[]; };
layout(push_constant) uniform P { uint D, n, rows, ids_off, w_off; } p;

void main()
{
    uint d = gl_WorkGroupID.x * WG + TID, i = gl_WorkGroupID.y;
    if (d >= p.D || i >= p.n) return;
    int r = ids[p.ids_off + i];
    if (r < 0 || r >= int(p.rows)) return;
    Y[uint(r) * p.D + d] += Wt[p.w_off + i] * S[i * p.D + d];
}
