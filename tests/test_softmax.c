/* test_softmax.c: row softmax with scale, short rows to a vocabulary, large logits. */
#include <stdio.h>
#include <stdlib.h>
#include "harness.h"
#include "ref.h"

static void test_softmax(int64_t n, int64_t rows, float scale, float range)
{
    float *x = th_randv(n * rows, range), *want = th_alloc((size_t)(n * rows) * 4);
    gpu_tensor *X = th_tensor(GPU_F32, n, rows, 1, 1, x), *Y = th_out(n, rows, 1, 1);
    TH_OK(gpu_softmax(T, Y, X, scale));
    float *got = th_read(Y);
    ref_softmax(want, x, n, rows, scale);
    char what[80];
    snprintf(what, sizeof what, "softmax n=%lld rows=%lld scale=%g", (long long)n, (long long)rows,
             scale);
    th_check(what, want, got, n * rows, 1e-5);
    TH_OK(gpu_softmax(T, X, X, scale)); /* in place */
    free(got);
    got = th_read(X);
    th_check("softmax in place", want, got, n * rows, 1e-5);
    free(x), free(want), free(got);
    gpu_free(T, X), gpu_free(T, Y);
}

int main(void)
{
    th_init("test_softmax");
    test_softmax(1, 3, 1.0f, 1.0f);
    test_softmax(77, 5, 0.125f, 10.0f);
    test_softmax(1000, 4, 1.0f, 80.0f); /* exp would overflow without the max */
    test_softmax(129280, 2, 1.0f, 20.0f);
    return th_finish();
}
