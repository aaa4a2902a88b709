/* test_siglip.c: the SigLIP understanding tower against the official Janus code (timm's
 * blocks) on the tiny golden: the stream after the position embedding and after each block,
 * and the features, for a random input and a preprocessed picture, one at a time and as a
 * batch of two; bf16 weights as stored and f16. Tolerance 1e-4 (the README's fp32 figure). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine/loader.h"
#include "harness.h"
#include "npy.h"
#include "vision/siglip.h"

#define DIR "golden/janus/siglip_tiny/"

static npy load(const char *name)
{
    npy a;
    char path[256];
    snprintf(path, sizeof path, DIR "%s", name);
    if (npy_load(path, &a)) th_expect(0, "golden %s", path);
    return a;
}

static void run(siglip *s, const char *input, const char *tag)
{
    char err[512], name[128];
    snprintf(name, sizeof name, "input_%s.npy", input);
    npy in = load(name);
    int W = siglip_width(s), P = siglip_patches(s);
    gpu_tensor *cap[3];
    for (int i = 0; i < 3; i++) {
        cap[i] = gpu_new(T, GPU_F32, W, P, 1, 1, "capture");
        siglip_capture(s, i - 1, cap[i]);
    }
    gpu_tensor *f = siglip_encode(s, in.f, 1, err, sizeof err);
    if (th_expect(f != NULL, "%s %s: %s", tag, input, err)) {
        static const char *stage[] = {"pos_embed_out", "block0_out", "block1_out"};
        for (int i = 0; i < 3; i++) {
            snprintf(name, sizeof name, "%s_%s.npy", input, stage[i]);
            npy want = load(name);
            float *got = th_read(cap[i]);
            char what[160];
            snprintf(what, sizeof what, "%s %s: %s", tag, input, stage[i]);
            th_check_abs(what, want.f, got, want.n, 1e-4);
            free(got);
            npy_free(&want);
        }
        snprintf(name, sizeof name, "%s_features.npy", input);
        npy want = load(name);
        float *got = th_read(f);
        char what[160];
        snprintf(what, sizeof what, "%s %s: features", tag, input);
        th_check_abs(what, want.f, got, want.n, 1e-4);
        free(got);
        npy_free(&want);
    }
    for (int i = 0; i < 3; i++) {
        siglip_capture(s, i - 1, NULL);
        gpu_free(T, cap[i]);
    }
    gpu_free(T, f);
    npy_free(&in);
}

/* Two images in one call: each the same as alone. */
static void batch(siglip *s)
{
    char err[512];
    npy a = load("input_rand.npy"), b = load("input_landscape.npy");
    npy fa = load("rand_features.npy"), fb = load("landscape_features.npy");
    float *two = th_alloc((size_t)(a.n + b.n) * 4);
    memcpy(two, a.f, (size_t)a.n * 4);
    memcpy(two + a.n, b.f, (size_t)b.n * 4);
    gpu_tensor *f = siglip_encode(s, two, 2, err, sizeof err);
    if (th_expect(f != NULL, "batch of two: %s", err)) {
        float *got = th_read(f);
        th_check_abs("batch image 0", fa.f, got, fa.n, 1e-4);
        th_check_abs("batch image 1", fb.f, got + fa.n, fb.n, 1e-4);
        free(got);
    }
    gpu_free(T, f);
    free(two);
    npy_free(&a), npy_free(&b), npy_free(&fa), npy_free(&fb);
}

int main(void)
{
    th_init("test_siglip");
    char err[512];
    checkpoint *ck;
    /* siglip_tiny/config.json's vision_config (the file has no model_type to load it by) */
    vision_config vc = {.image_size = 64, .patch_size = 16, .width = 64, .layers = 2, .heads = 4,
                        .mlp_ratio = 4.0f, .select_layer = -1};
    if (!th_expect(ckpt_open(DIR, &ck, err, sizeof err) == 0, "%s", err)) return th_finish();
    int quants[] = {QUANT_KEEP, GPU_F16};
    for (int q = 0; q < 2; q++) {
        siglip *s = siglip_load(T, ck, &vc, "vision_model.", quants[q], err, sizeof err);
        if (!th_expect(s != NULL, "load: %s", err)) break;
        const char *tag = q ? "f16" : "bf16";
        run(s, "rand", tag);
        run(s, "landscape", tag);
        if (!q) batch(s);
        siglip_free(s);
    }
    ckpt_close(ck);
    return th_finish();
}
