/* test_vq.c: the VQ-16 image decoder against the official Janus vq_model.py (golden vq_tiny):
 * the l2-normalised codebook lookup, every decoder stage the golden hooks, the float image
 * and the uint8 pixels; weights as f32 and as bf16 (the checkpoint's values, so exact); a
 * batch of two grids equals two single decodes; a code outside the codebook is an error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "engine/loader.h"
#include "harness.h"
#include "npy.h"
#include "vision/vq_decoder.h"

#define DIR "golden/janus/vq_tiny"
#define ATOL 1e-4   /* the README's fp32 tolerance: fp32 vs fp64 differ by 4.4e-6 on decoded */

static void load_npy(const char *name, npy *a)
{
    char path[512];
    snprintf(path, sizeof path, DIR "/%s", name);
    if (npy_load(path, a)) th_expect(0, "golden %s", path);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static vq_decoder *load(gpu_type wtype, model_config *cfg)
{
    char err[512];
    checkpoint *ck;
    if (!th_expect(config_load(DIR, cfg, err, sizeof err) == 0, "%s", err)) return NULL;
    if (!th_expect(ckpt_open(DIR, &ck, err, sizeof err) == 0, "%s", err)) return NULL;
    vq_decoder *d = vq_decoder_load(T, ck, &cfg->vq, "gen_vision_model.", wtype, err, sizeof err);
    th_expect(d != NULL, "vq decoder load (%s): %s", gpu_type_name(wtype), err);
    ckpt_close(ck);
    return d;
}

/* Every hooked stage, the image and the pixels, for one weight format. */
static void test_vq_matches_official_vq_tiny(gpu_type wtype)
{
    static const struct { int stage; const char *file; } stages[] = {
        {VQ_CAP_QUANT, "quant_nchw.npy"},
        {VQ_CAP_POST_QUANT, "post_quant_conv_out.npy"},
        {VQ_CAP_CONV_IN, "dec_conv_in_out.npy"},
        {VQ_CAP_MID, "dec_mid_out.npy"},
        {VQ_CAP_LEVEL + 0, "dec_level0_upsample_out.npy"},
        {VQ_CAP_LEVEL + 1, "dec_level1_upsample_out.npy"},
        {VQ_CAP_LEVEL + 2, "dec_level2_upsample_out.npy"},
        {VQ_CAP_LEVEL + 3, "dec_level3_upsample_out.npy"},
        {VQ_CAP_LEVEL + 4, "dec_level4_last_res_out.npy"},
        {VQ_CAP_NORM_OUT, "dec_norm_out.npy"},
    };
    enum { NS = sizeof stages / sizeof *stages };
    const char *tag = gpu_type_name(wtype);
    model_config cfg;
    vq_decoder *d = load(wtype, &cfg);
    if (!d) return;
    th_expect(vq_decoder_scale(d) == 16, "%s: 16 pixels per code (got %d)", tag, vq_decoder_scale(d));
    npy codes, want[NS], dec, img;
    gpu_tensor *cap[NS];
    load_npy("codes.npy", &codes);
    load_npy("decoded.npy", &dec);
    load_npy("image_uint8.npy", &img);
    for (int i = 0; i < NS; i++) {
        load_npy(stages[i].file, &want[i]);
        int64_t *s = want[i].shape; /* [1, C, H, W] */
        cap[i] = gpu_new(T, GPU_F32, s[3], s[2], s[1], s[0], "capture");
        vq_decoder_capture(d, stages[i].stage, cap[i]);
    }
    char err[512], what[128];
    float *out = th_alloc((size_t)dec.n * sizeof *out);
    uint8_t *pix = th_alloc((size_t)img.n);
    double t0 = now();
    int ok = vq_decode(d, codes.i, 1, 4, 4, out, pix, err, sizeof err) == 0;
    double ms = (now() - t0) * 1e3;
    th_expect(ok, "%s: decode: %s", tag, err);
    if (ok) {
        printf("test_vq: %s weights: 4x4 codes -> 64x64 image in %.1f ms (first decode)\n", tag, ms);
        for (int i = 0; i < NS; i++) {
            float *got = th_read(cap[i]);
            snprintf(what, sizeof what, "%s: %s", tag, stages[i].file);
            /* the lookup is exact up to the normalisation's rounding: the README's 1e-6 */
            th_check_abs(what, want[i].f, got, want[i].n, i == 0 ? 1e-6 : ATOL);
            free(got);
        }
        snprintf(what, sizeof what, "%s: decoded", tag);
        th_check_abs(what, dec.f, out, dec.n, ATOL);
        /* Pixels on a truncation boundary may land one level apart (README: at most 1). */
        float *pf = th_alloc((size_t)img.n * sizeof *pf);
        int64_t off = 0;
        for (int64_t i = 0; i < img.n; i++) pf[i] = pix[i], off += pix[i] != img.f[i];
        snprintf(what, sizeof what, "%s: image_uint8 (%lld of %lld pixels off by one)", tag,
                 (long long)off, (long long)img.n);
        th_check_abs(what, img.f, pf, img.n, 1.0);
        free(pf);
    }
    for (int i = 0; i < NS; i++) {
        vq_decoder_capture(d, stages[i].stage, NULL);
        gpu_free(T, cap[i]);
        npy_free(&want[i]);
    }
    free(out), free(pix);
    npy_free(&codes), npy_free(&dec), npy_free(&img);
    vq_decoder_free(d);
}

/* Two different grids in one call: each image equals its own single decode. The attention
 * op splits its key range by the number of query rows, so the batch may sum in another
 * order: 1e-5 on values of order 1, and pixels at most one level apart. */
static void test_vq_batch_of_two_equals_single_decodes(void)
{
    model_config cfg;
    vq_decoder *d = load(GPU_F32, &cfg);
    if (!d) return;
    npy codes;
    load_npy("codes.npy", &codes);
    int32_t two[32];
    for (int i = 0; i < 16; i++) two[i] = codes.i[i], two[16 + i] = (codes.i[15 - i] * 7 + 3) % 64;
    int64_t n1 = 3 * 64 * 64;
    float *batch = th_alloc((size_t)(2 * n1) * sizeof *batch), *one = th_alloc((size_t)n1 * sizeof *one);
    uint8_t *pb = th_alloc((size_t)(2 * n1)), *p1 = th_alloc((size_t)n1);
    char err[512], what[96];
    double t0 = now();
    int ok = vq_decode(d, two, 2, 4, 4, batch, pb, err, sizeof err) == 0;
    printf("test_vq: f32 weights: batch of 2 in %.1f ms\n", (now() - t0) * 1e3);
    th_expect(ok, "batch decode: %s", err);
    for (int b = 0; ok && b < 2; b++) {
        ok = vq_decode(d, two + 16 * b, 1, 4, 4, one, p1, err, sizeof err) == 0;
        th_expect(ok, "single decode %d: %s", b, err);
        if (!ok) break;
        snprintf(what, sizeof what, "batch image %d equals its single decode", b);
        th_check_abs(what, one, batch + b * n1, n1, 1e-5);
        float *fa = th_alloc((size_t)n1 * sizeof *fa), *fb = th_alloc((size_t)n1 * sizeof *fb);
        for (int64_t i = 0; i < n1; i++) fa[i] = p1[i], fb[i] = pb[b * n1 + i];
        snprintf(what, sizeof what, "batch image %d pixels equal its single decode's", b);
        th_check_abs(what, fa, fb, n1, 1.0);
        free(fa), free(fb);
    }
    /* the two grids differ, so must the images */
    double diff = 0;
    for (int64_t i = 0; i < n1; i++) diff += batch[i] != batch[n1 + i];
    th_expect(diff > n1 / 2, "the two images differ (%.0f of %lld values)", diff, (long long)n1);

    /* a code outside the codebook: a clear error, nothing decoded */
    two[5] = 64;
    th_expect(vq_decode(d, two, 1, 4, 4, one, NULL, err, sizeof err) == -1 &&
                  strstr(err, "outside the codebook"), "a code out of range: %s", err);
    /* the decoder still works after it; the time of a warm decode (pipelines built) */
    t0 = now();
    th_expect(vq_decode(d, codes.i, 1, 4, 4, one, NULL, err, sizeof err) == 0,
              "decode after an error: %s", err);
    printf("test_vq: f32 weights: warm decode of one 4x4 grid in %.1f ms (%s)\n",
           (now() - t0) * 1e3, getenv("VKSEEK_VALIDATE") ? "validation on" : "validation off");
    free(batch), free(one), free(pb), free(p1);
    npy_free(&codes);
    vq_decoder_free(d);
}

int main(void)
{
    th_init("test_vq");
    test_vq_matches_official_vq_tiny(GPU_F32);
    test_vq_matches_official_vq_tiny(GPU_BF16);
    test_vq_batch_of_two_equals_single_decodes();
    return th_finish();
}
