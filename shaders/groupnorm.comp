#version 450
// groupnorm.comp: STATS: one workgroup per (batch, group) computes mean and 1/std of the
// group's (C/groups)*H*W values (Welford per invocation, Chan's merge across them).
// APPLY: y = (x - mean) * rstd * w[c] + b[c] per element.
#include "common.glsl"
layout(binding = 0) readonly buffer Xb { float X[]; };
layout(binding = 1) buffer Sb { vec2 S[]; };        // (mean, rstd) per (batch, group)
layout(binding = 2) readonly buffer Wb { float Wt[]; };
layout(binding = 3) readonly buffer Bb { float Bt[]; };
layout(binding = 4) writeonly buffer Yb { float Y[]; };
layout(push_constant) uniform P { uint hw, c, groups, total, n_groups, has_bias; float eps; } p;

#ifdef STATS
shared vec3 part[gl_WorkGroupSize.x];
void main()
{
    uint g = flat_group();                  // batch * groups + group
    if (g >= p.n_groups) return;            // the 2-D grid's spare workgroups
    uint n = (p.c / p.groups) * p.hw, base = g * n;
    float cnt = 0.0, mean = 0.0, m2 = 0.0;
    for (uint i = TID; i < n; i += WG) {
        float x = X[base + i];
        cnt += 1.0;
        float d = x - mean;
        mean += d / cnt;
        m2 += d * (x - mean);
    }
    part[TID] = vec3(cnt, mean, m2);
    barrier();
    for (uint s = WG / 2u; s > 0u; s >>= 1) {
        if (TID < s) {
            vec3 a = part[TID], b = part[TID + s];
            float nt = a.x + b.x;
            if (nt > 0.0) {
                float d = b.y - a.y;
                part[TID] = vec3(nt, a.y + d * b.x / nt, a.z + b.z + d * d * a.x * b.x / nt);
            }
        }
        barrier();
    }
    if (TID == 0u) S[g] = vec2(part[0].y, inversesqrt(part[0].z / part[0].x + p.eps));
}
#else
void main()
{
    uint i = flat_group() * WG + TID;
    if (i >= p.total) return;
    uint c = (i / p.hw) % p.c, b = i / (p.hw * p.c);
    vec2 s = S[b * p.groups + c / (p.c / p.groups)];
    Y[i] = (X[i] - s.x) * s.y * Wt[c] + (p.has_bias != 0u ? Bt[c] : 0.0);
}
#endif
