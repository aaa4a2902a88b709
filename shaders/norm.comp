#version 450
// norm.comp: one workgroup per row. RMS: y = x / sqrt(mean(x^2) + eps) * w.
// LAYER: y = (x - mean) / sqrt(var + eps) * w + b (two passes, for accuracy).
#include "common.glsl"
layout(binding = 0) readonly buffer Xb { float X[]; };
layout(binding = 1) readonly buffer Wb { float Wt[]; };
layout(binding = 2) readonly buffer Bb { float Bt[]; };
layout(binding = 3) buffer Yb { float Y[]; };
layout(push_constant) uniform P { uint n, rows, has_bias; float eps; } p;

void main()
{
    uint r = flat_group();
    if (r >= p.rows) return;   // uniform per workgroup
    uint base = r * p.n;
#ifdef LAYER
    float s = 0.0;
    for (uint i = TID; i < p.n; i += WG) s += X[base + i];
    float mean = wg_sum(s) / float(p.n);
    float v = 0.0;
    for (uint i = TID; i < p.n; i += WG) {
        float d = X[base + i] - mean;
        v += d * d;
    }
    float inv = inversesqrt(wg_sum(v) / float(p.n) + p.eps);
    for (uint i = TID; i < p.n; i += WG)
        Y[base + i] = (X[base + i] - mean) * inv * Wt[i] + (p.has_bias != 0u ? Bt[i] : 0.0);
#else
    float s = 0.0;
    for (uint i = TID; i < p.n; i += WG) s += X[base + i] * X[base + i];
    float inv = inversesqrt(wg_sum(s) / float(p.n) + p.eps);
    for (uint i = TID; i < p.n; i += WG) Y[base + i] = X[base + i] * inv * Wt[i];
#endif
}
