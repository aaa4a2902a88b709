/* test_mtp_cache.c: the multi-token prediction layer's logits do not depend on how a
 * sequence is cut into forwards. On a random DeepSeek-V3 checkpoint with an MTP layer (made
 * by tools/gen_checkpoint.py), the MTP logits of every position of one 12-token forward are
 * those of the same tokens fed as a 5-token prompt and single tokens, and as 2-token steps
 * (speculative decoding's), in another cache slot: the layer writes its own cache at each
 * position and attends to all earlier ones. And lm_kv_bytes (what `inspect` states) is the
 * device memory a longer cache takes, the MTP layer's included, f16 and f32. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "engine/loader.h"
#include "harness.h"
#include "text/lm.h"

#define N 12

static int32_t token(int t, int vocab) { return (int32_t)((t * 37 + 11) % vocab); }

/* Feeds tokens [from, from+n) in slot sl, then the MTP layer over them; its logits of all n
 * positions into out. */
static int feed(lm *m, const int32_t *ids, int from, int n, int sl, float *out)
{
    char err[512] = "";
    gpu_tensor *x = lm_embed_rows(m, ids + from, n, 1, err, sizeof err);
    int ok = x && lm_forward_rows(m, x, n, &sl, &from, 0, NULL, err, sizeof err) == 0 &&
             lm_mtp(m, ids + from + 1, 1, out, err, sizeof err) == 0;
    gpu_free(T, x);
    return th_expect(ok, "tokens %d..%d in slot %d: %s", from, from + n - 1, sl, err);
}

int main(void)
{
    th_init("test_mtp_cache");
    char dir[] = "/tmp/vkseek-mtp-cache-XXXXXX", cmd[512], err[512];
    if (!th_expect(mkdtemp(dir) != NULL, "mkdtemp")) return th_finish();
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 ../tools/gen_checkpoint.py deepseek-v3-tiny %s "
                              "--mtp > /dev/null", dir);
    model_config cfg;
    checkpoint *ck = NULL;
    lm *m = NULL;
    lm_options o = {.n_ctx = 32, .n_seq = 2, .quant = QUANT_KEEP, .mtp = 1};
    if (th_expect(system(cmd) == 0, "%s failed", cmd) &&
        th_expect(config_load(dir, &cfg, err, sizeof err) == 0, "%s", err) &&
        th_expect(ckpt_open(dir, &ck, err, sizeof err) == 0, "%s", err))
        m = lm_load(T, ck, &cfg.lm, "", &o, err, sizeof err);
    if (th_expect(m != NULL, "load with the MTP layer: %s", err)) {
        int V = cfg.lm.vocab_size;
        int32_t ids[N + 1];
        for (int t = 0; t <= N; t++) ids[t] = token(t, V);
        float *want = th_alloc((size_t)N * V * 4), *got = th_alloc((size_t)N * V * 4);
        int ok = feed(m, ids, 0, N, 0, want);
        /* a prompt, then one token at a time */
        ok = ok && feed(m, ids, 0, 5, 1, got);
        for (int t = 5; ok && t < N; t++) ok = feed(m, ids, t, 1, 1, got + (int64_t)t * V);
        if (ok) th_check_abs("prompt of 5, then single tokens", want, got, (int64_t)N * V, 1e-5);
        /* two tokens per step, as speculative decoding feeds them */
        for (int t = 0; ok && t < N; t += 2) ok = feed(m, ids, t, 2, 1, got + (int64_t)t * V);
        if (ok) th_check_abs("steps of 2 tokens", want, got, (int64_t)N * V, 1e-5);
        free(want), free(got);
    }
    lm_free(m);
    for (int f32 = 0; ck && f32 < 2; f32++) {
        /* the device memory one more 64 positions of 2 sequences take */
        lm_options a = {.n_ctx = 32, .n_seq = 2, .quant = QUANT_KEEP, .mtp = 1, .kv_f32 = f32};
        lm_options b = a;
        b.n_ctx = 96;
        uint64_t base = gpu_memory_in_use(T);
        lm *ma = lm_load(T, ck, &cfg.lm, "", &a, err, sizeof err);
        uint64_t used_a = gpu_memory_in_use(T) - base;
        int ok = ma != NULL;
        lm_free(ma);
        lm *mb = lm_load(T, ck, &cfg.lm, "", &b, err, sizeof err);
        uint64_t used_b = gpu_memory_in_use(T) - base;
        ok = ok && mb != NULL;
        lm_free(mb);
        double want = (double)(lm_kv_bytes(&cfg.lm, &b) - lm_kv_bytes(&cfg.lm, &a));
        double got = (double)used_b - (double)used_a;
        th_expect(ok && fabs(got - want) <= 0.02 * want,
                  "%s cache: 64 more positions take %.0f bytes; lm_kv_bytes says %.0f",
                  f32 ? "f32" : "f16", got, want);
    }
    ckpt_close(ck);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    th_expect(system(cmd) == 0, "%s", cmd);
    return th_finish();
}
