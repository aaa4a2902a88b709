#version 450
// add_rows.comp: Y[ids[i], :] += w[i] * S[i, :] (or = S[i, :] when set), one invocation per
// element; the ids within one dispatch are distinct (one expert's tokens; the cache rows of
// one step), so no two invocations write one place. Y's rows may be strided (a cache view).
#include "common.glsl"
layout(binding = 0) buffer Yb { float Y[]; };
layout(binding = 1) readonly buffer Sb { float S[]; };
layout(binding = 2) readonly buffer Ib { int ids[]; };
layout(binding = 3) readonly buffer Wb { float Wt[]; };
layout(push_constant) uniform P { uint D, n, rows, ids_off, w_off, y_off, y_nb1, set; } p;

void main()
{
    uint d = gl_WorkGroupID.x * WG + TID, i = gl_WorkGroupID.y;
    if (d >= p.D || i >= p.n) return;
    int r = ids[p.ids_off + i];
    if (r < 0 || r >= int(p.rows)) return;
    uint y = p.y_off + uint(r) * p.y_nb1 + d;
    float s = S[i * p.D + d];
    Y[y] = p.set != 0u ? s : Y[y] + Wt[p.w_off + i] * s;
}
