/* model.c: see model.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "engine/loader.h"
#include "engine/model.h"

void model_close(model *m)
{
    if (!m) return;
    lm_free(m->lm);
    tok_free(m->tok);
    ckpt_close(m->ck);
    gpu_close(m->ctx);
    free(m);
}

int model_ctx(const model_config *cfg, const model_options *o)
{
    int max = cfg->lm.max_position_embeddings;
    if (o->n_ctx > 0) return o->n_ctx;
    if (o->image_ctx && cfg->is_janus) return MODEL_IMAGE_PROMPT + config_image_tokens(cfg);
    return max < 4096 ? max : 4096;
}

model *model_open(const char *dir, const model_options *o, char *err, size_t errlen)
{
    model *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(m->dir, sizeof m->dir, "%s", dir);
    if (config_load(dir, &m->cfg, err, errlen)) goto fail;
    char tpath[1100];
    struct stat st;
    snprintf(tpath, sizeof tpath, "%s/tokenizer.json", dir);
    if (o->need_tokenizer || stat(tpath, &st) == 0)
        if (!(m->tok = tok_load(dir, err, errlen))) goto fail;
    if (ckpt_open(dir, &m->ck, err, errlen)) goto fail;
    if (!(m->ctx = gpu_open(o->device))) {
        snprintf(err, errlen, "%s", gpu_errmsg());
        goto fail;
    }
    const lm_config *c = &m->cfg.lm;
    lm_options lo = {.n_ctx = model_ctx(&m->cfg, o), .n_seq = o->n_seq > 0 ? o->n_seq : 1,
                     .quant = o->quant, .mtp = o->mtp, .kv_f32 = o->kv_f32};
    if (m->tok && tok_vocab_size(m->tok) > c->vocab_size) {
        snprintf(err, errlen, "%s: the tokenizer's %d ids do not fit the model's vocabulary of %d",
                 dir, tok_vocab_size(m->tok), c->vocab_size);
        goto fail;
    }
    /* Janus' official checkpoints name the language model language_model.*; community
     * ones are found from those names by the loader. */
    if (!(m->lm = lm_load(m->ctx, m->ck, c, m->cfg.is_janus ? "language_model." : "", &lo, err,
                          errlen)) || !ckpt_intact(m->ck, err, errlen))
        goto fail;
    plan_make(m->ctx, &m->cfg, m->ck, &lo, &m->plan);
    if (gpu_scratch_reserve(m->ctx, m->plan.scratch)) {
        snprintf(err, errlen, "scratch memory: %s", gpu_errmsg());
        goto fail;
    }
    return m;
fail:
    model_close(m);
    return NULL;
}
