/* llama.c: the dense decoder stack of LLaMA and Qwen2 (Janus-Pro's language model and the
 * R1 distills): pre-norm blocks with grouped-query attention, rotate-half rope and a SwiGLU
 * MLP. Written against gpu/'s ops only; text/lm.c runs it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "text/lm_internal.h"

typedef struct {
    gpu_tensor *attn_norm;          /* (D) */
    gpu_tensor *wq, *wk, *wv, *wo;  /* (H*hd, D), (Hkv*hd, D) x2, (D, H*hd) */
    gpu_tensor *bq, *bk, *bv;       /* Qwen2 only: (H*hd), (Hkv*hd) x2 */
    gpu_tensor *ffn_norm;           /* (D) */
    gpu_tensor *w_gate, *w_up;      /* (F, D) */
    gpu_tensor *w_down;             /* (D, F) */
    gpu_tensor *k_cache, *v_cache;  /* [hd, Hkv, n_slot, n_ctx] */
} layer;

typedef struct {
    layer *l;
    int hd;                          /* head dim */
    gpu_tensor *q, *k, *v, *att, *o, *gate, *up, *hb;
    gpu_tensor *q4, *k4, *v4, *att2; /* views: per-head shapes of q, k, v; att as [H*hd, n] */
    gpu_rope_scaling rope;           /* the config's context extension */
} dense;

static void free_acts(lm *m)
{
    dense *d = m->st;
    gpu_tensor **all[] = {&d->q4, &d->k4, &d->v4, &d->att2, &d->q, &d->k, &d->v, &d->att,
                          &d->o, &d->gate, &d->up, &d->hb};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        gpu_free(m->ctx, *all[i]);
        *all[i] = NULL;
    }
}

static void llama_free(lm *m)
{
    dense *d = m->st;
    if (!d) return;
    free_acts(m);
    for (int i = 0; d->l && i < m->c.n_layers; i++) {
        layer *L = &d->l[i];
        gpu_tensor *w[] = {L->attn_norm, L->wq, L->wk, L->wv, L->wo, L->bq, L->bk, L->bv,
                           L->ffn_norm, L->w_gate, L->w_up, L->w_down, L->k_cache, L->v_cache};
        for (size_t k = 0; k < sizeof w / sizeof *w; k++) gpu_free(m->ctx, w[k]);
    }
    free(d->l);
    free(d);
    m->st = NULL;
}

static int llama_load(lm *m, const checkpoint *ck, const char *prefix, char *err, size_t errlen)
{
    const lm_config *c = &m->c;
    dense *d = calloc(1, sizeof *d);
    if (!d || !(d->l = calloc((size_t)c->n_layers, sizeof *d->l))) {
        free(d);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    m->st = d;
    d->hd = c->head_dim;
    /* rope scaling as transformers applies it to LLaMA-family models */
    static const gpu_rope_kind kinds[] = {GPU_ROPE_PLAIN, GPU_ROPE_LINEAR, GPU_ROPE_LLAMA3, GPU_ROPE_YARN};
    d->rope = (gpu_rope_scaling){.kind = kinds[c->rope], .factor = c->rope_factor,
                                 .orig_ctx = (float)c->rope_orig_max_pos,
                                 .beta_fast = c->beta_fast, .beta_slow = c->beta_slow,
                                 .low_freq_factor = c->low_freq_factor,
                                 .high_freq_factor = c->high_freq_factor,
                                 .attn_factor = c->rope == ROPE_YARN && c->rope_factor > 1
                                                    ? 0.1f * logf(c->rope_factor) + 1 : 1};
    int D = c->hidden_size, hd = d->hd, F = c->intermediate_size;
    char pm[64];
    snprintf(pm, sizeof pm, "%smodel.", prefix);
    for (int i = 0; i < c->n_layers; i++) {
        layer *L = &d->l[i];
        char n[128];
#define LW(dst, name, matrix)                                                   \
    snprintf(n, sizeof n, "layers.%d." name, i);                                \
    if (!((dst) = lm_weight(m, ck, pm, n, matrix, err, errlen))) return -1
        LW(L->attn_norm, "input_layernorm.weight", 0);
        LW(L->wq, "self_attn.q_proj.weight", 1);
        LW(L->wk, "self_attn.k_proj.weight", 1);
        LW(L->wv, "self_attn.v_proj.weight", 1);
        LW(L->wo, "self_attn.o_proj.weight", 1);
        if (c->qkv_bias) {
            LW(L->bq, "self_attn.q_proj.bias", 0);
            LW(L->bk, "self_attn.k_proj.bias", 0);
            LW(L->bv, "self_attn.v_proj.bias", 0);
        }
        LW(L->ffn_norm, "post_attention_layernorm.weight", 0);
        LW(L->w_gate, "mlp.gate_proj.weight", 1);
        LW(L->w_up, "mlp.up_proj.weight", 1);
        LW(L->w_down, "mlp.down_proj.weight", 1);
#undef LW
        /* the checkpoint must agree with config.json */
        if (lm_check_shape(L->wq, D, c->n_heads * hd, i, err, errlen) ||
            lm_check_shape(L->wk, D, c->n_kv_heads * hd, i, err, errlen) ||
            lm_check_shape(L->wv, D, c->n_kv_heads * hd, i, err, errlen) ||
            lm_check_shape(L->wo, c->n_heads * hd, D, i, err, errlen) ||
            lm_check_shape(L->w_gate, D, F, i, err, errlen) ||
            lm_check_shape(L->w_up, D, F, i, err, errlen) ||
            lm_check_shape(L->w_down, F, D, i, err, errlen))
            return -1;
        L->k_cache = gpu_new(m->ctx, lm_kv_type(m), hd, c->n_kv_heads, m->o.n_seq, m->o.n_ctx, "k_cache");
        L->v_cache = gpu_new(m->ctx, lm_kv_type(m), hd, c->n_kv_heads, m->o.n_seq, m->o.n_ctx, "v_cache");
        if (!L->k_cache || !L->v_cache) {
            snprintf(err, errlen, "KV cache: %s", gpu_errmsg());
            return -1;
        }
    }
    return 0;
}

/* The activations for n_tok x n_seq tokens into d: allocated when g is set, else only
 * counted. Their device bytes. */
static uint64_t act_list(gpu_ctx *g, dense *d, const lm_config *c, int n_tok, int n_seq)
{
    int64_t D = c->hidden_size, hd = c->head_dim, H = c->n_heads, Hk = c->n_kv_heads;
    int64_t F = c->intermediate_size;
    uint64_t b = 0;
    d->q = lm_act(g, &b, GPU_F32, H * hd, n_tok, n_seq, 1, "q");
    d->k = lm_act(g, &b, GPU_F32, Hk * hd, n_tok, n_seq, 1, "k");
    d->v = lm_act(g, &b, GPU_F32, Hk * hd, n_tok, n_seq, 1, "v");
    d->att = lm_act(g, &b, GPU_F32, hd, H, n_tok, n_seq, "att");
    d->o = lm_act(g, &b, GPU_F32, D, n_tok, n_seq, 1, "o");
    d->gate = lm_act(g, &b, GPU_F32, F, n_tok, n_seq, 1, "gate");
    d->up = lm_act(g, &b, GPU_F32, F, n_tok, n_seq, 1, "up");
    d->hb = lm_act(g, &b, GPU_F32, F, n_tok, n_seq, 1, "hb");
    return b;
}

static int llama_acts(lm *m, int n_tok, int n_seq, char *err, size_t errlen)
{
    dense *d = m->st;
    free_acts(m);
    gpu_ctx *g = m->ctx;
    const lm_config *c = &m->c;
    int64_t hd = d->hd, H = c->n_heads, Hk = c->n_kv_heads;
    act_list(g, d, c, n_tok, n_seq);
    if (d->q && d->k && d->v && d->att) {
        d->q4 = gpu_view(g, d->q, hd, H, n_tok, n_seq, hd, hd * H, hd * H * n_tok, 0);
        d->k4 = gpu_view(g, d->k, hd, Hk, n_tok, n_seq, hd, hd * Hk, hd * Hk * n_tok, 0);
        d->v4 = gpu_view(g, d->v, hd, Hk, n_tok, n_seq, hd, hd * Hk, hd * Hk * n_tok, 0);
        d->att2 = gpu_view(g, d->att, H * hd, n_tok, n_seq, 1, H * hd, H * hd * n_tok,
                           H * hd * n_tok * n_seq, 0);
    }
    if (!d->att2 || !d->hb || !d->up || !d->gate || !d->o) {
        snprintf(err, errlen, "activations for %d tokens: %s", n_tok * n_seq, gpu_errmsg());
        free_acts(m);
        return -1;
    }
    return 0;
}

/* A forward records all layers in one stream: their attentions' scratch adds up. */
static uint64_t llama_step_bytes(const gpu_ctx *ctx, const lm_config *c, const lm_options *o,
                                 int n_tok, int n_seq, uint64_t *scratch)
{
    dense d = {0};
    *scratch = (uint64_t)c->n_layers * gpu_attention_scratch(ctx, c->head_dim, c->head_dim,
                                                             c->n_heads, c->n_kv_heads, n_tok,
                                                             n_seq, o->n_ctx);
    return act_list(NULL, &d, c, n_tok, n_seq);
}

/* x = x + o(attention(rope(q(norm(x))), cache)) */
static void attention_block(lm *m, layer *L, gpu_tensor *x, const lm_batch *b)
{
    gpu_ctx *g = m->ctx;
    dense *a = m->st;
    const lm_config *c = &m->c;
    int64_t hd = a->hd, Hk = c->n_kv_heads, S = m->o.n_seq;
    gpu_rmsnorm(g, m->xb, x, L->attn_norm, c->rms_norm_eps);
    gpu_matmul(g, a->q, L->wq, m->xb);
    gpu_matmul(g, a->k, L->wk, m->xb);
    gpu_matmul(g, a->v, L->wv, m->xb);
    if (L->bq) {
        gpu_add(g, a->q, a->q, L->bq);
        gpu_add(g, a->k, a->k, L->bk);
        gpu_add(g, a->v, a->v, L->bv);
    }
    gpu_rope(g, a->q4, (int)hd, GPU_ROPE_HALF, c->rope_theta, &a->rope, 0, b->pos);
    gpu_rope(g, a->k4, (int)hd, GPU_ROPE_HALF, c->rope_theta, &a->rope, 0, b->pos);
    /* append this step's keys and values to each row's cache slot */
    lm_cache_store(m, L->k_cache, hd * Hk, 0, a->k, b);
    lm_cache_store(m, L->v_cache, hd * Hk, 0, a->v, b);
    /* attend over the cache rows in use only */
    int64_t nb3 = hd * Hk, nb2 = nb3 * S; /* slot, position strides */
    gpu_tensor *kv = gpu_view(g, L->k_cache, hd, Hk, b->n_kv, S, hd, nb2, nb3, 0);
    gpu_tensor *vv = gpu_view(g, L->v_cache, hd, Hk, b->n_kv, S, hd, nb2, nb3, 0);
    if (kv && vv)
        gpu_attention(g, a->att, a->q4, kv, vv, b->n_kv, 0, b->slot, b->pos,
                      1.0f / sqrtf((float)hd), 1);
    gpu_free(g, kv);
    gpu_free(g, vv);
    gpu_matmul(g, a->o, L->wo, a->att2);
    gpu_add(g, x, x, a->o);
}

/* x = x + down(silu(gate(norm(x))) * up(norm(x))) */
static void mlp_block(lm *m, layer *L, gpu_tensor *x)
{
    gpu_ctx *g = m->ctx;
    dense *a = m->st;
    gpu_rmsnorm(g, m->xb, x, L->ffn_norm, m->c.rms_norm_eps);
    gpu_matmul(g, a->gate, L->w_gate, m->xb);
    gpu_matmul(g, a->up, L->w_up, m->xb);
    gpu_swiglu(g, a->hb, a->gate, a->up);
    gpu_matmul(g, a->o, L->w_down, a->hb);
    gpu_add(g, x, x, a->o);
}

static int llama_layer(lm *m, int i, gpu_tensor *x, const lm_batch *b, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    dense *d = m->st;
    attention_block(m, &d->l[i], x, b);
    mlp_block(m, &d->l[i], x);
    return 0;
}

const lm_stack llama_stack = {llama_load, llama_free, llama_acts, llama_step_bytes, llama_layer};
