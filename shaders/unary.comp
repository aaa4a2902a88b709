#version 450
// unary.comp: y = f(x). op 0 silu, 1 gelu (erf), 2 gelu (tanh approximation), 3 scale.
#include "common.glsl"
layout(binding = 0) readonly buffer Xb { float X[]; };
layout(binding = 1) buffer Yb { float Y[]; };
layout(push_constant) uniform P { uint n, op; float s; } p;

// erf with |error| < 1.2e-7 (Numerical Recipes' erfc Chebyshev fit); GLSL has no erf.
float erf_(float x)
{
    float z = abs(x), t = 1.0 / (1.0 + 0.5 * z);
    float r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
              t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
              t * (-0.82215223 + t * 0.17087277)))))))));
    return x >= 0.0 ? 1.0 - r : r - 1.0;
}

void main()
{
    uint i = flat_group() * WG + TID;
    if (i >= p.n) return;
    float x = X[i], y;
    if (p.op == 0u) y = x / (1.0 + exp(-x));
    else if (p.op == 1u) y = 0.5 * x * (1.0 + erf_(x * 0.70710678118654752));
    else if (p.op == 2u) {
        float u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
        y = 0.5 * x * (1.0 + (abs(u) > 10.0 ? sign(u) : tanh(u)));  // tanh overflows past ~44
    } else y = p.s * x;
    Y[i] = y;
}
