#version 450
// upsample.comp: nearest-neighbour 2x, [W, H, C, B] -> [2W, 2H, C, B].
#include "common.glsl"
layout(binding = 0) readonly buffer Xb { float X[]; };
layout(binding = 1) writeonly buffer Yb { float Y[]; };
layout(push_constant) uniform P { uint w, h, n; } p;

void main()
{
    uint i = flat_group() * WG + TID;
    if (i >= p.n) return;
    uint ow = 2u * p.w, x = i % ow, y = (i / ow) % (2u * p.h), plane = i / (ow * 2u * p.h);
    Y[i] = X[(plane * p.h + y / 2u) * p.w + x / 2u];
}
