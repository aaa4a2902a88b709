#version 450
// get_rows.comp: Y[i, :] = table[ids[i], :] dequantised to f32, four elements per invocation.
// A table too big for one binding is bound in row ranges [r0, r1): each dispatch copies the
// ids that fall in its range; the first one also zeroes rows of out-of-range ids.
#include "common.glsl"
layout(binding = 0) readonly buffer WQb { uint WQ[]; };
layout(binding = 1) readonly buffer WSb { uint WS[]; };
layout(binding = 2) readonly buffer Ib { int ids[]; };
layout(binding = 3) writeonly buffer Yb { vec4 Y4[]; };
layout(push_constant) uniform P {
    uint D, n, r0, r1, V, zero_oob, wq_off, ws_off, ids_off;
} p;
#define wq_off p.wq_off
#define ws_off p.ws_off
#include "weights.glsl"

void main()
{
    uint k = (gl_WorkGroupID.x * WG + TID) * 4u, i = gl_WorkGroupID.y;
    if (k >= p.D || i >= p.n) return;
    int id = ids[p.ids_off + i];
    if (id >= int(p.r0) && id < int(p.r1))
        Y4[(i * p.D + k) / 4u] = w_load4(uint(id) - p.r0, k, p.D);
    else if (p.zero_oob != 0u && (id < 0 || id >= int(p.V)))
        Y4[(i * p.D + k) / 4u] = vec4(0.0);
}
