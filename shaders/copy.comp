#version 450
// copy.comp: y = x element by element between strided tensors of one shape (making a view
// contiguous, or writing new rows into a KV cache view). Offsets and strides in elements.
#include "common.glsl"
#ifdef SRC_F16
layout(binding = 0) readonly buffer Xb { uint Xw[]; };
float x_at(uint i) { return half_at(Xw[i >> 1], i); }
#else
layout(binding = 0) readonly buffer Xb { float Xf[]; };
float x_at(uint i) { return Xf[i]; }
#endif
layout(binding = 1) buffer Yb { float Y[]; };
layout(push_constant) uniform P { uvec4 ne; uvec4 xnb; uvec4 ynb; uint n, xoff, yoff; } p;

void main()
{
    uint i = flat_group() * WG + TID;
    if (i >= p.n) return;
    uvec4 c = uvec4(i % p.ne.x, (i / p.ne.x) % p.ne.y, (i / (p.ne.x * p.ne.y)) % p.ne.z,
                    i / (p.ne.x * p.ne.y * p.ne.z));
    Y[p.yoff + c.x + c.y * p.ynb.y + c.z * p.ynb.z + c.w * p.ynb.w] =
        x_at(p.xoff + c.x + c.y * p.xnb.y + c.z * p.xnb.z + c.w * p.xnb.w);
}
