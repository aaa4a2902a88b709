/* lm_internal.h: what text/lm.c shares with the stacks (llama.c, deepseek.c). lm.c owns
 * the embeddings, the final norm and head, the forward loop and the logits; a stack owns
 * its layers: their weights, caches, activations and the block math. */
#ifndef VKSEEK_LM_INTERNAL_H
#define VKSEEK_LM_INTERNAL_H

#include "text/lm.h"

#define LM_MAX_CAPTURE 256

typedef struct lm_stack lm_stack;

/* Where a forward's rows go: row r of x [D, n_tok, n_rows] is cache slot slot[r], its tokens
 * at positions pos[r] .. pos[r]+n_tok-1 (tensors in the forward's I32 buffer). */
typedef struct {
    int n_tok, n_rows;
    int pos_min, n_kv;     /* new cache rows start at position pos_min; attention reads [0, n_kv) */
    gpu_tensor *slot, *pos; /* [n_rows] */
    gpu_tensor *dst;       /* [n_tok * n_rows]: each new token's cache row, (position - pos_min)
                              * n_slot + slot, in a cache seen as rows from position pos_min */
} lm_batch;

struct lm {
    gpu_ctx *ctx;
    lm_config c;
    lm_options o;
    const lm_stack *stack;
    void *st;                    /* the stack's state */
    gpu_tensor *embed;           /* (V, D) */
    gpu_tensor *norm;            /* (D) */
    gpu_tensor *head;            /* (V, D); the embedding when tied */
    int n_mtp;                   /* 1: the stack loaded layer n_layers, the MTP's */
    gpu_tensor *mtp_enorm, *mtp_hnorm, *mtp_norm; /* (D) */
    gpu_tensor *mtp_eh;          /* (D, 2D) */
    int n_tok, n_seq;            /* activations are sized for n_tok tokens of n_seq rows */
    gpu_tensor *xb;              /* [D, n_tok, n_seq] normalised input of a block */
    gpu_tensor *last;            /* [D, n_seq] each row's last hidden state */
    gpu_tensor *rows;            /* I32: slot, pos and dst of lm_batch */
    gpu_tensor *mtp_cat, *mtp_x; /* MTP: [2D] and [D] by n_tok x n_seq */
    lm_batch b;
    gpu_tensor *logits;
    int logits_rows;
    gpu_tensor *capture[LM_MAX_CAPTURE + 1];
};

struct lm_stack {
    /* Layer weights named prefix + "model.layers.N..." (N < n_layers + n_mtp), caches for o->n_ctx x o->n_seq slots
     * laid out position-major ([.., n_slot, n_ctx]: the rows in use are one short span). */
    int (*load)(lm *m, const checkpoint *ck, const char *prefix, char *err, size_t errlen);
    void (*free)(lm *m);
    /* (Re)allocates the stack's activations for n_tok x n_seq tokens. */
    int (*acts)(lm *m, int n_tok, int n_seq, char *err, size_t errlen);
    /* The device bytes of those activations, and in *scratch the most scratch one stream
     * of such a forward records on ctx (lm_step_bytes). */
    uint64_t (*step_bytes)(const gpu_ctx *ctx, const lm_config *c, const lm_options *o,
                           int n_tok, int n_seq, uint64_t *scratch);
    /* x += attention(...); x += ffn(...) for layer i; may sync (MoE routing reads back). */
    int (*layer)(lm *m, int i, gpu_tensor *x, const lm_batch *b, char *err, size_t errlen);
};

extern const lm_stack llama_stack;
extern const lm_stack deepseek_stack;

/* A weight named prefix + name in the loader's format (matrices follow --quant; anything
 * else f32). NULL with err set. */
gpu_tensor *lm_weight(lm *m, const checkpoint *ck, const char *prefix, const char *name,
                      int matrix, char *err, size_t errlen);
/* An activation: allocated when g is set (NULL on failure), else only counted; its device
 * bytes are added to *bytes either way. Each stack lists its activations once, in a
 * function that both allocates them and counts them for memory plans. */
gpu_tensor *lm_act(gpu_ctx *g, uint64_t *bytes, gpu_type type, int64_t ne0, int64_t ne1,
                   int64_t ne2, int64_t ne3, const char *name);
/* The KV cache's element type (lm_options.kv_f32). */
gpu_type lm_kv_type(const lm *m);
/* Fails with a message naming t unless t is [ne1 rows, ne0 columns]. */
int lm_check_shape(const gpu_tensor *t, int64_t ne0, int64_t ne1, int layer, char *err,
                   size_t errlen);
/* Writes src [w, n_tok, n_rows] (contiguous) into columns [col, col+w) of the batch's cache
 * rows, the cache being [row_width, n_slot, n_ctx] f32. */
int lm_cache_store(lm *m, gpu_tensor *cache, int64_t row_width, int64_t col, gpu_tensor *src,
                   const lm_batch *b);

#endif
