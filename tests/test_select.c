/* test_select.c: argmax and top-k over rows from a handful of values to a vocabulary,
 * with ties (lower index first). */
#include <stdio.h>
#include <stdlib.h>
#include "harness.h"
#include "ref.h"

static void test_topk(int64_t n, int64_t rows, int k, int ties)
{
    float *x = th_randv(n * rows, 10.0f);
    if (ties) /* coarse values: many equal */
        for (int64_t i = 0; i < n * rows; i++) x[i] = (float)(int)(x[i]);
    gpu_tensor *X = th_tensor(GPU_F32, n, rows, 1, 1, x), *V = th_out(k, rows, 1, 1);
    gpu_tensor *I = gpu_new(T, GPU_I32, k, rows, 1, 1, "ids");
    TH_OK(gpu_fill(T, I, 0xffffffffu));
    TH_OK(gpu_topk(T, V, I, X, k));
    float *gv = th_read(V), *gi = th_read(I);
    float *wv = th_alloc((size_t)(k * rows) * 4), *wi = th_alloc((size_t)(k * rows) * 4);
    int32_t *ri = th_alloc((size_t)(k * rows) * 4);
    ref_topk(wv, ri, x, n, rows, k);
    for (int64_t i = 0; i < k * rows; i++) wi[i] = (float)ri[i];
    char what[80];
    snprintf(what, sizeof what, "topk k=%d n=%lld rows=%lld%s values", k, (long long)n,
             (long long)rows, ties ? " ties" : "");
    th_check(what, wv, gv, k * rows, 0);
    snprintf(what, sizeof what, "topk k=%d n=%lld rows=%lld%s ids", k, (long long)n,
             (long long)rows, ties ? " ties" : "");
    th_check(what, wi, gi, k * rows, 0);
    free(x), free(gv), free(gi), free(wv), free(wi), free(ri);
    gpu_free(T, X), gpu_free(T, V), gpu_free(T, I);
}

static void test_argmax(int64_t n, int64_t rows)
{
    float *x = th_randv(n * rows, 1.0f);
    x[n - 1] = 5.0f; /* the last element of row 0 wins */
    gpu_tensor *X = th_tensor(GPU_F32, n, rows, 1, 1, x);
    gpu_tensor *I = gpu_new(T, GPU_I32, rows, 1, 1, 1, "ids");
    TH_OK(gpu_fill(T, I, 0xffffffffu));
    TH_OK(gpu_argmax(T, I, X));
    float *got = th_read(I), *want = th_alloc((size_t)rows * 4);
    for (int64_t r = 0; r < rows; r++) {
        int64_t b = 0;
        for (int64_t i = 1; i < n; i++)
            if (x[r * n + i] > x[r * n + b]) b = i;
        want[r] = (float)b;
    }
    char what[64];
    snprintf(what, sizeof what, "argmax n=%lld rows=%lld", (long long)n, (long long)rows);
    th_check(what, want, got, rows, 0);
    free(x), free(got), free(want);
    gpu_free(T, X), gpu_free(T, I);
}

int main(void)
{
    th_init("test_select");
    test_argmax(5, 3);
    test_argmax(129280, 2);
    test_topk(10, 4, 10, 0);
    test_topk(1000, 3, 40, 1);
    test_topk(102400, 2, 64, 0);
    test_topk(129280, 1, 50, 1);
    return th_finish();
}
