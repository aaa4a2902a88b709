#version 450
// add_rows.comp: Y[ids[i], :] += w[i] * S[i, :] (or = S[i, :] when set), one invocation per
// element; the ids within one dispatch are distinct (one expert's tokens; the cache rows of
// one step), so no two invocations write one place. Y's rows may be strided (a cache view).
// Y_F16 (set only: an f16 KV cache): one invocation per pair of elements, packed into one
// word, so no two invocations write one word (rows, offsets and strides are even).
#include "common.glsl"
#ifdef Y_F16
layout(binding = 0) buffer Yb { uint Yw[]; };
#else
layout(binding = 0) buffer Yb { float Y[]; };
#endif
layout(binding = 1) readonly buffer Sb { float S[]; };
layout(binding = 2) readonly buffer Ib { int ids[]; };
layout(binding = 3) readonly buffer Wb { float Wt[]; };
layout(push_constant) uniform P { uint D, n, rows, ids_off, w_off, y_off, y_nb1, set; } p;

void main()
{
#ifdef Y_F16
    uint d = 2u * (gl_WorkGroupID.x * WG + TID), i = gl_WorkGroupID.y;
#else
    uint d = gl_WorkGroupID.x * WG + TID, i = gl_WorkGroupID.y;
#endif
    if (d >= p.D || i >= p.n) return;
    int r = ids[p.ids_off + i];
    if (r < 0 || r >= int(p.rows)) return;
    uint y = p.y_off + uint(r) * p.y_nb1 + d;
#ifdef Y_F16
    Yw[y >> 1] = packHalf2x16(vec2(S[i * p.D + d], S[i * p.D + d + 1u]));
#else
    float s = S[i * p.D + d];
    Y[y] = p.set != 0u ? s : Y[y] + Wt[p.w_off + i] * s;
#endif
}
