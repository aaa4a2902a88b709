/* lm.c: what every language stack shares: loading the embeddings, final norm and head,
 * activations, the forward loop over the stack's layers, and the logits. The layers are the
 * stack's (llama.c for LLaMA/Qwen2, deepseek.c for DeepSeek V2/V3). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine/loader.h"
#include "text/lm_internal.h"

gpu_tensor *lm_weight(lm *m, const checkpoint *ck, const char *prefix, const char *name,
                      int matrix, char *err, size_t errlen)
{
    char full[512];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    const tf_tensor *t = load_find(ck, full);
    gpu_type type = matrix && t ? load_format(t, m->o.quant) : GPU_F32;
    return load_tensor(m->ctx, ck, full, type, err, errlen);
}

gpu_type lm_kv_type(const lm *m) { return m->o.kv_f32 ? GPU_F32 : GPU_F16; }

int lm_check_shape(const gpu_tensor *t, int64_t ne0, int64_t ne1, int layer, char *err,
                   size_t errlen)
{
    if (t->ne[0] == ne0 && t->ne[1] == ne1) return 0;
    snprintf(err, errlen, "tensor '%s' (layer %d) is [%lld, %lld]; config.json implies [%lld, %lld]",
             t->name, layer, (long long)t->ne[1], (long long)t->ne[0], (long long)ne1,
             (long long)ne0);
    return -1;
}

static void free_common_acts(lm *m)
{
    gpu_tensor **all[] = {&m->b.slot, &m->b.pos, &m->b.dst, &m->rows, &m->xb, &m->last,
                          &m->logits, &m->mtp_cat, &m->mtp_x};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        gpu_free(m->ctx, *all[i]);
        *all[i] = NULL;
    }
    m->n_tok = m->n_seq = m->logits_rows = 0;
}

void lm_free(lm *m)
{
    if (!m) return;
    free_common_acts(m);
    if (m->stack) m->stack->free(m);
    if (m->head != m->embed) gpu_free(m->ctx, m->head);
    gpu_free(m->ctx, m->embed);
    gpu_free(m->ctx, m->norm);
    gpu_tensor *mtp[] = {m->mtp_enorm, m->mtp_hnorm, m->mtp_norm, m->mtp_eh};
    for (size_t i = 0; i < sizeof mtp / sizeof *mtp; i++) gpu_free(m->ctx, mtp[i]);
    free(m);
}

/* The MTP layer's own tensors (its decoder layer is the stack's layer n_layers). */
static int load_mtp(lm *m, const checkpoint *ck, const char *pm, char *err, size_t errlen)
{
    int64_t D = m->c.hidden_size;
    char n[128];
    gpu_tensor **dst[] = {&m->mtp_enorm, &m->mtp_hnorm, &m->mtp_norm, &m->mtp_eh};
    const char *names[] = {"enorm", "hnorm", "shared_head.norm", "eh_proj"};
    for (int i = 0; i < 4; i++) {
        snprintf(n, sizeof n, "layers.%d.%s.weight", m->c.n_layers, names[i]);
        if (!(*dst[i] = lm_weight(m, ck, pm, n, i == 3, err, errlen))) return -1;
        if ((*dst[i])->ne[0] != (i == 3 ? 2 * D : D) || (*dst[i])->ne[1] != (i == 3 ? D : 1)) {
            snprintf(err, errlen, "tensor '%s' does not fit hidden_size %lld", (*dst[i])->name,
                     (long long)D);
            return -1;
        }
    }
    return 0;
}

static const lm_stack *lm_stack_of(const lm_config *c)
{
    return c->arch == LM_LLAMA || c->arch == LM_QWEN2 ? &llama_stack : &deepseek_stack;
}

lm *lm_load(gpu_ctx *ctx, const checkpoint *ck, const lm_config *cfg, const char *prefix,
            const lm_options *o, char *err, size_t errlen)
{
    if (o->n_ctx < 1 || o->n_seq < 1 || o->n_seq > 4096 ||
        (int64_t)o->n_ctx > 4 * (int64_t)cfg->max_position_embeddings) {
        snprintf(err, errlen, "context %d x %d sequences is out of range (max_position_embeddings "
                              "%d)", o->n_ctx, o->n_seq, cfg->max_position_embeddings);
        return NULL;
    }
    lm *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->ctx = ctx, m->c = *cfg, m->o = *o;
    m->stack = lm_stack_of(cfg);
    char pm[64], hn[96];
    snprintf(pm, sizeof pm, "%smodel.", prefix);
    snprintf(hn, sizeof hn, "%slm_head.weight", prefix);
    if (!(m->embed = lm_weight(m, ck, pm, "embed_tokens.weight", 1, err, errlen)) ||
        !(m->norm = lm_weight(m, ck, pm, "norm.weight", 0, err, errlen)))
        goto fail;
    if (cfg->tie_word_embeddings && !load_find(ck, hn)) m->head = m->embed;
    else if (!(m->head = lm_weight(m, ck, prefix, "lm_head.weight", 1, err, errlen))) goto fail;
    if (m->embed->ne[0] != cfg->hidden_size || m->head->ne[0] != cfg->hidden_size ||
        m->embed->ne[1] < cfg->vocab_size || m->head->ne[1] < cfg->vocab_size) {
        snprintf(err, errlen, "the embedding [%lld, %lld] or head [%lld, %lld] does not fit "
                              "hidden_size %d and vocab_size %d",
                 (long long)m->embed->ne[1], (long long)m->embed->ne[0],
                 (long long)m->head->ne[1], (long long)m->head->ne[0], cfg->hidden_size,
                 cfg->vocab_size);
        goto fail;
    }
    if (o->mtp && (m->stack != &deepseek_stack || cfg->n_mtp_layers < 1)) {
        snprintf(err, errlen, "this checkpoint has no multi-token prediction layer "
                              "(num_nextn_predict_layers is 0)");
        goto fail;
    }
    m->n_mtp = o->mtp ? 1 : 0;
    if (m->stack->load(m, ck, prefix, err, errlen) || (m->n_mtp && load_mtp(m, ck, pm, err, errlen)))
        goto fail;
    return m;
fail:
    gpu_clear_error(ctx);
    lm_free(m);
    return NULL;
}

gpu_tensor *lm_act(gpu_ctx *g, uint64_t *bytes, gpu_type type, int64_t ne0, int64_t ne1,
                   int64_t ne2, int64_t ne3, const char *name)
{
    *bytes += gpu_tensor_bytes(type, ne0, ne1, ne2, ne3);
    return g ? gpu_new(g, type, ne0, ne1, ne2, ne3, name) : NULL;
}

/* The activations every stack shares, for n_tok tokens of n_seq rows, into m: allocated
 * when g is set, else only counted. Their device bytes. */
static uint64_t common_acts(gpu_ctx *g, lm *m, int n_tok, int n_seq)
{
    int64_t D = m->c.hidden_size, nr = n_seq, nd = (int64_t)n_tok * n_seq;
    uint64_t b = 0;
    m->xb = lm_act(g, &b, GPU_F32, D, n_tok, n_seq, 1, "xb");
    m->last = lm_act(g, &b, GPU_F32, D, n_seq, 1, 1, "last");
    m->rows = lm_act(g, &b, GPU_I32, 2 * nr + nd, 1, 1, 1, "rows");
    if (m->n_mtp) {
        m->mtp_cat = lm_act(g, &b, GPU_F32, 2 * D, n_tok, n_seq, 1, "mtp_cat");
        m->mtp_x = lm_act(g, &b, GPU_F32, D, n_tok, n_seq, 1, "mtp_x");
    }
    return b;
}

/* Activations for n_tok tokens of n_seq rows (kept while the size repeats: decode). */
static int ensure_acts(lm *m, int n_tok, int n_seq, char *err, size_t errlen)
{
    if (m->n_tok == n_tok && m->n_seq == n_seq) return 0;
    free_common_acts(m);
    gpu_ctx *g = m->ctx;
    int64_t nr = n_seq, nd = (int64_t)n_tok * n_seq;
    common_acts(g, m, n_tok, n_seq);
    if (m->rows) {
        m->b.slot = gpu_view(g, m->rows, nr, 1, 1, 1, nr, nr, nr, 0);
        m->b.pos = gpu_view(g, m->rows, nr, 1, 1, 1, nr, nr, nr, nr);
        m->b.dst = gpu_view(g, m->rows, nd, 1, 1, 1, nd, nd, nd, 2 * nr);
    }
    int ok = m->xb && m->last && m->b.dst && (!m->n_mtp || (m->mtp_cat && m->mtp_x));
    if (!ok || m->stack->acts(m, n_tok, n_seq, err, errlen)) {
        if (!ok)
            snprintf(err, errlen, "activations for %d tokens: %s", n_tok * n_seq, gpu_errmsg());
        gpu_clear_error(m->ctx);
        free_common_acts(m);
        return -1;
    }
    m->n_tok = n_tok, m->n_seq = n_seq;
    return 0;
}

void lm_step_bytes(const gpu_ctx *ctx, const lm_config *c, const lm_options *o, int n_tok,
                   int n_rows, int logit_rows, uint64_t *held, uint64_t *scratch)
{
    lm m = {.c = *c, .o = *o, .n_mtp = o->mtp};
    int64_t N = (int64_t)n_tok * n_rows;
    *held = common_acts(NULL, &m, n_tok, n_rows) +
            lm_stack_of(c)->step_bytes(ctx, c, o, n_tok, n_rows, scratch);
    /* the input (lm_embed_rows: ids and x) and the logits */
    *held += gpu_tensor_bytes(GPU_I32, N, 1, 1, 1) +
             gpu_tensor_bytes(GPU_F32, c->hidden_size, N, 1, 1);
    if (logit_rows) *held += gpu_tensor_bytes(GPU_F32, c->vocab_size, logit_rows, 1, 1);
}

gpu_tensor *lm_embed_rows(lm *m, const int32_t *ids, int n_tok, int n_rows, char *err,
                          size_t errlen)
{
    int64_t n = (int64_t)n_tok * n_rows;
    for (int64_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= m->c.vocab_size) {
            snprintf(err, errlen, "token id %d is outside the vocabulary (0..%d)", ids[i],
                     m->c.vocab_size - 1);
            return NULL;
        }
    gpu_tensor *t = gpu_new(m->ctx, GPU_I32, n_tok, n_rows, 1, 1, "ids");
    gpu_tensor *x = gpu_new(m->ctx, GPU_F32, m->c.hidden_size, n_tok, n_rows, 1, "x");
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

gpu_tensor *lm_embed(lm *m, const int32_t *ids, int n_tok, char *err, size_t errlen)
{
    return lm_embed_rows(m, ids, n_tok, m->o.n_seq, err, errlen);
}

int lm_cache_store(lm *m, gpu_tensor *cache, int64_t row_width, int64_t col, gpu_tensor *src,
                   const lm_batch *b)
{
    int64_t w = src->ne[0], S = m->o.n_seq, rows = (int64_t)(b->n_kv - b->pos_min) * S;
    gpu_tensor *y = gpu_view(m->ctx, cache, w, rows, 1, 1, row_width, row_width * rows,
                             row_width * rows, (int64_t)b->pos_min * S * row_width + col);
    gpu_tensor *s2 = gpu_view(m->ctx, src, w, (int64_t)b->n_tok * b->n_rows, 1, 1, w,
                              w * b->n_tok * b->n_rows, w * b->n_tok * b->n_rows, 0);
    int rc = y && s2 ? gpu_set_rows(m->ctx, y, s2, b->dst) : -1;
    gpu_free(m->ctx, y);
    gpu_free(m->ctx, s2);
    return rc;
}

/* The residual stream after layer i (-1: embeddings) into its capture tensor, if asked. */
static void capture(lm *m, int i, gpu_tensor *x)
{
    if (i < LM_MAX_CAPTURE && m->capture[i + 1]) gpu_copy(m->ctx, m->capture[i + 1], x);
}

int lm_head(lm *m, gpu_tensor *h, int rows, float *out, char *err, size_t errlen)
{
    gpu_ctx *g = m->ctx;
    if (m->logits_rows != rows) {
        gpu_free(g, m->logits);
        m->logits = gpu_new(g, GPU_F32, m->head->ne[1], rows, 1, 1, "logits");
        m->logits_rows = m->logits ? rows : 0;
    }
    int64_t hv = m->head->ne[1], V = m->c.vocab_size;
    float *full = hv != V ? malloc((size_t)(hv * rows) * 4) : NULL;
    int rc = !m->logits || (hv != V && !full) || gpu_matmul(g, m->logits, m->head, h) ||
             gpu_read_f32(g, m->logits, full ? full : out);
    for (int r = 0; full && !rc && r < rows; r++)
        memcpy(out + (int64_t)r * V, full + (int64_t)r * hv, (size_t)V * 4);
    free(full);
    if (rc) snprintf(err, errlen, "logits: %s", gpu_errmsg());
    return rc ? -1 : 0;
}

/* Checks the rows' places and uploads them with each new token's cache row. */
static int place_rows(lm *m, int n_tok, int n_rows, const int *slot, const int *pos, char *err,
                      size_t errlen)
{
    int S = m->o.n_seq;
    int64_t nd = (int64_t)n_tok * n_rows;
    int32_t *h = malloc((size_t)(2 * n_rows + nd) * sizeof *h);
    char *used = calloc((size_t)S, 1);
    int rc = 0;
    if (!h || !used) rc = -1, snprintf(err, errlen, "out of memory");
    lm_batch *b = &m->b;
    b->n_tok = n_tok, b->n_rows = n_rows, b->pos_min = INT32_MAX, b->n_kv = 0;
    for (int r = 0; r < n_rows && rc == 0; r++) {
        int sl = slot ? slot[r] : r;
        if (sl < 0 || sl >= S || used[sl]) {
            snprintf(err, errlen, "forward: row %d's cache slot %d is out of range (0..%d) or "
                                  "taken twice", r, sl, S - 1);
            rc = -1;
        } else if (pos[r] < 0 || (int64_t)pos[r] + n_tok > m->o.n_ctx) {
            snprintf(err, errlen, "the context is full: %d + %d tokens exceed --ctx %d", pos[r],
                     n_tok, m->o.n_ctx);
            rc = -1;
        } else {
            used[sl] = 1;
            h[r] = sl, h[n_rows + r] = pos[r];
            if (pos[r] < b->pos_min) b->pos_min = pos[r];
            if (pos[r] + n_tok > b->n_kv) b->n_kv = pos[r] + n_tok;
        }
    }
    for (int r = 0; r < n_rows && rc == 0; r++)
        for (int t = 0; t < n_tok; t++)
            h[2 * n_rows + (int64_t)r * n_tok + t] = (h[n_rows + r] + t - b->pos_min) * S + h[r];
    if (rc == 0 && gpu_upload(m->ctx, m->rows, h, GPU_I32)) {
        snprintf(err, errlen, "forward: %s", gpu_errmsg());
        rc = -1;
    }
    free(h);
    free(used);
    return rc;
}

/* The end of a forward of x [D, n_tok, S] (the batch's): xb = norm(x), each row's last
 * token into last, and the logits of the last tokens or all (none without logits). */
static int heads(lm *m, gpu_tensor *x, gpu_tensor *norm, int all, float *logits, char *err,
                 size_t errlen)
{
    gpu_ctx *g = m->ctx;
    int64_t D = m->c.hidden_size, n_tok = m->b.n_tok, S = m->b.n_rows;
    gpu_rmsnorm(g, m->xb, x, norm, m->c.rms_norm_eps);
    gpu_tensor *lv = gpu_view(g, m->xb, D, 1, S, 1, D, D * n_tok, D * n_tok * S, (n_tok - 1) * D);
    gpu_tensor *lc = gpu_view(g, m->last, D, 1, S, 1, D, D, D * S, 0);
    int rc = lv && lc ? gpu_copy(g, lc, lv) : -1;
    gpu_free(g, lv);
    gpu_free(g, lc);
    if (rc) return -1;
    if (!logits) {
        if (gpu_sync(g)) return snprintf(err, errlen, "forward: %s", gpu_errmsg()), -1;
        return 0;
    }
    if (!all) return lm_head(m, m->last, (int)S, logits, err, errlen);
    gpu_tensor *h = gpu_view(g, m->xb, D, n_tok * S, 1, 1, D, D * n_tok * S, D * n_tok * S, 0);
    rc = h ? lm_head(m, h, (int)(n_tok * S), logits, err, errlen) : -1;
    gpu_free(g, h);
    return rc;
}

int lm_forward_rows(lm *m, gpu_tensor *x, int n_tok, const int *slot, const int *pos, int all,
                    float *logits, char *err, size_t errlen)
{
    gpu_ctx *g = m->ctx;
    int64_t D = m->c.hidden_size;
    int S = (int)x->ne[2];
    if (n_tok < 1 || S < 1 || S > m->o.n_seq || x->ne[0] != D || x->ne[1] != n_tok ||
        x->ne[3] != 1) {
        snprintf(err, errlen, "forward: input is not [%lld, %d, 1..%d]", (long long)D, n_tok,
                 m->o.n_seq);
        return -1;
    }
    if (ensure_acts(m, n_tok, S, err, errlen) ||
        place_rows(m, n_tok, S, slot, pos, err, errlen))
        return -1;
    int rc = 0;
    capture(m, -1, x);
    for (int i = 0; i < m->c.n_layers && rc == 0; i++) {
        rc = m->stack->layer(m, i, x, &m->b, err, errlen);
        capture(m, i, x);
    }
    if (rc == 0) rc = heads(m, x, m->norm, all, logits, err, errlen);
    if (rc) {
        if (!err[0] || !strstr(err, ":")) snprintf(err, errlen, "forward: %s", gpu_errmsg());
        gpu_clear_error(g);
    }
    return rc ? -1 : 0;
}

int lm_forward(lm *m, gpu_tensor *x, int n_tok, int pos, int all, float *logits, char *err,
               size_t errlen)
{
    int S = m->o.n_seq;
    if (x->ne[2] != S) {
        snprintf(err, errlen, "forward: input has %lld rows for %d sequences",
                 (long long)x->ne[2], S);
        return -1;
    }
    int *p = malloc((size_t)S * sizeof *p);
    if (!p) return snprintf(err, errlen, "out of memory"), -1;
    for (int s = 0; s < S; s++) p[s] = pos;
    int rc = lm_forward_rows(m, x, n_tok, NULL, p, all, logits, err, errlen);
    free(p);
    return rc;
}

int lm_mtp(lm *m, const int32_t *next, int all, float *logits, char *err, size_t errlen)
{
    gpu_ctx *g = m->ctx;
    const lm_batch *b = &m->b;
    int64_t D = m->c.hidden_size, T = b->n_tok, S = b->n_rows, N = T * S;
    if (!m->n_mtp || !m->n_tok) {
        snprintf(err, errlen, "multi-token prediction needs its layer loaded and a forward");
        return -1;
    }
    gpu_tensor *e = lm_embed_rows(m, next, (int)T, (int)S, err, errlen);
    if (!e) return -1;
    /* mtp_cat = [enorm(e); hnorm(h)] per token, h the forward's final hidden states (xb) */
    gpu_tensor *ce = gpu_view(g, m->mtp_cat, D, T, S, 1, 2 * D, 2 * D * T, 2 * D * N, 0);
    gpu_tensor *ch = gpu_view(g, m->mtp_cat, D, T, S, 1, 2 * D, 2 * D * T, 2 * D * N, D);
    int rc = !ce || !ch;
    if (!rc) {
        gpu_rmsnorm(g, m->mtp_x, e, m->mtp_enorm, m->c.rms_norm_eps);
        gpu_copy(g, ce, m->mtp_x);
        gpu_rmsnorm(g, m->mtp_x, m->xb, m->mtp_hnorm, m->c.rms_norm_eps);
        gpu_copy(g, ch, m->mtp_x);
        rc = gpu_matmul(g, m->mtp_x, m->mtp_eh, m->mtp_cat);
    }
    gpu_free(g, ce);
    gpu_free(g, ch);
    gpu_free(g, e);
    if (!rc) rc = m->stack->layer(m, m->c.n_layers, m->mtp_x, b, err, errlen);
    if (!rc) rc = heads(m, m->mtp_x, m->mtp_norm, all, logits, err, errlen);
    if (rc) {
        if (!err[0] || !strstr(err, ":")) snprintf(err, errlen, "MTP: %s", gpu_errmsg());
        gpu_clear_error(g);
    }
    return rc ? -1 : 0;
}

int lm_has_mtp(const lm *m) { return m->n_mtp; }
gpu_tensor *lm_hidden(lm *m) { return m->xb; }
gpu_tensor *lm_last_hidden(lm *m) { return m->last; }

void lm_capture(lm *m, int layer, gpu_tensor *dst)
{
    if (layer >= -1 && layer < LM_MAX_CAPTURE) m->capture[layer + 1] = dst;
}

uint64_t lm_kv_bytes(const lm_config *c, const lm_options *o)
{
    int dense = c->arch == LM_LLAMA || c->arch == LM_QWEN2;
    uint64_t row = dense ? 2ull * c->n_kv_heads * c->head_dim
                         : (uint64_t)c->kv_lora_rank + c->qk_rope_head_dim;
    uint64_t layers = (uint64_t)c->n_layers + (o->mtp && !dense && c->n_mtp_layers > 0);
    return layers * row * (uint64_t)o->n_ctx * (uint64_t)o->n_seq * (o->kv_f32 ? 4 : 2);
}

int lm_vocab(const lm *m) { return m->c.vocab_size; }
int lm_dim(const lm *m) { return m->c.hidden_size; }
int lm_ctx(const lm *m) { return m->o.n_ctx; }
int lm_seqs(const lm *m) { return m->o.n_seq; }
