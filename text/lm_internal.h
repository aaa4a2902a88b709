/* lm_internal.h: what text/lm.c shares with the stacks (llama.c, deepseek.c). lm.c owns
 * the embeddings, the final norm and head, the forward loop and the logits; a stack owns
 * its layers: their weights, caches, activations and the block math. */
#ifndef VKSEEK_LM_INTERNAL_H
#define VKSEEK_LM_INTERNAL_H

#include "text/lm.h"

#define LM_MAX_CAPTURE 256

typedef struct lm_stack lm_stack;

struct lm {
    gpu_ctx *ctx;
    lm_config c;
    lm_options o;
    const lm_stack *stack;
    void *st;                    /* the stack's state */
    gpu_tensor *embed;           /* (V, D) */
    gpu_tensor *norm;            /* (D) */
    gpu_tensor *head;            /* (V, D); the embedding when tied */
    int n_tok, n_seq;            /* activations are sized for this many tokens */
    gpu_tensor *xb;              /* [D, n_tok, n_seq] normalised input of a block */
    gpu_tensor *last;            /* [D, n_seq] each sequence's last hidden state */
    gpu_tensor *logits;
    int logits_rows;
    gpu_tensor *capture[LM_MAX_CAPTURE + 1];
};

struct lm_stack {
    /* Layer weights named prefix + "model.layers.N...", caches for o->n_ctx x o->n_seq. */
    int (*load)(lm *m, const checkpoint *ck, const char *prefix, char *err, size_t errlen);
    void (*free)(lm *m);
    /* (Re)allocates the stack's activations for n_tok x n_seq tokens. */
    int (*acts)(lm *m, int n_tok, int n_seq, char *err, size_t errlen);
    /* x += attention(...); x += ffn(...) for layer i; may sync (MoE routing reads back). */
    int (*layer)(lm *m, int i, gpu_tensor *x, int n_tok, int pos, char *err, size_t errlen);
};

extern const lm_stack llama_stack;
extern const lm_stack deepseek_stack;

/* A weight named prefix + name in the loader's format (matrices follow --quant; anything
 * else f32). NULL with err set. */
gpu_tensor *lm_weight(lm *m, const checkpoint *ck, const char *prefix, const char *name,
                      int matrix, char *err, size_t errlen);
/* Fails with a message naming t unless t is [ne1 rows, ne0 columns]. */
int lm_check_shape(const gpu_tensor *t, int64_t ne0, int64_t ne1, int layer, char *err,
                   size_t errlen);

#endif
