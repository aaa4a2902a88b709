/* lm.h: a language model on the GPU, whatever its stack (dense LLaMA/Qwen2 now; DeepSeek
 * MLA + MoE next). Sequences run as a batch: n_seq rows share positions (Janus' CFG pairs);
 * the prompt is one batched pass, then one token per step over the KV cache. */
#ifndef VKSEEK_LM_H
#define VKSEEK_LM_H

#include "engine/checkpoint.h"
#include "engine/config.h"
#include "gpu/gpu.h"

typedef struct {
    int n_ctx;      /* KV cache positions per sequence */
    int n_seq;      /* sequences run together */
    int quant;      /* loader's --quant (QUANT_KEEP or a gpu_type) */
} lm_options;

typedef struct lm lm;

/* Loads the weights named prefix + HF name ("" for plain checkpoints, "language_model." for
 * Janus' official naming). NULL with err set on failure. */
lm *lm_load(gpu_ctx *ctx, const checkpoint *ck, const lm_config *cfg, const char *prefix,
            const lm_options *o, char *err, size_t errlen);
void lm_free(lm *m);

/* Embeddings of ids [n_seq][n_tok] (sequence-major) into a new tensor x [D, n_tok, n_seq]. */
gpu_tensor *lm_embed(lm *m, const int32_t *ids, int n_tok, char *err, size_t errlen);

/* Runs x [D, n_tok, n_seq] at positions pos .. pos+n_tok-1 of every sequence, appending to
 * the KV cache. Logits go to logits (host, f32): [n_seq][vocab] for each sequence's last
 * token, or [n_seq][n_tok][vocab] when all is set; NULL skips the head. */
int lm_forward(lm *m, gpu_tensor *x, int n_tok, int pos, int all, float *logits, char *err,
               size_t errlen);

/* After a forward: the final normalised hidden states [D, n_tok, n_seq] (valid until the
 * next forward), for heads other than the language model's own (Janus' gen_head). */
gpu_tensor *lm_hidden(lm *m);

/* After a forward: each sequence's last hidden state [D, n_seq] (Janus' gen_head input). */
gpu_tensor *lm_last_hidden(lm *m);

/* For tests: copy the residual stream into dst [D, n_tok, n_seq] after layer `layer` of the
 * next forward (-1: the embeddings). */
void lm_capture(lm *m, int layer, gpu_tensor *dst);

int lm_vocab(const lm *m);
int lm_dim(const lm *m);
int lm_ctx(const lm *m);   /* KV cache positions per sequence */
int lm_seqs(const lm *m);  /* sequences run together */

#endif
