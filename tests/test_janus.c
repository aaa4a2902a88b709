/* test_janus.c: Janus end to end against the official MultiModalityCausalLM on janus_tiny:
 * understanding (SigLIP + aligner features spliced into the prompt embeddings, logits at
 * every position, greedy text over the cache) and generation (conditional and unconditional
 * rows as one batch, gen_head logits, CFG, the chosen token fed back through gen_embed and
 * gen_aligner, 16 image tokens). Tolerance: the LLaMA goldens' fp32 1e-4 / 2e-4. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine/janus.h"
#include "engine/loader.h"
#include "harness.h"
#include "npy.h"

#define DIR "golden/janus/janus_tiny"

static npy load(const char *name)
{
    npy a;
    char path[256];
    snprintf(path, sizeof path, DIR "/%s", name);
    if (npy_load(path, &a)) th_expect(0, "golden %s", path);
    return a;
}

/* The model has its own device context: read and free through it. */
static float *readm(model *m, const gpu_tensor *t)
{
    float *p = th_alloc((size_t)gpu_nelem(t) * 4);
    th_expect(gpu_read_f32(m->ctx, t, p) == 0, "read back: %s", gpu_errmsg());
    return p;
}

static int argmax(const float *x, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

static void understanding(void)
{
    char err[512];
    model_options o = {.device = -1, .quant = QUANT_KEEP, .n_seq = 1, .n_ctx = 64, .kv_f32 = 1};
    model *m = model_open(DIR, &o, err, sizeof err);
    janus *j = m ? janus_load(m, QUANT_KEEP, err, sizeof err) : NULL;
    if (!th_expect(j != NULL, "load: %s", err)) {
        model_close(m);
        return;
    }
    npy ids = load("und_input_ids.npy"), pix = load("und_pixel_values.npy");
    npy feats = load("und_aligned_features.npy"), emb = load("und_inputs_embeds.npy");
    npy lg = load("und_logits.npy"), gids = load("und_greedy_ids.npy");
    npy glog = load("und_greedy_step_logits.npy");
    int n = (int)ids.n, V = lm_vocab(m->lm);
    gpu_tensor *x = janus_embed_prompt(j, ids.i, n, 602, pix.f, 1, err, sizeof err);
    if (th_expect(x != NULL, "embed prompt: %s", err)) {
        float *f = readm(m, janus_last_features(j)), *e = readm(m, x);
        th_check_abs("aligned image features", feats.f, f, feats.n, 1e-4);
        th_check_abs("spliced prompt embeddings", emb.f, e, emb.n, 1e-4);
        free(f), free(e);
        float *logits = th_alloc((size_t)n * V * 4);
        if (th_expect(lm_forward(m->lm, x, n, 0, 1, logits, err, sizeof err) == 0, "%s", err))
            th_check_abs("understanding logits", lg.f, logits, lg.n, 2e-4);
        /* greedy text over the cache */
        float *steps = th_alloc((size_t)gids.n * V * 4);
        memcpy(steps, logits + (int64_t)(n - 1) * V, (size_t)V * 4);
        int id = argmax(steps, V), same = 1, ok = 1;
        for (int t = 0; t < gids.n && ok; t++) {
            same &= id == gids.i[t];
            if (t + 1 == gids.n) break;
            gpu_tensor *xt = lm_embed(m->lm, &id, 1, err, sizeof err);
            ok = xt && lm_forward(m->lm, xt, 1, n + t, 0, steps + (int64_t)(t + 1) * V, err, sizeof err) == 0;
            gpu_free(m->ctx, xt);
            id = argmax(steps + (int64_t)(t + 1) * V, V);
        }
        th_expect(ok && same, "greedy answer ids equal the golden ones (%s)", ok ? "" : err);
        th_check_abs("greedy step logits", glog.f, steps, glog.n, 2e-4);
        free(logits), free(steps);
    }
    /* two pictures (the same one twice): each run of placeholders gets its own features */
    {
        int P = janus_patches(j);
        int32_t two[80];
        int k = 0;
        two[k++] = 600;
        for (int r = 0; r < 2; r++) {
            two[k++] = 603;
            for (int q = 0; q < P; q++) two[k++] = 602;
            two[k++] = 604;
        }
        float *pp = th_alloc((size_t)pix.n * 2 * 4);
        memcpy(pp, pix.f, (size_t)pix.n * 4);
        memcpy(pp + pix.n, pix.f, (size_t)pix.n * 4);
        gpu_tensor *xx = janus_embed_prompt(j, two, k, 602, pp, 2, err, sizeof err);
        if (th_expect(xx != NULL, "two pictures: %s", err)) {
            float *e2 = readm(m, xx);
            int D = lm_dim(m->lm);
            th_check_abs("first picture's rows", feats.f, e2 + 2 * D, feats.n, 1e-4);
            th_check_abs("second picture's rows", feats.f, e2 + (int64_t)(P + 4) * D, feats.n, 1e-4);
            free(e2);
        }
        gpu_free(m->ctx, xx);
        free(pp);
    }
    /* a prompt whose placeholders do not fit the images (the first one dropped) */
    int first = 0;
    while (first < n && ids.i[first] != 602) first++;
    th_expect(janus_embed_prompt(j, ids.i + first + 1, n - first - 1, 602, pix.f, 1, err,
                                 sizeof err) == NULL && strstr(err, "image positions"),
              "placeholder count checked: %s", err);
    /* and the same prompt again: the same embeddings */
    gpu_tensor *x2 = janus_embed_prompt(j, ids.i, n, 602, pix.f, 1, err, sizeof err);
    if (th_expect(x2 != NULL, "a second prompt: %s", err)) {
        float *e2 = readm(m, x2);
        th_check_abs("spliced embeddings, second call", emb.f, e2, emb.n, 1e-4);
        free(e2);
    }
    gpu_free(m->ctx, x2);
    gpu_free(m->ctx, x);
    npy *all[] = {&ids, &pix, &feats, &emb, &lg, &gids, &glog};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) npy_free(all[i]);
    janus_free(j);
    model_close(m);
}

static void generation(void)
{
    char err[512];
    model_options o = {.device = -1, .quant = QUANT_KEEP, .n_seq = 2, .n_ctx = 64, .kv_f32 = 1};
    model *m = model_open(DIR, &o, err, sizeof err);
    janus *j = m ? janus_load(m, QUANT_KEEP, err, sizeof err) : NULL;
    if (!th_expect(j != NULL, "load for generation: %s", err)) {
        model_close(m);
        return;
    }
    npy c = load("gen_prompt_ids.npy"), u = load("gen_prompt_ids_uncond.npy");
    npy hin = load("gen_head_input.npy"), cl = load("gen_cond_logits.npy");
    npy ul = load("gen_uncond_logits.npy"), toks = load("gen_tokens.npy");
    npy emb = load("gen_img_embeds.npy");
    int n = (int)c.n, K = janus_codebook(j), D = lm_dim(m->lm), steps = (int)toks.n;
    int32_t *rows = th_alloc((size_t)2 * n * 4);
    memcpy(rows, c.i, (size_t)n * 4);      /* row 0: conditional */
    memcpy(rows + n, u.i, (size_t)n * 4);  /* row 1: unconditional */
    gpu_tensor *x = lm_embed(m->lm, rows, n, err, sizeof err);
    float *logits = th_alloc((size_t)2 * K * 4), *h = th_alloc((size_t)steps * 2 * D * 4);
    float *lc = th_alloc((size_t)steps * K * 4), *lu = th_alloc((size_t)steps * K * 4);
    float *e = th_alloc((size_t)steps * D * 4);
    int32_t *got = th_alloc((size_t)steps * 4);
    int ok = x && lm_forward(m->lm, x, n, 0, 0, NULL, err, sizeof err) == 0;
    gpu_free(m->ctx, x);
    for (int t = 0; t < steps && ok; t++) {
        float *hv = readm(m, lm_last_hidden(m->lm));
        memcpy(h + (int64_t)t * 2 * D, hv, (size_t)2 * D * 4);
        free(hv);
        ok = janus_gen_logits(j, lm_last_hidden(m->lm), 2, logits, err, sizeof err) == 0;
        memcpy(lc + (int64_t)t * K, logits, (size_t)K * 4);
        memcpy(lu + (int64_t)t * K, logits + K, (size_t)K * 4);
        float cfg[4096];
        for (int k = 0; k < K && k < 4096; k++)
            cfg[k] = logits[K + k] + 5.0f * (logits[k] - logits[K + k]); /* u + w (c - u) */
        got[t] = argmax(cfg, K);
        int32_t both[2] = {got[t], got[t]};
        gpu_tensor *xi = ok ? janus_gen_embed(j, both, 2, err, sizeof err) : NULL;
        ok = xi != NULL;
        if (ok) {
            float *ev = readm(m, xi);
            memcpy(e + (int64_t)t * D, ev, (size_t)D * 4);
            free(ev);
            ok = lm_forward(m->lm, xi, 1, n + t, 0, NULL, err, sizeof err) == 0;
        }
        gpu_free(m->ctx, xi);
    }
    th_expect(ok, "generation loop: %s", err);
    if (ok) {
        th_check_abs("gen_head input (last hidden, both rows)", hin.f, h, hin.n, 1e-4);
        th_check_abs("conditional image-token logits", cl.f, lc, cl.n, 2e-4);
        th_check_abs("unconditional image-token logits", ul.f, lu, ul.n, 2e-4);
        th_check_abs("image embeddings fed back", emb.f, e, emb.n, 1e-4);
        int same = 1;
        for (int t = 0; t < steps; t++) same &= got[t] == toks.i[t];
        th_expect(same, "the 16 CFG-argmax image tokens equal the golden ones");
        /* and their picture: VQ decode, clip and truncate as the official code */
        npy img = load("gen_image_uint8.npy");
        int S = janus_image_size(j);
        uint8_t *rgb = th_alloc((size_t)S * S * 3);
        if (th_expect(janus_decode(j, got, 1, rgb, err, sizeof err) == 0, "decode: %s", err)) {
            int worst = 0;
            for (int64_t k = 0; k < img.n; k++) {
                int d = abs((int)rgb[k] - (int)img.f[k]);
                if (d > worst) worst = d;
            }
            th_expect(img.n == (int64_t)S * S * 3 && worst <= 1,
                      "generated pixels equal the official image (max difference %d)", worst);
        }
        free(rgb);
        npy_free(&img);
    }
    free(rows), free(logits), free(h), free(lc), free(lu), free(e), free(got);
    npy *all[] = {&c, &u, &hin, &cl, &ul, &toks, &emb};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) npy_free(all[i]);
    janus_free(j);
    model_close(m);
}

int main(void)
{
    th_init("test_janus");
    understanding();
    generation();
    return th_finish();
}
