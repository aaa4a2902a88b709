/* test_eltwise.c: add/mul with broadcasting (bias over rows, per-channel over planes),
 * SiLU, both GELUs, scale, SwiGLU, and copying a strided view. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "ref.h"

static void test_binary(int64_t a0, int64_t a1, int64_t a2, int64_t b0, int64_t b1, int64_t b2,
                        gpu_binop op)
{
    int64_t na = a0 * a1 * a2, nb = b0 * b1 * b2;
    float *a = th_randv(na, 2.0f), *b = th_randv(nb, 2.0f), *want = th_alloc((size_t)na * 4);
    gpu_tensor *A = th_tensor(GPU_F32, a0, a1, a2, 1, a), *B = th_tensor(GPU_F32, b0, b1, b2, 1, b);
    gpu_tensor *Y = th_out(a0, a1, a2, 1);
    TH_OK(gpu_binary(T, Y, A, B, op));
    for (int64_t z = 0; z < a2; z++)
        for (int64_t y = 0; y < a1; y++)
            for (int64_t x = 0; x < a0; x++) {
                int64_t i = (z * a1 + y) * a0 + x;
                float bv = b[((b2 > 1 ? z : 0) * b1 + (b1 > 1 ? y : 0)) * b0 + (b0 > 1 ? x : 0)];
                want[i] = op == GPU_ADD ? a[i] + bv : a[i] * bv;
            }
    float *got = th_read(Y);
    char what[96];
    snprintf(what, sizeof what, "%s [%lld,%lld,%lld] by [%lld,%lld,%lld]",
             op == GPU_ADD ? "add" : "mul", (long long)a0, (long long)a1, (long long)a2,
             (long long)b0, (long long)b1, (long long)b2);
    th_check(what, want, got, na, 1e-7);
    free(a), free(b), free(want), free(got);
    gpu_free(T, A), gpu_free(T, B), gpu_free(T, Y);
}

static void test_unary(int64_t n)
{
    static const char *names[] = {"silu", "gelu", "gelu_tanh", "scale"};
    float *x = th_randv(n, 8.0f), *want = th_alloc((size_t)n * 4);
    x[0] = 60.0f, x[1] = -60.0f; /* saturation ends */
    gpu_tensor *X = th_tensor(GPU_F32, n, 1, 1, 1, x), *Y = th_out(n, 1, 1, 1);
    for (int op = GPU_SILU; op <= GPU_SCALE; op++) {
        TH_OK(gpu_fill(T, Y, 0x7fc00000u));
        TH_OK(gpu_unary(T, Y, X, (gpu_unop)op, 0.37f));
        for (int64_t i = 0; i < n; i++)
            want[i] = op == GPU_SILU ? ref_silu(x[i]) : op == GPU_GELU_ERF ? ref_gelu(x[i])
                      : op == GPU_GELU_TANH ? ref_gelu_tanh(x[i]) : 0.37f * x[i];
        float *got = th_read(Y);
        char what[64];
        snprintf(what, sizeof what, "%s n=%lld", names[op], (long long)n);
        th_check(what, want, got, n, 1e-6);
        free(got);
    }
    free(x), free(want);
    gpu_free(T, X), gpu_free(T, Y);
}

static void test_swiglu(int64_t n, int64_t rows)
{
    float *g = th_randv(n * rows, 6.0f), *u = th_randv(n * rows, 2.0f);
    float *want = th_alloc((size_t)(n * rows) * 4);
    gpu_tensor *G = th_tensor(GPU_F32, n, rows, 1, 1, g), *U = th_tensor(GPU_F32, n, rows, 1, 1, u);
    gpu_tensor *Y = th_out(n, rows, 1, 1);
    TH_OK(gpu_swiglu(T, Y, G, U));
    for (int64_t i = 0; i < n * rows; i++) want[i] = ref_silu(g[i]) * u[i];
    float *got = th_read(Y);
    th_check("swiglu", want, got, n * rows, 1e-6);
    free(g), free(u), free(want), free(got);
    gpu_free(T, G), gpu_free(T, U), gpu_free(T, Y);
}

/* The strided view [4..4+w) x every second row of a [20, 12, 3] tensor. */
static void test_copy_view(gpu_type type)
{
    int64_t n = 20 * 12 * 3, w = 9;
    float *x = th_randv(n, 1.0f);
    gpu_tensor *X = th_tensor(type, 20, 12, 3, 1, x);
    float *stored = th_read(X);
    gpu_tensor *V = gpu_view(T, X, w, 6, 3, 1, 40, 240, 720, 4);
    gpu_tensor *Y = th_out(w, 6, 3, 1);
    TH_OK(gpu_copy(T, Y, V));
    float *want = th_alloc((size_t)(w * 18) * 4);
    for (int64_t z = 0; z < 3; z++)
        for (int64_t y = 0; y < 6; y++)
            for (int64_t i = 0; i < w; i++) want[(z * 6 + y) * w + i] = stored[4 + i + y * 40 + z * 240];
    float *got = th_read(Y);
    th_check(type == GPU_F16 ? "copy of an f16 view" : "copy of an f32 view", want, got, w * 18, 0);
    free(x), free(stored), free(want), free(got);
    gpu_free(T, X), gpu_free(T, V), gpu_free(T, Y);
}

/* Rows written into a strided view of a bigger tensor (a KV cache at position 5). */
static void test_copy_into_view(void)
{
    int64_t hd = 8, heads = 3, ctx = 20, nt = 4;
    float *cache0 = th_randv(hd * heads * ctx, 1.0f), *x = th_randv(hd * heads * nt, 1.0f);
    gpu_tensor *C = th_tensor(GPU_F32, hd, heads, ctx, 1, cache0), *X = th_tensor(GPU_F32, hd, heads, nt, 1, x);
    gpu_tensor *V = gpu_view(T, C, hd, heads, nt, 1, hd, hd * heads, hd * heads * ctx, 5 * hd * heads);
    TH_OK(gpu_copy(T, V, X));
    float *got = th_read(C), *want = th_alloc((size_t)(hd * heads * ctx) * 4);
    memcpy(want, cache0, (size_t)(hd * heads * ctx) * 4);
    memcpy(want + 5 * hd * heads, x, (size_t)(hd * heads * nt) * 4);
    th_check("copy into a cache view", want, got, hd * heads * ctx, 0);
    free(cache0), free(x), free(got), free(want);
    gpu_free(T, C), gpu_free(T, X), gpu_free(T, V);
}

int main(void)
{
    th_init("test_eltwise");
    test_binary(100, 7, 1, 100, 7, 1, GPU_ADD);
    test_binary(100, 7, 1, 100, 1, 1, GPU_ADD);   /* bias over rows */
    test_binary(9, 11, 5, 1, 1, 5, GPU_MUL);      /* per-channel over [W, H, C] */
    test_binary(33, 2, 3, 33, 2, 3, GPU_MUL);
    test_unary(1000);
    test_unary(70001);
    test_swiglu(300, 3);
    test_copy_view(GPU_F32);
    test_copy_view(GPU_F16);
    test_copy_into_view();
    return th_finish();
}
