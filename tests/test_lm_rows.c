/* test_lm_rows.c: a scheduler's batches. Sequences in their own cache slots at their own
 * positions (prompts of different lengths, one prefilled in two chunks, then decode steps
 * taken together in varying row orders) give, row by row, the logits of running each
 * sequence alone. Dense GQA (LLaMA) and MLA + MoE (DeepSeek-V3) stacks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine/loader.h"
#include "harness.h"
#include "text/lm.h"

#define N_SEQ 3
#define STEPS 5
#define MAX_TOK 24

static const int len[N_SEQ] = {7, 3, 11};   /* prompt lengths */
static const int slot[N_SEQ] = {3, 0, 1};   /* cache slots of 4 */

/* Token t of sequence s: prompt, then a fixed continuation (teacher forcing). */
static int32_t token(int s, int t, int vocab) { return (int32_t)((s * 131 + t * 17 + 5) % vocab); }

static lm *load(const checkpoint *ck, const model_config *cfg, int n_seq)
{
    char err[512];
    lm_options o = {.n_ctx = 32, .n_seq = n_seq, .quant = QUANT_KEEP};
    lm *m = lm_load(T, ck, &cfg->lm, "", &o, err, sizeof err);
    th_expect(m != NULL, "load: %s", err);
    return m;
}

/* Runs ids [n_rows][n_tok] in the given slots at the given positions; last-token logits. */
static int step(lm *m, const int32_t *ids, int n_tok, int n_rows, const int *sl, const int *pos,
                float *logits)
{
    char err[512] = "";
    gpu_tensor *x = lm_embed_rows(m, ids, n_tok, n_rows, err, sizeof err);
    int ok = x && lm_forward_rows(m, x, n_tok, sl, pos, 0, logits, err, sizeof err) == 0;
    th_expect(ok, "forward of %d x %d: %s", n_rows, n_tok, err);
    gpu_free(T, x);
    return ok;
}

static void run_case(const char *path)
{
    char err[512];
    model_config cfg;
    checkpoint *ck;
    if (!th_expect(config_load(path, &cfg, err, sizeof err) == 0, "%s", err) ||
        !th_expect(ckpt_open(path, &ck, err, sizeof err) == 0, "%s", err))
        return;
    int V = cfg.lm.vocab_size;
    /* alone: each sequence's prompt, then STEPS single tokens */
    float *want = th_alloc((size_t)N_SEQ * (STEPS + 1) * V * 4);
    for (int s = 0; s < N_SEQ; s++) {
        lm *one = load(ck, &cfg, 1);
        int32_t ids[MAX_TOK];
        for (int t = 0; t < len[s]; t++) ids[t] = token(s, t, V);
        int p0 = 0, ok = one && step(one, ids, len[s], 1, NULL, &p0, want + (int64_t)s * (STEPS + 1) * V);
        for (int k = 0; ok && k < STEPS; k++) {
            int32_t id = token(s, len[s] + k, V);
            int p = len[s] + k;
            ok = step(one, &id, 1, 1, NULL, &p, want + ((int64_t)s * (STEPS + 1) + k + 1) * V);
        }
        lm_free(one);
    }

    /* together: prompts one by one into their slots (the last in two chunks) */
    lm *m = load(ck, &cfg, 4);
    float *got = th_alloc((size_t)N_SEQ * V * 4);
    char what[256];
    int ok = m != NULL;
    for (int s = 0; ok && s < N_SEQ; s++) {
        int32_t ids[MAX_TOK];
        for (int t = 0; t < len[s]; t++) ids[t] = token(s, t, V);
        int cut = s == 2 ? 5 : 0, p = 0;
        if (cut) ok = step(m, ids, cut, 1, &slot[s], &p, got);
        p = cut;
        ok = ok && step(m, ids + cut, len[s] - cut, 1, &slot[s], &p, got);
        snprintf(what, sizeof what, "%s: sequence %d's prompt in slot %d%s", path, s, slot[s],
                 cut ? ", in two chunks" : "");
        if (ok) th_check_abs(what, want + (int64_t)s * (STEPS + 1) * V, got, V, 1e-5);
    }
    /* decode steps together, each at its own position; the row order changes */
    for (int k = 0; ok && k < STEPS; k++) {
        int order[N_SEQ], sl[N_SEQ], pos[N_SEQ];
        int32_t ids[N_SEQ];
        for (int r = 0; r < N_SEQ; r++) {
            int s = order[r] = (r + k) % N_SEQ;
            sl[r] = slot[s], pos[r] = len[s] + k, ids[r] = token(s, len[s] + k, V);
        }
        ok = step(m, ids, 1, N_SEQ, sl, pos, got);
        for (int r = 0; ok && r < N_SEQ; r++) {
            int s = order[r];
            snprintf(what, sizeof what, "%s: decode step %d, sequence %d (row %d, position %d)",
                     path, k, s, r, pos[r]);
            th_check_abs(what, want + ((int64_t)s * (STEPS + 1) + k + 1) * V, got + (int64_t)r * V,
                         V, 1e-5);
        }
    }
    /* a slot taken twice in one batch is refused */
    if (ok) {
        err[0] = 0;
        int32_t ids[2] = {1, 2};
        int sl[2] = {1, 1}, pos[2] = {20, 20};
        gpu_tensor *x = lm_embed_rows(m, ids, 1, 2, err, sizeof err);
        th_expect(x && lm_forward_rows(m, x, 1, sl, pos, 0, got, err, sizeof err) == -1 &&
                      strstr(err, "taken twice"),
                  "a repeated slot is refused: %s", err);
        gpu_free(T, x);
    }
    free(want), free(got);
    lm_free(m);
    ckpt_close(ck);
}

int main(void)
{
    th_init("test_lm_rows");
    run_case("golden/janus/llama_tiny_gqa");
    run_case("golden/deepseek/v3-tiny");
    return th_finish();
}
