/* test_deepseek.c: the DeepSeek stack against goldens made with DeepSeek's own inference
 * code (absorbed MLA, YaRN, sigmoid/softmax routing with groups and bias, shared experts):
 * all prompt logits, the residual stream after every layer, and 16 greedy steps over the
 * latent cache, for V3, its sharded copy, and V2-Lite. Tolerance from the goldens' README:
 * 1e-4 on logits for f32 compute. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine/loader.h"
#include "engine/safetensors.h"
#include "harness.h"
#include "text/lm.h"

static const tf_tensor *golden(safetensors *g, const char *name)
{
    for (int i = 0; i < st_count(g); i++)
        if (strcmp(st_tensor(g, i)->name, name) == 0) return st_tensor(g, i);
    th_expect(0, "golden tensor '%s' is missing", name);
    return NULL;
}

static int argmax(const float *x, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

/* layers: how many per-layer goldens this prompt has (p20 all, p40 none). */
static void run_prompt(const char *tag, lm *m, safetensors *gold, const char *p, int n_layers,
                       double tol)
{
    char err[512], name[128], what[160];
    snprintf(name, sizeof name, "%s.prompt", p);
    const tf_tensor *prompt = golden(gold, name);
    if (!prompt) return;
    int P = (int)tf_nelem(prompt), V = lm_vocab(m), D = lm_dim(m);
    const int32_t *ids = (const int32_t *)prompt->data;
    gpu_tensor *cap[8] = {0};
    for (int i = 0; i < n_layers && i < 8; i++) {
        cap[i] = gpu_new(T, GPU_F32, D, P, 1, 1, "capture");
        lm_capture(m, i, cap[i]);
    }
    float *logits = th_alloc((size_t)P * V * 4);
    gpu_tensor *x = lm_embed(m, ids, P, err, sizeof err);
    int ok = x && lm_forward(m, x, P, 0, 1, logits, err, sizeof err) == 0;
    gpu_free(T, x);
    if (!th_expect(ok, "%s %s: prefill: %s", tag, p, err)) return;
    for (int i = 0; i < n_layers && i < 8; i++) {
        snprintf(name, sizeof name, "%s.prefill.layers.%d.out", p, i);
        const tf_tensor *h = golden(gold, name);
        float *got = th_read(cap[i]);
        double big = 0;
        for (int64_t k = 0; h && k < tf_nelem(h); k++) big = fmax(big, fabs(((const float *)h->data)[k]));
        snprintf(what, sizeof what, "%s %s: hidden state after layer %d", tag, p, i);
        if (h) th_check_abs(what, (const float *)h->data, got, tf_nelem(h), tol * fmax(1, big));
        free(got);
        lm_capture(m, i, NULL);
        gpu_free(T, cap[i]);
    }
    snprintf(name, sizeof name, "%s.prefill.logits_all", p);
    const tf_tensor *la = golden(gold, name);
    snprintf(what, sizeof what, "%s %s: all prompt logits", tag, p);
    if (la) th_check_abs(what, (const float *)la->data, logits, tf_nelem(la), tol);

    snprintf(name, sizeof name, "%s.decode.tokens", p);
    const tf_tensor *tok = golden(gold, name);
    snprintf(name, sizeof name, "%s.decode.logits", p);
    const tf_tensor *dl = golden(gold, name);
    if (!tok || !dl) return;
    int G = (int)tf_nelem(tok), same = 1;
    const int32_t *want = (const int32_t *)tok->data;
    float *steps = th_alloc((size_t)G * V * 4);
    memcpy(steps, logits + (int64_t)(P - 1) * V, (size_t)V * 4);
    int id = argmax(steps, V);
    for (int t = 0; t < G && ok; t++) {
        same &= id == want[t];
        if (t == G - 1) break;
        int feed = want[t]; /* teacher-forced: one early flip does not cascade */
        gpu_tensor *xt = lm_embed(m, &feed, 1, err, sizeof err);
        ok = xt && lm_forward(m, xt, 1, P + t, 0, steps + (int64_t)(t + 1) * V, err, sizeof err) == 0;
        gpu_free(T, xt);
        id = argmax(steps + (int64_t)(t + 1) * V, V);
    }
    th_expect(ok, "%s %s: decode: %s", tag, p, err);
    th_expect(same, "%s %s: the 16 greedy tokens equal the golden ones", tag, p);
    snprintf(what, sizeof what, "%s %s: decode logits over the latent cache", tag, p);
    th_check_abs(what, (const float *)dl->data, steps, tf_nelem(dl), tol);
    free(logits), free(steps);
}

/* kv_f32: the README's tolerance (1e-4); the default f16 KV cache rounds the latents and
 * keys (~2e-3 here): our own looser bound of 1e-2, and the same greedy tokens. */
static void run_case(const char *dir, const char *golden_dir, int quant, int kv_f32)
{
    char err[512], path[256], tag[96];
    double tol = kv_f32 ? 1e-4 : 1e-2;
    snprintf(path, sizeof path, "golden/deepseek/%s", dir);
    snprintf(tag, sizeof tag, "%s %s%s", dir, quant == QUANT_KEEP ? "bf16" : gpu_type_name((gpu_type)quant),
             kv_f32 ? "" : ", f16 cache");
    model_config cfg;
    checkpoint *ck;
    safetensors *gold;
    char gpath[256];
    snprintf(gpath, sizeof gpath, "golden/deepseek/%s/golden.safetensors", golden_dir);
    if (!th_expect(config_load(path, &cfg, err, sizeof err) == 0, "%s", err) ||
        !th_expect(ckpt_open(path, &ck, err, sizeof err) == 0, "%s", err))
        return;
    if (!th_expect(st_open(gpath, &gold, err, sizeof err) == 0, "%s", err)) {
        ckpt_close(ck);
        return;
    }
    lm_options o = {.n_ctx = 64, .n_seq = 1, .quant = quant, .kv_f32 = kv_f32};
    lm *m = lm_load(T, ck, &cfg.lm, "", &o, err, sizeof err);
    if (th_expect(m != NULL, "%s: load: %s", tag, err)) {
        run_prompt(tag, m, gold, "p20", cfg.lm.n_layers, tol);
        lm_free(m);
        m = lm_load(T, ck, &cfg.lm, "", &o, err, sizeof err); /* a fresh cache */
        if (m) run_prompt(tag, m, gold, "p40", 0, tol);
        lm_free(m);
    }
    st_close(gold);
    ckpt_close(ck);
}

int main(void)
{
    th_init("test_deepseek");
    run_case("v3-tiny", "v3-tiny", QUANT_KEEP, 1);
    run_case("v3-tiny-sharded", "v3-tiny", QUANT_KEEP, 1);
    run_case("v2lite-tiny", "v2lite-tiny", QUANT_KEEP, 1);
    /* f16 weights: these bf16 values convert exactly (but for tiny ones), same tolerance */
    run_case("v3-tiny", "v3-tiny", GPU_F16, 1);
    run_case("v3-tiny", "v3-tiny", QUANT_KEEP, 0);
    run_case("v2lite-tiny", "v2lite-tiny", QUANT_KEEP, 0);
    return th_finish();
}
