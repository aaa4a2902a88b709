/* plan.c: see plan.h. Each part comes from the code that allocates it (lm_step_bytes,
 * siglip_encode_bytes, vq_decode_bytes, the weights' load_device_bytes); here they are
 * summed over what the scheduler runs. */
#include <stdio.h>
#include <string.h>
#include "engine/loader.h"
#include "engine/plan.h"
#include "engine/scheduler.h"
#include "vision/siglip.h"
#include "vision/vq_decoder.h"

#define MAX(a, b) ((a) > (b) ? (a) : (b))

int plan_unused(const char *name, const lm_config *c, int mtp)
{
    static const char *never[] = {"_scale_inv", "attn_pool.", "codebook_used", "vqmodel.encoder.",
                                  "gen_vision_model.encoder.", "gen_vision_model.quant_conv.",
                                  "vqmodel.quant_conv."};
    for (size_t i = 0; i < sizeof never / sizeof *never; i++)
        if (strstr(name, never[i])) return 1;
    char mtp_layer[48];
    snprintf(mtp_layer, sizeof mtp_layer, "model.layers.%d.", c->n_layers);
    return !mtp && strstr(name, mtp_layer) != NULL;
}

/* The layers of a Linear-GELU-Linear projector: run_mlp's temporaries for n rows. */
static uint64_t mlp_bytes(const gpu_ctx *ctx, int depth, int64_t width, int64_t out, int64_t n)
{
    uint64_t b = 0;
    for (int i = 0; i < depth; i++) b += gpu_temp_bytes(ctx, (i == depth - 1 ? out : width) * n);
    return b;
}

/* A forward of n_tok tokens in rows rows, with logits for logit_rows: into held and
 * scratch as the most of any such step. */
static void step(const gpu_ctx *ctx, const lm_config *c, const lm_options *lo, int n_tok,
                 int rows, int logit_rows, uint64_t *held, uint64_t *scratch)
{
    uint64_t h, s;
    lm_step_bytes(ctx, c, lo, n_tok, rows, logit_rows, &h, &s);
    *held = MAX(*held, h), *scratch = MAX(*scratch, s);
}

/* Prompt chunks of rows rows (up to the scheduler's token budget) of every length, whose
 * attention plans differ; decode steps of every slot. */
static void lm_steps(const gpu_ctx *ctx, const lm_config *c, const lm_options *lo, int rows,
                     uint64_t *held, uint64_t *scratch)
{
    int T = MAX(1, SCHED_PREFILL_TOKENS / rows);
    if (T > lo->n_ctx) T = lo->n_ctx;
    for (int t = 1; t <= T; t++) step(ctx, c, lo, t, rows, rows == 1 ? 1 : 0, held, scratch);
    step(ctx, c, lo, 1, lo->n_seq, lo->n_seq, held, scratch);
    if (lo->mtp) step(ctx, c, lo, 2, lo->n_seq, 2 * lo->n_seq, held, scratch);
}

void plan_make(const gpu_ctx *ctx, const model_config *cfg, const checkpoint *ck,
               const lm_options *lo, memory_plan *p)
{
    const lm_config *c = &cfg->lm;
    memset(p, 0, sizeof *p);
    for (int i = 0; i < ckpt_count(ck); i++) {
        const tf_tensor *t = ckpt_tensor(ck, i);
        if (!plan_unused(t->name, c, lo->mtp)) p->weights += load_device_bytes(t, lo->quant);
    }
    p->kv = lm_kv_bytes(c, lo);
    p->staging = gpu_staging_bytes(ctx);
    uint64_t lm_held = 0, scratch = 0, tower = 0, s;
    lm_steps(ctx, c, lo, 1, &lm_held, &scratch);
    if (cfg->is_janus) {
        int64_t D = c->hidden_size, rows = lo->n_seq, K = cfg->gen_head_vocab;
        int grid = config_image_tokens(cfg), side = 1;
        while ((side + 1) * (side + 1) <= grid) side++;
        /* text to image: prompts of conditional and unconditional rows, then per step
         * gen_embed + gen_aligner in, gen_head out; a picture decoded at a time */
        if (rows >= 2) lm_steps(ctx, c, lo, rows - rows % 2, &lm_held, &scratch);
        tower = gpu_tensor_bytes(GPU_I32, rows, 1, 1, 1) +
                gpu_tensor_bytes(GPU_F32, D, rows, 1, 1) + gpu_tensor_bytes(GPU_F32, K, rows, 1, 1);
        scratch = MAX(scratch, gpu_temp_bytes(ctx, cfg->gen_aligner.input_dim * rows) +
                                   mlp_bytes(ctx, cfg->gen_aligner.depth, D, D, rows));
        scratch = MAX(scratch, mlp_bytes(ctx, 2, cfg->gen_head_embed, K, rows));
        uint64_t vq = vq_decode_bytes(ctx, &cfg->vq, 1, side, side, &s);
        scratch = MAX(scratch, s);
        /* image understanding: every picture a context holds, encoded and aligned at once,
         * held as features beside the prompt's embeddings */
        int P = (cfg->vision.image_size / cfg->vision.patch_size) *
                (cfg->vision.image_size / cfg->vision.patch_size);
        int n_pic = MAX(1, lo->n_ctx / P);
        uint64_t sig = siglip_encode_bytes(ctx, &cfg->vision, n_pic, &s);
        scratch = MAX(scratch, s);
        scratch = MAX(scratch, mlp_bytes(ctx, cfg->aligner.depth, D, D, (int64_t)P * n_pic));
        uint64_t und = sig + gpu_tensor_bytes(GPU_F32, D, (int64_t)P * n_pic, 1, 1) +
                       gpu_tensor_bytes(GPU_F32, D, lo->n_ctx, 1, 1);
        tower += MAX(vq, und);
    }
    p->acts = lm_held + tower;
    p->scratch = scratch;
}

uint64_t plan_total(const memory_plan *p)
{
    return p->weights + p->kv + p->acts + p->scratch + p->staging;
}

const char *plan_size(uint64_t b, char *buf, size_t n)
{
    if (b >= 1000000000ull) snprintf(buf, n, "%.2f GB", b / 1e9);
    else if (b >= 1000000) snprintf(buf, n, "%.1f MB", b / 1e6);
    else if (b >= 1000) snprintf(buf, n, "%.1f kB", b / 1e3);
    else snprintf(buf, n, "%llu B", (unsigned long long)b);
    return buf;
}

const char *plan_str(const memory_plan *p, char *buf, size_t n)
{
    char w[32], k[32], a[32], t[32];
    snprintf(buf, n, "weights %s + KV cache %s + activations %s = %s",
             plan_size(p->weights, w, sizeof w), plan_size(p->kv, k, sizeof k),
             plan_size(p->acts + p->scratch + p->staging, a, sizeof a),
             plan_size(plan_total(p), t, sizeof t));
    return buf;
}
