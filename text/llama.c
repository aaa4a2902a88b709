/* llama.c: the dense decoder stack of LLaMA and Qwen2 (Janus-Pro's language model and the
 * R1 distills): pre-norm blocks with grouped-query attention, rotate-half rope and a SwiGLU
 * MLP. Written against gpu/'s ops only. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine/loader.h"
#include "text/lm.h"

#define MAX_CAPTURE 256

typedef struct {
    gpu_tensor *attn_norm;          /* (D) */
    gpu_tensor *wq, *wk, *wv, *wo;  /* (H*hd, D), (Hkv*hd, D) x2, (D, H*hd) */
    gpu_tensor *bq, *bk, *bv;       /* Qwen2 only: (H*hd), (Hkv*hd) x2 */
    gpu_tensor *ffn_norm;           /* (D) */
    gpu_tensor *w_gate, *w_up;      /* (F, D) */
    gpu_tensor *w_down;             /* (D, F) */
    gpu_tensor *k_cache, *v_cache;  /* [hd, Hkv, n_ctx, n_seq] */
} layer;

/* Activations for n tokens (n_tok x n_seq), reallocated when n changes. */
typedef struct {
    int n_tok, n_seq;
    gpu_tensor *x, *xb, *q, *k, *v, *att, *o, *gate, *up, *hb;
    gpu_tensor *q4, *k4, *v4, *att2; /* views: per-head shapes of q, k, v; att as [D, n] */
    gpu_tensor *last;                /* [D, n_seq]: each sequence's last hidden state */
    gpu_tensor *logits;
    int logits_rows;
} acts;

struct lm {
    gpu_ctx *ctx;
    lm_config c;
    lm_options o;
    int hd;                         /* head dim */
    gpu_tensor *embed;              /* (V, D) */
    gpu_tensor *norm;               /* (D) */
    gpu_tensor *head;               /* (V, D); the embedding when tied */
    layer *l;
    acts a;
    gpu_tensor *capture[MAX_CAPTURE + 1];
};

static gpu_tensor *weight(lm *m, const checkpoint *ck, const char *prefix, const char *name,
                          int matrix, char *err, size_t errlen)
{
    char full[512];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    const tf_tensor *t = ckpt_find(ck, full);
    gpu_type type = matrix && t ? load_format(t, m->o.quant) : GPU_F32;
    return load_tensor(m->ctx, ck, full, type, err, errlen);
}

void lm_free(lm *m)
{
    if (!m) return;
    acts *a = &m->a;
    gpu_tensor *all[] = {a->q4, a->k4, a->v4, a->att2, a->x, a->xb, a->q, a->k, a->v, a->att,
                         a->o, a->gate, a->up, a->hb, a->last, a->logits};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) gpu_free(m->ctx, all[i]);
    for (int i = 0; m->l && i < m->c.n_layers; i++) {
        layer *L = &m->l[i];
        gpu_tensor *w[] = {L->attn_norm, L->wq, L->wk, L->wv, L->wo, L->bq, L->bk, L->bv,
                           L->ffn_norm, L->w_gate, L->w_up, L->w_down, L->k_cache, L->v_cache};
        for (size_t k = 0; k < sizeof w / sizeof *w; k++) gpu_free(m->ctx, w[k]);
    }
    free(m->l);
    if (m->head != m->embed) gpu_free(m->ctx, m->head);
    gpu_free(m->ctx, m->embed);
    gpu_free(m->ctx, m->norm);
    free(m);
}

lm *lm_load(gpu_ctx *ctx, const checkpoint *ck, const lm_config *cfg, const char *prefix,
            const lm_options *o, char *err, size_t errlen)
{
    if (cfg->arch != LM_LLAMA && cfg->arch != LM_QWEN2) {
        snprintf(err, errlen, "%s language models are not supported yet", lm_arch_name(cfg->arch));
        return NULL;
    }
    if (cfg->rope != ROPE_NONE) {
        snprintf(err, errlen, "rope scaling of this %s model is not supported yet",
                 lm_arch_name(cfg->arch));
        return NULL;
    }
    if (o->n_ctx < 1 || o->n_seq < 1 || o->n_ctx > cfg->max_position_embeddings * 4) {
        snprintf(err, errlen, "context %d x %d sequences is out of range", o->n_ctx, o->n_seq);
        return NULL;
    }
    lm *m = calloc(1, sizeof *m);
    if (!m || !(m->l = calloc((size_t)cfg->n_layers, sizeof *m->l))) {
        free(m);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->ctx = ctx, m->c = *cfg, m->o = *o, m->hd = cfg->head_dim;
    const lm_config *c = cfg;
    char pm[64];
    snprintf(pm, sizeof pm, "%smodel.", prefix);
#define W(dst, name, matrix) \
    if (!((dst) = weight(m, ck, pm, name, matrix, err, errlen))) goto fail
    W(m->embed, "embed_tokens.weight", 1);
    W(m->norm, "norm.weight", 0);
    char hn[64];
    snprintf(hn, sizeof hn, "%slm_head.weight", prefix);
    if (c->tie_word_embeddings && !ckpt_find(ck, hn)) m->head = m->embed;
    else if (!(m->head = weight(m, ck, prefix, "lm_head.weight", 1, err, errlen))) goto fail;
    for (int i = 0; i < c->n_layers; i++) {
        layer *L = &m->l[i];
        char n[128];
#define LW(dst, name, matrix) \
    snprintf(n, sizeof n, "layers.%d." name, i); \
    W(dst, n, matrix)
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
        L->k_cache = gpu_new(ctx, GPU_F32, m->hd, c->n_kv_heads, o->n_ctx, o->n_seq, "k_cache");
        L->v_cache = gpu_new(ctx, GPU_F32, m->hd, c->n_kv_heads, o->n_ctx, o->n_seq, "v_cache");
        if (!L->k_cache || !L->v_cache) {
            snprintf(err, errlen, "KV cache: %s", gpu_errmsg());
            goto fail;
        }
    }
#undef W
    /* The checkpoint must agree with config.json. */
    int D = c->hidden_size, hd = m->hd, F = c->intermediate_size;
    for (int i = 0; i < c->n_layers; i++) {
        layer *L = &m->l[i];
        struct { gpu_tensor *t; int64_t ne0, ne1; } want[] = {
            {L->wq, D, c->n_heads * hd}, {L->wk, D, c->n_kv_heads * hd},
            {L->wv, D, c->n_kv_heads * hd}, {L->wo, c->n_heads * hd, D}, {L->w_gate, D, F},
            {L->w_up, D, F}, {L->w_down, F, D}, {L->attn_norm, D, 1}, {L->ffn_norm, D, 1}};
        for (size_t k = 0; k < sizeof want / sizeof *want; k++)
            if (want[k].t->ne[0] != want[k].ne0 || want[k].t->ne[1] != want[k].ne1) {
                snprintf(err, errlen, "tensor '%s' of layer %d is [%lld, %lld]; config.json "
                         "implies [%lld, %lld]", want[k].t->name, i, (long long)want[k].t->ne[1],
                         (long long)want[k].t->ne[0], (long long)want[k].ne1,
                         (long long)want[k].ne0);
                goto fail;
            }
    }
    if (m->embed->ne[0] != D || m->head->ne[0] != D || m->embed->ne[1] < c->vocab_size) {
        snprintf(err, errlen, "embedding or head width does not match hidden_size %d", D);
        goto fail;
    }
    return m;
fail:
    gpu_clear_error(ctx);
    lm_free(m);
    return NULL;
}

static void free_acts(lm *m)
{
    acts *a = &m->a;
    gpu_tensor **all[] = {&a->q4, &a->k4, &a->v4, &a->att2, &a->x, &a->xb, &a->q, &a->k, &a->v,
                          &a->att, &a->o, &a->gate, &a->up, &a->hb, &a->last, &a->logits};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        gpu_free(m->ctx, *all[i]);
        *all[i] = NULL;
    }
    a->n_tok = a->n_seq = a->logits_rows = 0;
}

/* Activations for n_tok tokens of every sequence (kept while the size repeats: decode). */
static int ensure_acts(lm *m, int n_tok, int n_seq, char *err, size_t errlen)
{
    acts *a = &m->a;
    if (a->n_tok == n_tok && a->n_seq == n_seq) return 0;
    free_acts(m);
    gpu_ctx *g = m->ctx;
    const lm_config *c = &m->c;
    int64_t D = c->hidden_size, hd = m->hd, H = c->n_heads, Hk = c->n_kv_heads;
    int64_t F = c->intermediate_size;
    a->xb = gpu_new(g, GPU_F32, D, n_tok, n_seq, 1, "xb");
    a->q = gpu_new(g, GPU_F32, H * hd, n_tok, n_seq, 1, "q");
    a->k = gpu_new(g, GPU_F32, Hk * hd, n_tok, n_seq, 1, "k");
    a->v = gpu_new(g, GPU_F32, Hk * hd, n_tok, n_seq, 1, "v");
    a->att = gpu_new(g, GPU_F32, hd, H, n_tok, n_seq, "att");
    a->o = gpu_new(g, GPU_F32, D, n_tok, n_seq, 1, "o");
    a->gate = gpu_new(g, GPU_F32, F, n_tok, n_seq, 1, "gate");
    a->up = gpu_new(g, GPU_F32, F, n_tok, n_seq, 1, "up");
    a->hb = gpu_new(g, GPU_F32, F, n_tok, n_seq, 1, "hb");
    a->last = gpu_new(g, GPU_F32, D, n_seq, 1, 1, "last");
    if (a->q && a->k && a->v && a->att) {
        a->q4 = gpu_view(g, a->q, hd, H, n_tok, n_seq, hd, hd * H, hd * H * n_tok, 0);
        a->k4 = gpu_view(g, a->k, hd, Hk, n_tok, n_seq, hd, hd * Hk, hd * Hk * n_tok, 0);
        a->v4 = gpu_view(g, a->v, hd, Hk, n_tok, n_seq, hd, hd * Hk, hd * Hk * n_tok, 0);
        a->att2 = gpu_view(g, a->att, H * hd, n_tok, n_seq, 1, H * hd, H * hd * n_tok,
                           H * hd * n_tok * n_seq, 0);
    }
    if (!a->att2 || !a->last || !a->hb || !a->up || !a->gate || !a->o || !a->xb) {
        snprintf(err, errlen, "activations for %d tokens: %s", n_tok * n_seq, gpu_errmsg());
        gpu_clear_error(g);
        free_acts(m);
        return -1;
    }
    a->n_tok = n_tok, a->n_seq = n_seq;
    return 0;
}

gpu_tensor *lm_embed(lm *m, const int32_t *ids, int n_tok, char *err, size_t errlen)
{
    int64_t n = (int64_t)n_tok * m->o.n_seq;
    for (int64_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= m->c.vocab_size) {
            snprintf(err, errlen, "token id %d is outside the vocabulary (0..%d)", ids[i],
                     m->c.vocab_size - 1);
            return NULL;
        }
    gpu_tensor *t = gpu_new(m->ctx, GPU_I32, n_tok, m->o.n_seq, 1, 1, "ids");
    gpu_tensor *x = gpu_new(m->ctx, GPU_F32, m->c.hidden_size, n_tok, m->o.n_seq, 1, "x");
    if (!t || !x || gpu_upload(m->ctx, t, ids, GPU_I32) || gpu_get_rows(m->ctx, x, m->embed, t) ||
        gpu_sync(m->ctx)) {
        snprintf(err, errlen, "embedding: %s", gpu_errmsg());
        gpu_clear_error(m->ctx);
        gpu_free(m->ctx, x);
        x = NULL;
    }
    gpu_free(m->ctx, t);
    return x;
}

/* The residual stream after layer i (-1: embeddings) into the capture tensor, if asked. */
static void capture(lm *m, int i, gpu_tensor *x)
{
    gpu_tensor *dst = m->capture[i + 1];
    if (dst) gpu_copy(m->ctx, dst, x);
}

/* x = x + o(attention(rope(q(norm(x))), cache)) */
static void attention_block(lm *m, layer *L, gpu_tensor *x, int n_tok, int pos)
{
    gpu_ctx *g = m->ctx;
    acts *a = &m->a;
    const lm_config *c = &m->c;
    int64_t hd = m->hd, Hk = c->n_kv_heads, S = m->o.n_seq;
    gpu_rmsnorm(g, a->xb, x, L->attn_norm, c->rms_norm_eps);
    gpu_matmul(g, a->q, L->wq, a->xb);
    gpu_matmul(g, a->k, L->wk, a->xb);
    gpu_matmul(g, a->v, L->wv, a->xb);
    if (L->bq) {
        gpu_add(g, a->q, a->q, L->bq);
        gpu_add(g, a->k, a->k, L->bk);
        gpu_add(g, a->v, a->v, L->bv);
    }
    gpu_rope(g, a->q4, (int)hd, GPU_ROPE_HALF, c->rope_theta, NULL, pos);
    gpu_rope(g, a->k4, (int)hd, GPU_ROPE_HALF, c->rope_theta, NULL, pos);
    /* append this step's keys and values to the cache rows pos .. pos+n_tok-1 */
    int64_t nb2 = hd * Hk, nb3 = hd * Hk * m->o.n_ctx;
    gpu_tensor *kc = gpu_view(g, L->k_cache, hd, Hk, n_tok, S, hd, nb2, nb3, pos * nb2);
    gpu_tensor *vc = gpu_view(g, L->v_cache, hd, Hk, n_tok, S, hd, nb2, nb3, pos * nb2);
    if (kc && vc) {
        gpu_copy(g, kc, a->k4);
        gpu_copy(g, vc, a->v4);
    }
    gpu_free(g, kc);
    gpu_free(g, vc);
    gpu_attention(g, a->att, a->q4, L->k_cache, L->v_cache, pos + n_tok, pos,
                  1.0f / sqrtf((float)hd), 1);
    gpu_matmul(g, a->o, L->wo, a->att2);
    gpu_add(g, x, x, a->o);
}

/* x = x + down(silu(gate(norm(x))) * up(norm(x))) */
static void mlp_block(lm *m, layer *L, gpu_tensor *x)
{
    gpu_ctx *g = m->ctx;
    acts *a = &m->a;
    gpu_rmsnorm(g, a->xb, x, L->ffn_norm, m->c.rms_norm_eps);
    gpu_matmul(g, a->gate, L->w_gate, a->xb);
    gpu_matmul(g, a->up, L->w_up, a->xb);
    gpu_swiglu(g, a->hb, a->gate, a->up);
    gpu_matmul(g, a->o, L->w_down, a->hb);
    gpu_add(g, x, x, a->o);
}

int lm_forward(lm *m, gpu_tensor *x, int n_tok, int pos, int all, float *logits, char *err,
               size_t errlen)
{
    gpu_ctx *g = m->ctx;
    int S = m->o.n_seq;
    if (n_tok < 1 || pos < 0 || x->ne[0] != m->c.hidden_size || x->ne[1] != n_tok ||
        x->ne[2] != S) {
        snprintf(err, errlen, "forward: input is not [%d, %d, %d]", m->c.hidden_size, n_tok, S);
        return -1;
    }
    if (pos + n_tok > m->o.n_ctx) {
        snprintf(err, errlen, "the context is full: %d + %d tokens exceed --ctx %d", pos, n_tok,
                 m->o.n_ctx);
        return -1;
    }
    if (ensure_acts(m, n_tok, S, err, errlen)) return -1;
    acts *a = &m->a;
    capture(m, -1, x);
    for (int i = 0; i < m->c.n_layers; i++) {
        attention_block(m, &m->l[i], x, n_tok, pos);
        mlp_block(m, &m->l[i], x);
        if (i < MAX_CAPTURE) capture(m, i, x);
    }
    gpu_rmsnorm(g, a->xb, x, m->norm, m->c.rms_norm_eps); /* the hidden states heads read */
    int rows = all ? n_tok * S : S;
    gpu_tensor *in = a->xb;
    if (!all) {
        /* each sequence's last token */
        int64_t D = m->c.hidden_size;
        gpu_tensor *lastv = gpu_view(g, a->xb, D, 1, S, 1, D, D * n_tok, D * n_tok * S,
                                     (int64_t)(n_tok - 1) * D);
        gpu_tensor *lastc = gpu_view(g, a->last, D, 1, S, 1, D, D, D * S, 0);
        if (lastv && lastc) gpu_copy(g, lastc, lastv);
        gpu_free(g, lastv);
        gpu_free(g, lastc);
        in = a->last;
    }
    if (logits) {
        if (a->logits_rows != rows) {
            gpu_free(g, a->logits);
            a->logits = gpu_new(g, GPU_F32, m->head->ne[1], rows, 1, 1, "logits");
            a->logits_rows = a->logits ? rows : 0;
        }
        gpu_tensor *in2 = all ? gpu_view(g, a->xb, m->c.hidden_size, rows, 1, 1,
                                         m->c.hidden_size, m->c.hidden_size * rows,
                                         m->c.hidden_size * rows, 0) : NULL;
        if (a->logits) gpu_matmul(g, a->logits, m->head, all ? in2 : in);
        float *full = NULL;
        int64_t hv = m->head->ne[1], V = m->c.vocab_size;
        if (a->logits && hv != V) full = malloc((size_t)(hv * rows) * 4);
        int rc = a->logits ? gpu_read_f32(g, a->logits, full ? full : logits) : -1;
        if (full) { /* a padded head: keep the vocabulary's columns */
            for (int r = 0; r < rows && rc == 0; r++) memcpy(logits + (int64_t)r * V, full + r * hv, (size_t)V * 4);
            free(full);
        }
        gpu_free(g, in2);
        if (rc) {
            snprintf(err, errlen, "forward: %s", gpu_errmsg());
            gpu_clear_error(g);
            return -1;
        }
        return 0;
    }
    if (gpu_sync(g)) {
        snprintf(err, errlen, "forward: %s", gpu_errmsg());
        gpu_clear_error(g);
        return -1;
    }
    return 0;
}

gpu_tensor *lm_hidden(lm *m) { return m->a.xb; }

void lm_capture(lm *m, int layer, gpu_tensor *dst)
{
    if (layer >= -1 && layer < MAX_CAPTURE) m->capture[layer + 1] = dst;
}

int lm_vocab(const lm *m) { return m->c.vocab_size; }
int lm_dim(const lm *m) { return m->c.hidden_size; }
