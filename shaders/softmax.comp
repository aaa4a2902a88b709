#version 450
// softmax.comp: y = softmax(scale * x) over each row; one workgroup per row, three passes.
#include "common.glsl"
layout(binding = 0) readonly buffer Xb { float X[]; };
layout(binding = 1) buffer Yb { float Y[]; };
layout(push_constant) uniform P { uint n, rows; float scale; } p;

void main()
{
    uint r = flat_group();
    if (r >= p.rows) return;
    uint base = r * p.n;
    float m = -1.0 / 0.0;
    for (uint i = TID; i < p.n; i += WG) m = max(m, p.scale * X[base + i]);
    m = wg_max(m);
    float s = 0.0;
    for (uint i = TID; i < p.n; i += WG) s += exp(p.scale * X[base + i] - m);
    float inv = 1.0 / wg_sum(s);
    for (uint i = TID; i < p.n; i += WG) Y[base + i] = exp(p.scale * X[base + i] - m) * inv;
}
