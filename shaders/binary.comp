#version 450
// binary.comp: y = a op b with b broadcast along any dimension where its size is 1
// (a bias over rows, a per-channel scale over [W, H, C]). op 0 add, 1 mul, 2 silu(a)*b.
#include "common.glsl"
layout(binding = 0) readonly buffer Ab { float A[]; };
layout(binding = 1) readonly buffer Bb { float B[]; };
layout(binding = 2) buffer Yb { float Y[]; };
layout(push_constant) uniform P { uvec4 ane; uvec4 bne; uint n, op; } p;

void main()
{
    uint i = flat_group() * WG + TID;
    if (i >= p.n) return;
    uvec4 c = uvec4(i % p.ane.x, (i / p.ane.x) % p.ane.y, (i / (p.ane.x * p.ane.y)) % p.ane.z,
                    i / (p.ane.x * p.ane.y * p.ane.z));
    c = min(c, p.bne - 1u);   // dims where b has size 1 collapse to index 0
    uint j = c.x + p.bne.x * (c.y + p.bne.y * (c.z + p.bne.z * c.w));
    float a = A[i], b = B[j];
    Y[i] = p.op == 0u ? a + b : p.op == 1u ? a * b : a / (1.0 + exp(-a)) * b;
}
