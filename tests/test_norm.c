/* test_norm.c: RMSNorm, LayerNorm (with and without bias, in place) and GroupNorm. */
#include <stdio.h>
#include <stdlib.h>
#include "harness.h"
#include "ref.h"

static void test_row_norms(int64_t n, int64_t rows)
{
    float *x = th_randv(n * rows, 3.0f), *w = th_randv(n, 1.0f), *b = th_randv(n, 1.0f);
    for (int64_t i = 0; i < n * rows; i++) x[i] += 2.0f; /* a mean far from zero */
    gpu_tensor *X = th_tensor(GPU_F32, n, rows, 1, 1, x), *Wt = th_tensor(GPU_F32, n, 1, 1, 1, w);
    gpu_tensor *B = th_tensor(GPU_F32, n, 1, 1, 1, b), *Y = th_out(n, rows, 1, 1);
    float *want = th_alloc((size_t)(n * rows) * 4);
    char what[80];

    TH_OK(gpu_rmsnorm(T, Y, X, Wt, 1e-6f));
    float *got = th_read(Y);
    ref_rmsnorm(want, x, w, n, rows, 1e-6f);
    snprintf(what, sizeof what, "rmsnorm n=%lld rows=%lld", (long long)n, (long long)rows);
    th_check(what, want, got, n * rows, 1e-6);
    free(got);

    TH_OK(gpu_fill(T, Y, 0x7fc00000u));
    TH_OK(gpu_layernorm(T, Y, X, Wt, B, 1e-5f));
    got = th_read(Y);
    ref_layernorm(want, x, w, b, n, rows, 1e-5f);
    snprintf(what, sizeof what, "layernorm n=%lld rows=%lld", (long long)n, (long long)rows);
    th_check(what, want, got, n * rows, 1e-6);
    free(got);

    TH_OK(gpu_layernorm(T, X, X, Wt, NULL, 1e-5f)); /* in place, no bias */
    got = th_read(X);
    ref_layernorm(want, x, w, NULL, n, rows, 1e-5f);
    snprintf(what, sizeof what, "layernorm in place, no bias n=%lld", (long long)n);
    th_check(what, want, got, n * rows, 1e-6);
    free(got);
    free(x), free(w), free(b), free(want);
    gpu_free(T, X), gpu_free(T, Wt), gpu_free(T, B), gpu_free(T, Y);
}

static void test_groupnorm(int64_t W, int64_t H, int64_t C, int64_t B, int groups, int bias)
{
    int64_t n = W * H * C * B;
    float *x = th_randv(n, 2.0f), *w = th_randv(C, 1.0f), *b = th_randv(C, 1.0f);
    for (int64_t i = 0; i < n; i++) x[i] += 5.0f;
    gpu_tensor *X = th_tensor(GPU_F32, W, H, C, B, x), *Wt = th_tensor(GPU_F32, C, 1, 1, 1, w);
    gpu_tensor *Bt = th_tensor(GPU_F32, C, 1, 1, 1, b), *Y = th_out(W, H, C, B);
    TH_OK(gpu_groupnorm(T, Y, X, Wt, bias ? Bt : NULL, groups, 1e-6f));
    float *got = th_read(Y), *want = th_alloc((size_t)n * 4);
    ref_groupnorm(want, x, w, bias ? b : NULL, W * H, C, B, groups, 1e-6f);
    char what[96];
    snprintf(what, sizeof what, "groupnorm %lldx%lldx%lld B=%lld groups=%d", (long long)W,
             (long long)H, (long long)C, (long long)B, groups);
    th_check(what, want, got, n, 1e-5);
    free(x), free(w), free(b), free(got), free(want);
    gpu_free(T, X), gpu_free(T, Wt), gpu_free(T, Bt), gpu_free(T, Y);
}

int main(void)
{
    th_init("test_norm");
    test_row_norms(64, 3);
    test_row_norms(1000, 7);
    test_row_norms(7168, 2);
    test_row_norms(5, 1);
    test_groupnorm(8, 8, 64, 1, 32, 1);
    test_groupnorm(13, 7, 96, 2, 32, 0);
    test_groupnorm(96, 96, 32, 1, 8, 1);
    return th_finish();
}
