/* lm.h: a language model on the GPU, whatever its stack (dense LLaMA/Qwen2; DeepSeek MLA +
 * MoE). The KV cache has n_seq slots; a forward runs a batch of rows, each in its own slot at
 * its own position (a scheduler's conversations), or all slots at one position (Janus' CFG
 * pairs). A prompt is one batched pass, then one token per step over the cache. */
#ifndef VKSEEK_LM_H
#define VKSEEK_LM_H

#include "engine/checkpoint.h"
#include "engine/config.h"
#include "gpu/gpu.h"

typedef struct {
    int n_ctx;      /* KV cache positions per sequence */
    int n_seq;      /* cache slots: sequences that can run together */
    int quant;      /* loader's --quant (QUANT_KEEP or a gpu_type) */
    int mtp;        /* also load DeepSeek V3's multi-token prediction layer */
    int kv_f32;     /* keep the KV cache in f32 (default f16: half the memory and reads) */
} lm_options;

typedef struct lm lm;

/* Loads the weights named prefix + HF name ("" for plain checkpoints, "language_model." for
 * Janus' official naming). NULL with err set on failure. */
lm *lm_load(gpu_ctx *ctx, const checkpoint *ck, const lm_config *cfg, const char *prefix,
            const lm_options *o, char *err, size_t errlen);
void lm_free(lm *m);

/* Embeddings of ids [n_rows][n_tok] (row-major) into a new tensor x [D, n_tok, n_rows];
 * lm_embed: one row per slot. */
gpu_tensor *lm_embed_rows(lm *m, const int32_t *ids, int n_tok, int n_rows, char *err,
                          size_t errlen);
gpu_tensor *lm_embed(lm *m, const int32_t *ids, int n_tok, char *err, size_t errlen);

/* Runs x [D, n_tok, n_rows]: row r in cache slot slot[r] (NULL: slot r) at positions
 * pos[r] .. pos[r]+n_tok-1, appending to its cache; the slots are distinct. Logits go to
 * logits (host, f32): [n_rows][vocab] for each row's last token, or [n_rows][n_tok][vocab]
 * when all is set; NULL skips the head. */
int lm_forward_rows(lm *m, gpu_tensor *x, int n_tok, const int *slot, const int *pos, int all,
                    float *logits, char *err, size_t errlen);
/* The same for one row per slot, all at positions pos .. pos+n_tok-1. */
int lm_forward(lm *m, gpu_tensor *x, int n_tok, int pos, int all, float *logits, char *err,
               size_t errlen);

/* DeepSeek V3's multi-token prediction layer (model.layers.N, N = num_hidden_layers), after
 * a forward: for each token of it at position i, given next = the token at i+1 ([n_rows]
 * [n_tok], the forward's rows), the logits of the token at i+2 (as lm_forward_rows gives
 * them, the last token's or all): x = eh_proj([enorm(embed(next)); hnorm(h_i)]) through the
 * layer, on its own cache at position i, then shared_head.norm and the head. The checkpoint's
 * copies of the embedding and head are the main model's, which are used. */
int lm_mtp(lm *m, const int32_t *next, int all, float *logits, char *err, size_t errlen);
int lm_has_mtp(const lm *m);

/* After a forward: the final normalised hidden states [D, n_tok, n_rows] (valid until the
 * next forward), for heads other than the language model's own (Janus' gen_head). */
gpu_tensor *lm_hidden(lm *m);

/* After a forward: each row's last hidden state [D, n_rows] (Janus' gen_head input); after
 * lm_mtp, the MTP layer's. */
gpu_tensor *lm_last_hidden(lm *m);

/* logits [rows][vocab] (host) = head(h) for final hidden states h [D, rows] (a view of
 * lm_last_hidden's rows: a batch's chat rows). A padded head keeps the vocabulary's columns. */
int lm_head(lm *m, gpu_tensor *h, int rows, float *logits, char *err, size_t errlen);

/* For tests: copy the residual stream into dst [D, n_tok, n_rows] after layer `layer` of the
 * next forward (-1: the embeddings). */
void lm_capture(lm *m, int layer, gpu_tensor *dst);

/* Device bytes of the KV cache lm_load allocates for these options (the MTP layer's
 * included): per position and sequence, LLaMA keeps K and V of its KV heads, DeepSeek one
 * latent + rope-key row. */
uint64_t lm_kv_bytes(const lm_config *c, const lm_options *o);
/* Device memory a forward of n_tok tokens in each of n_rows rows takes on ctx beyond the
 * weights and the cache: its activations, input and the logits of logit_rows rows (held),
 * and the most scratch one stream of it records (scratch). */
void lm_step_bytes(const gpu_ctx *ctx, const lm_config *c, const lm_options *o, int n_tok,
                   int n_rows, int logit_rows, uint64_t *held, uint64_t *scratch);

int lm_vocab(const lm *m);
int lm_dim(const lm *m);
int lm_ctx(const lm *m);   /* KV cache positions per sequence */
int lm_seqs(const lm *m);  /* cache slots */

#endif
