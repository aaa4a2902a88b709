#version 450
// copy.comp: a strided (viewed) tensor into a contiguous f32 one of the same shape.
#include "common.glsl"
#ifdef SRC_F16
layout(binding = 0) readonly buffer Xb { uint Xw[]; };
float x_at(uint i) { return half_at(Xw[i >> 1], i); }
#else
layout(binding = 0) readonly buffer Xb { float Xf[]; };
float x_at(uint i) { return Xf[i]; }
#endif
layout(binding = 1) writeonly buffer Yb { float Y[]; };
layout(push_constant) uniform P { uvec4 ne; uvec4 nb; uint n, off; } p;

void main()
{
    uint i = flat_group() * WG + TID;
    if (i >= p.n) return;
    uvec4 c = uvec4(i % p.ne.x, (i / p.ne.x) % p.ne.y, (i / (p.ne.x * p.ne.y)) % p.ne.z,
                    i / (p.ne.x * p.ne.y * p.ne.z));
    Y[i] = x_at(p.off + c.x + c.y * p.nb.y + c.z * p.nb.z + c.w * p.nb.w);
}
