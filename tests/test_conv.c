/* test_conv.c: 3x3 (pad 1) and 1x1 convolutions with f32/f16/bf16 weights, with and without
 * bias, sizes that fit no tile; nearest 2x upsampling. */
#include <stdio.h>
#include <stdlib.h>
#include "harness.h"
#include "ref.h"

static void test_conv(gpu_type wt, int k, int64_t W, int64_t H, int64_t Cin, int64_t Cout,
                      int64_t B, int bias)
{
    int64_t nx = W * H * Cin * B, nw = (int64_t)k * k * Cin * Cout, ny = W * H * Cout * B;
    float *x = th_randv(nx, 1.0f), *w = th_randv(nw, 0.3f), *b = th_randv(Cout, 1.0f);
    gpu_tensor *X = th_tensor(GPU_F32, W, H, Cin, B, x);
    gpu_tensor *Wt = th_tensor(wt, k * k * Cin, Cout, 1, 1, w);
    gpu_tensor *Bt = th_tensor(GPU_F32, Cout, 1, 1, 1, b), *Y = th_out(W, H, Cout, B);
    TH_OK(gpu_conv2d(T, Y, X, Wt, bias ? Bt : NULL, k));
    float *ws = th_read(Wt), *got = th_read(Y), *want = th_alloc((size_t)ny * 4);
    ref_conv2d(want, x, ws, bias ? b : NULL, W, H, Cin, Cout, B, k);
    char what[96];
    snprintf(what, sizeof what, "conv%dx%d %s %lldx%lld %lld->%lld B=%lld", k, k,
             gpu_type_name(wt), (long long)W, (long long)H, (long long)Cin, (long long)Cout,
             (long long)B);
    th_check(what, want, got, ny, 1e-6);
    free(x), free(w), free(b), free(ws), free(got), free(want);
    gpu_free(T, X), gpu_free(T, Wt), gpu_free(T, Bt), gpu_free(T, Y);
}

static void test_upsample(int64_t W, int64_t H, int64_t C, int64_t B)
{
    int64_t n = W * H * C * B;
    float *x = th_randv(n, 1.0f), *want = th_alloc((size_t)n * 16);
    gpu_tensor *X = th_tensor(GPU_F32, W, H, C, B, x), *Y = th_out(2 * W, 2 * H, C, B);
    TH_OK(gpu_upsample2x(T, Y, X));
    ref_upsample2x(want, x, W, H, C * B);
    float *got = th_read(Y);
    th_check("upsample2x", want, got, n * 4, 0);
    free(x), free(want), free(got);
    gpu_free(T, X), gpu_free(T, Y);
}

int main(void)
{
    th_init("test_conv");
    test_conv(GPU_F32, 3, 17, 9, 5, 11, 1, 1);
    test_conv(GPU_F16, 3, 8, 8, 32, 16, 2, 0);
    test_conv(GPU_BF16, 3, 24, 5, 3, 7, 1, 1);
    test_conv(GPU_F32, 1, 13, 11, 20, 9, 1, 1);
    test_conv(GPU_F16, 1, 70, 3, 8, 3, 1, 0);
    test_upsample(7, 5, 3, 2);
    test_upsample(64, 64, 2, 1);
    return th_finish();
}
