/* test_rope.c: rotary embedding in both pair layouts, partial rotation, YaRN, offsets and
 * positions far beyond 2*pi (the angle reduction). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "ref.h"

static void test_rope(int64_t hd, int64_t nh, int64_t nt, int64_t ns, int n_rot, int half,
                      float base, const gpu_rope_scaling *yarn, int pos0)
{
    int64_t n = hd * nh * nt * ns;
    float *x = th_randv(n, 1.0f), *want = th_alloc((size_t)n * 4);
    memcpy(want, x, (size_t)n * 4);
    gpu_tensor *X = th_tensor(GPU_F32, hd, nh, nt, ns, x);
    TH_OK(gpu_rope(T, X, n_rot, half ? GPU_ROPE_HALF : GPU_ROPE_INTERLEAVED, base, yarn, pos0));
    float *got = th_read(X);
    ref_rope(want, hd, nh, nt, ns, n_rot, half, base, yarn, pos0);
    char what[128];
    snprintf(what, sizeof what, "rope %s hd=%lld rot=%d heads=%lld tok=%lld seq=%lld pos0=%d%s",
             half ? "half" : "interleaved", (long long)hd, n_rot, (long long)nh, (long long)nt,
             (long long)ns, pos0, yarn ? (yarn->kind == GPU_ROPE_YARN ? " yarn" : yarn->kind == GPU_ROPE_LLAMA3 ? " llama3" : " linear") : "");
    th_check(what, want, got, n, 2e-6);
    free(x), free(want), free(got);
    gpu_free(T, X);
}

int main(void)
{
    th_init("test_rope");
    gpu_rope_scaling yarn = {.kind = GPU_ROPE_YARN, .factor = 40, .orig_ctx = 4096,
                             .beta_fast = 32, .beta_slow = 1, .attn_factor = 1.0f};
    gpu_rope_scaling yarn_m = {.kind = GPU_ROPE_YARN, .factor = 4, .orig_ctx = 32,
                               .beta_fast = 32, .beta_slow = 1, .attn_factor = 0.8f};
    /* Llama 3.1's published rope_scaling */
    gpu_rope_scaling llama3 = {.kind = GPU_ROPE_LLAMA3, .factor = 8, .orig_ctx = 8192,
                               .low_freq_factor = 1, .high_freq_factor = 4};
    gpu_rope_scaling linear = {.kind = GPU_ROPE_LINEAR, .factor = 2};
    test_rope(128, 4, 5, 1, 128, 1, 10000, NULL, 0);            /* LLaMA */
    test_rope(128, 3, 3, 2, 128, 1, 500000, NULL, 7);           /* two sequences */
    test_rope(64, 16, 3, 1, 64, 0, 10000, &yarn, 0);            /* DeepSeek tails */
    test_rope(64, 2, 4, 1, 64, 0, 10000, &yarn, 123456);        /* far positions */
    test_rope(24, 4, 6, 1, 8, 0, 10000, &yarn_m, 30);           /* partial rotation, mscale */
    test_rope(16, 5, 9, 1, 16, 1, 10000, NULL, 65000);
    test_rope(128, 4, 3, 1, 128, 1, 500000, &llama3, 20000);
    test_rope(64, 2, 3, 1, 64, 1, 10000, &linear, 100);
    return th_finish();
}
