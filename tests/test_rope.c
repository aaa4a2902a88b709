/* test_rope.c: rotary embedding in both pair layouts, partial rotation, YaRN, offsets and
 * positions far beyond 2*pi (the angle reduction). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "ref.h"

/* pos: NULL, or per-sequence offsets (read through a view at an offset) */
static void test_rope(int64_t hd, int64_t nh, int64_t nt, int64_t ns, int n_rot, int half,
                      float base, const gpu_rope_scaling *yarn, int pos0, const int *pos)
{
    int64_t n = hd * nh * nt * ns;
    float *x = th_randv(n, 1.0f), *want = th_alloc((size_t)n * 4);
    memcpy(want, x, (size_t)n * 4);
    gpu_tensor *X = th_tensor(GPU_F32, hd, nh, nt, ns, x);
    gpu_tensor *P = NULL, *Pv = NULL;
    if (pos) {
        float *pf = th_alloc((size_t)(ns + 2) * 4);
        for (int64_t s = 0; s < ns; s++) pf[s + 2] = (float)pos[s];
        P = th_tensor(GPU_I32, ns + 2, 1, 1, 1, pf);
        Pv = gpu_view(T, P, ns, 1, 1, 1, ns, ns, ns, 2);
        free(pf);
    }
    TH_OK(gpu_rope(T, X, n_rot, half ? GPU_ROPE_HALF : GPU_ROPE_INTERLEAVED, base, yarn, pos0, Pv));
    float *got = th_read(X);
    ref_rope(want, hd, nh, nt, ns, n_rot, half, base, yarn, pos0, pos);
    char what[160];
    snprintf(what, sizeof what, "rope %s hd=%lld rot=%d heads=%lld tok=%lld seq=%lld pos0=%d%s%s",
             half ? "half" : "interleaved", (long long)hd, n_rot, (long long)nh, (long long)nt,
             (long long)ns, pos0, yarn ? (yarn->kind == GPU_ROPE_YARN ? " yarn" : yarn->kind == GPU_ROPE_LLAMA3 ? " llama3" : " linear") : "",
             pos ? " per-sequence positions" : "");
    th_check(what, want, got, n, 2e-6);
    free(x), free(want), free(got);
    gpu_free(T, X), gpu_free(T, Pv), gpu_free(T, P);
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
    test_rope(128, 4, 5, 1, 128, 1, 10000, NULL, 0, NULL);            /* LLaMA */
    test_rope(128, 3, 3, 2, 128, 1, 500000, NULL, 7, NULL);           /* two sequences */
    test_rope(64, 16, 3, 1, 64, 0, 10000, &yarn, 0, NULL);            /* DeepSeek tails */
    test_rope(64, 2, 4, 1, 64, 0, 10000, &yarn, 123456, NULL);        /* far positions */
    test_rope(24, 4, 6, 1, 8, 0, 10000, &yarn_m, 30, NULL);           /* partial rotation, mscale */
    test_rope(16, 5, 9, 1, 16, 1, 10000, NULL, 65000, NULL);
    test_rope(128, 4, 3, 1, 128, 1, 500000, &llama3, 20000, NULL);
    test_rope(64, 2, 3, 1, 64, 1, 10000, &linear, 100, NULL);
    /* a batch of conversations at different places: per-sequence offsets */
    int far[3] = {0, 4097, 123000};
    test_rope(128, 2, 1, 3, 128, 1, 10000, NULL, 0, far);
    test_rope(64, 4, 5, 3, 64, 0, 10000, &yarn, 2, far);
    return th_finish();
}
