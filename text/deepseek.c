/* deepseek.c: DeepSeek V2/V3/R1 layers. Multi-head latent attention in its absorbed form:
 * the cache holds, per token, the normalised latent c_kv (r) and the roped key tail (R);
 * queries are mapped into the latent space by W_UK, attention runs as one 576-wide key head
 * shared by all query heads with V = the latent (a view of the key), and W_UV maps each
 * head's result back. Feed-forward: dense SwiGLU in the first layers, then a mixture of
 * experts (routing read back and done on the host in text/moe.c) plus shared experts. The
 * multi-token prediction layer, when loaded, is one more layer of the same kind. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine/loader.h"
#include "text/lm_internal.h"
#include "text/moe.h"

typedef struct {
    gpu_tensor *attn_norm;            /* (D) */
    gpu_tensor *q_a, *q_a_norm, *q_b; /* (ql, D), (ql), (H*(P+R), ql) with q compression */
    gpu_tensor *q_proj;               /* (H*(P+R), D) without (V2-Lite) */
    gpu_tensor *kv_a;                 /* (r+R, D): latent, then the rope key */
    gpu_tensor *kv_a_norm;            /* (r) */
    gpu_tensor *w_uk;                 /* [P, r, H]: q_nope -> latent, per head */
    gpu_tensor *w_uv;                 /* [r, Vd, H]: latent -> value, per head */
    gpu_tensor *wo;                   /* (D, H*Vd) */
    gpu_tensor *ffn_norm;             /* (D) */
    gpu_tensor *gate, *up, *down;     /* dense FFN, or the shared experts of a MoE layer */
    gpu_tensor *router;               /* (E, D) f32 */
    float *router_bias;               /* (E) selection bias on the host, or NULL */
    gpu_tensor **e_gate, **e_up, **e_down; /* per expert: (F, D), (F, D), (D, F) */
    gpu_tensor *cache;                /* [r+R, 1, n_slot, n_ctx] */
} ds_layer;

typedef struct {
    ds_layer *l;
    int P, R, r, Vd, H;               /* nope, rope, latent, value dims; heads */
    float scale;                      /* softmax scale with YaRN's mscale^2 */
    gpu_rope_scaling yarn;
    /* activations for N = n_tok * n_seq tokens */
    gpu_tensor *qa, *qan, *q, *kva, *c_raw, *c_n, *kpe, *qpe, *qn, *qc, *qabs;
    gpu_tensor *oc, *oc2, *oh, *oflat, *out, *g, *u, *h, *gs, *us, *hs, *rl;
    float *rl_host;                   /* router logits read back */
    int32_t *idx;
    float *wts;
} mla;

static int is_moe(const lm_config *c, int i)
{
    return c->n_routed_experts > 0 && i >= c->first_k_dense_replace &&
           (i - c->first_k_dense_replace) % c->moe_layer_freq == 0;
}

static double yarn_mscale(double s, double m) { return s <= 1 ? 1 : 0.1 * m * log(s) + 1; }

static void free_acts(lm *m)
{
    mla *d = m->st;
    gpu_tensor **all[] = {&d->qa, &d->qan, &d->q, &d->kva, &d->c_raw, &d->c_n, &d->kpe, &d->qpe,
                          &d->qn, &d->qc, &d->qabs, &d->oc, &d->oc2, &d->oh, &d->oflat, &d->out,
                          &d->g, &d->u, &d->h, &d->gs, &d->us, &d->hs, &d->rl};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        gpu_free(m->ctx, *all[i]);
        *all[i] = NULL;
    }
    free(d->rl_host), free(d->idx), free(d->wts);
    d->rl_host = NULL, d->idx = NULL, d->wts = NULL;
}

static void ds_free(lm *m)
{
    mla *d = m->st;
    if (!d) return;
    free_acts(m);
    for (int i = 0; d->l && i < m->c.n_layers + m->n_mtp; i++) {
        ds_layer *L = &d->l[i];
        gpu_tensor *w[] = {L->attn_norm, L->q_a, L->q_a_norm, L->q_b, L->q_proj, L->kv_a,
                           L->kv_a_norm, L->w_uk, L->w_uv, L->wo, L->ffn_norm, L->gate, L->up,
                           L->down, L->router, L->cache};
        for (size_t k = 0; k < sizeof w / sizeof *w; k++) gpu_free(m->ctx, w[k]);
        for (int e = 0; L->e_gate && e < m->c.n_routed_experts; e++) {
            gpu_free(m->ctx, L->e_gate[e]);
            gpu_free(m->ctx, L->e_up[e]);
            gpu_free(m->ctx, L->e_down[e]);
        }
        free(L->e_gate), free(L->e_up), free(L->e_down), free(L->router_bias);
    }
    free(d->l);
    free(d);
    m->st = NULL;
}

/* W_UK and W_UV from kv_b_proj (rows per head: P of W_UK, then Vd of W_UV, each over the
 * latent r): w_uk[h][c][d] = W_UK[h][d][c] (transposed, so q_nope maps into the latent),
 * w_uv[h][d][c] = W_UV[h][d][c]. */
static int split_kv_b(lm *m, ds_layer *L, const checkpoint *ck, const char *name, char *err,
                      size_t errlen)
{
    mla *d = m->st;
    int64_t rows, cols;
    float *kvb = load_host_f32(ck, name, &rows, &cols, err, errlen);
    if (!kvb) return -1;
    int P = d->P, Vd = d->Vd, r = d->r, H = d->H;
    if (rows != (int64_t)H * (P + Vd) || cols != r) {
        snprintf(err, errlen, "tensor '%s' is [%lld, %lld]; config.json implies [%d, %d]", name,
                 (long long)rows, (long long)cols, H * (P + Vd), r);
        free(kvb);
        return -1;
    }
    float *uk = malloc((size_t)H * r * P * 4), *uv = malloc((size_t)H * Vd * r * 4);
    int rc = -1;
    if (uk && uv) {
        for (int h = 0; h < H; h++) {
            const float *blk = kvb + (int64_t)h * (P + Vd) * r;
            for (int c = 0; c < r; c++)
                for (int p = 0; p < P; p++) uk[((int64_t)h * r + c) * P + p] = blk[(int64_t)p * r + c];
            memcpy(uv + (int64_t)h * Vd * r, blk + (int64_t)P * r, (size_t)Vd * r * 4);
        }
        const tf_tensor *t = ckpt_find(ck, name);
        gpu_type fmt = load_format(t, m->o.quant);
        /* quantised rows must be whole blocks: the absorbed K is P for W_UK */
        gpu_type fuk = (fmt == GPU_Q8_0 || fmt == GPU_Q4_0) && P % GPU_QBLOCK ? GPU_F32 : fmt;
        L->w_uk = gpu_new(m->ctx, fuk, P, r, H, 1, "w_uk");
        L->w_uv = gpu_new(m->ctx, fmt, r, Vd, H, 1, "w_uv");
        if (L->w_uk && L->w_uv && !gpu_upload(m->ctx, L->w_uk, uk, GPU_F32) &&
            !gpu_upload(m->ctx, L->w_uv, uv, GPU_F32))
            rc = 0;
        else
            snprintf(err, errlen, "%s: %s", name, gpu_errmsg());
    } else {
        snprintf(err, errlen, "out of memory splitting '%s'", name);
    }
    free(kvb), free(uk), free(uv);
    return rc;
}

static int ds_load(lm *m, const checkpoint *ck, const char *prefix, char *err, size_t errlen)
{
    const lm_config *c = &m->c;
    mla *d = calloc(1, sizeof *d);
    if (!d || !(d->l = calloc((size_t)(c->n_layers + m->n_mtp), sizeof *d->l))) {
        free(d);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    m->st = d;
    d->P = c->qk_nope_head_dim, d->R = c->qk_rope_head_dim, d->r = c->kv_lora_rank;
    d->Vd = c->v_head_dim, d->H = c->n_heads;
    if (d->r + d->R > 576 || d->r > 16 * 64 || d->P % 4 || d->r % 8 || d->R % 2) {
        snprintf(err, errlen, "MLA dims (latent %d, rope %d, nope %d) are outside what the "
                              "attention op takes (latent + rope <= 576)", d->r, d->R, d->P);
        return -1;
    }
    /* YaRN: corrected frequencies on the rope dims; its mscale squared in the softmax */
    double f = c->rope == ROPE_YARN ? c->rope_factor : 1.0;
    double msa = yarn_mscale(f, c->mscale_all_dim ? c->mscale_all_dim : c->mscale);
    d->scale = (float)(1.0 / sqrt((double)(d->P + d->R)) * msa * msa);
    d->yarn = (gpu_rope_scaling){.kind = f > 1 ? GPU_ROPE_YARN : GPU_ROPE_PLAIN, .factor = (float)f,
                                 .orig_ctx = (float)c->rope_orig_max_pos, .beta_fast = c->beta_fast,
                                 .beta_slow = c->beta_slow,
                                 .attn_factor = (float)(yarn_mscale(f, c->mscale) / msa)};
    int D = c->hidden_size, E = c->n_routed_experts;
    char pm[64];
    snprintf(pm, sizeof pm, "%smodel.", prefix);
    for (int i = 0; i < c->n_layers + m->n_mtp; i++) {
        ds_layer *L = &d->l[i];
        char n[160];
#define LW(dst, matrix, ...)                                                    \
    snprintf(n, sizeof n, __VA_ARGS__);                                         \
    if (!((dst) = lm_weight(m, ck, pm, n, matrix, err, errlen))) return -1
        LW(L->attn_norm, 0, "layers.%d.input_layernorm.weight", i);
        if (c->q_lora_rank) {
            LW(L->q_a, 1, "layers.%d.self_attn.q_a_proj.weight", i);
            LW(L->q_a_norm, 0, "layers.%d.self_attn.q_a_layernorm.weight", i);
            LW(L->q_b, 1, "layers.%d.self_attn.q_b_proj.weight", i);
        } else {
            LW(L->q_proj, 1, "layers.%d.self_attn.q_proj.weight", i);
        }
        LW(L->kv_a, 1, "layers.%d.self_attn.kv_a_proj_with_mqa.weight", i);
        LW(L->kv_a_norm, 0, "layers.%d.self_attn.kv_a_layernorm.weight", i);
        LW(L->wo, 1, "layers.%d.self_attn.o_proj.weight", i);
        LW(L->ffn_norm, 0, "layers.%d.post_attention_layernorm.weight", i);
        char kvb[200];
        snprintf(kvb, sizeof kvb, "%slayers.%d.self_attn.kv_b_proj.weight", pm, i);
        if (split_kv_b(m, L, ck, kvb, err, errlen)) return -1;
        int F = c->intermediate_size;
        const char *mlp = "mlp";
        if (is_moe(c, i)) {
            F = c->moe_intermediate_size * c->n_shared_experts;
            mlp = "mlp.shared_experts";
            LW(L->router, 0, "layers.%d.mlp.gate.weight", i);
            char bn[200];
            snprintf(bn, sizeof bn, "%slayers.%d.mlp.gate.e_score_correction_bias", pm, i);
            const tf_tensor *bt = ckpt_find(ck, bn);
            if (bt) {
                if (bt->dtype != TF_F32 || tf_nelem(bt) != E) {
                    snprintf(err, errlen, "'%s' must be F32 [%d]", bn, E);
                    return -1;
                }
                L->router_bias = malloc((size_t)E * 4);
                if (!L->router_bias) return snprintf(err, errlen, "out of memory"), -1;
                memcpy(L->router_bias, bt->data, (size_t)E * 4);
            }
            L->e_gate = calloc((size_t)E, sizeof *L->e_gate);
            L->e_up = calloc((size_t)E, sizeof *L->e_up);
            L->e_down = calloc((size_t)E, sizeof *L->e_down);
            if (!L->e_gate || !L->e_up || !L->e_down)
                return snprintf(err, errlen, "out of memory"), -1;
            for (int e = 0; e < E; e++) {
                LW(L->e_gate[e], 1, "layers.%d.mlp.experts.%d.gate_proj.weight", i, e);
                LW(L->e_up[e], 1, "layers.%d.mlp.experts.%d.up_proj.weight", i, e);
                LW(L->e_down[e], 1, "layers.%d.mlp.experts.%d.down_proj.weight", i, e);
            }
            if (lm_check_shape(L->router, D, E, i, err, errlen)) return -1;
        }
        if (!is_moe(c, i) || c->n_shared_experts) {
            LW(L->gate, 1, "layers.%d.%s.gate_proj.weight", i, mlp);
            LW(L->up, 1, "layers.%d.%s.up_proj.weight", i, mlp);
            LW(L->down, 1, "layers.%d.%s.down_proj.weight", i, mlp);
            if (lm_check_shape(L->gate, D, F, i, err, errlen) ||
                lm_check_shape(L->down, F, D, i, err, errlen))
                return -1;
        }
#undef LW
        int qrows = d->H * (d->P + d->R);
        if ((L->q_b && lm_check_shape(L->q_b, c->q_lora_rank, qrows, i, err, errlen)) ||
            (L->q_proj && lm_check_shape(L->q_proj, D, qrows, i, err, errlen)) ||
            lm_check_shape(L->kv_a, D, d->r + d->R, i, err, errlen) ||
            lm_check_shape(L->wo, d->H * d->Vd, D, i, err, errlen))
            return -1;
        L->cache = gpu_new(m->ctx, lm_kv_type(m), d->r + d->R, 1, m->o.n_seq, m->o.n_ctx, "mla_cache");
        if (!L->cache) return snprintf(err, errlen, "KV cache: %s", gpu_errmsg()), -1;
    }
    return 0;
}

/* The activations for n_tok x n_seq tokens into d: allocated when g is set, else only
 * counted. Their device bytes. */
static uint64_t act_list(gpu_ctx *g, mla *d, const lm_config *c, int n_tok, int n_seq)
{
    int64_t N = (int64_t)n_tok * n_seq, H = c->n_heads, P = c->qk_nope_head_dim;
    int64_t R = c->qk_rope_head_dim, r = c->kv_lora_rank, Vd = c->v_head_dim;
    int64_t D = c->hidden_size, ql = c->q_lora_rank ? c->q_lora_rank : 1;
    int64_t F = c->intermediate_size, Fs = (int64_t)c->moe_intermediate_size * c->n_shared_experts;
    int64_t E = c->n_routed_experts;
    uint64_t b = 0;
    d->qa = lm_act(g, &b, GPU_F32, ql, N, 1, 1, "q_a");
    d->qan = lm_act(g, &b, GPU_F32, ql, N, 1, 1, "q_a_norm");
    d->q = lm_act(g, &b, GPU_F32, H * (P + R), N, 1, 1, "q");
    d->kva = lm_act(g, &b, GPU_F32, r + R, N, 1, 1, "kv_a");
    d->c_raw = lm_act(g, &b, GPU_F32, r, N, 1, 1, "c_kv");
    d->c_n = lm_act(g, &b, GPU_F32, r, 1, n_tok, n_seq, "c_kv_norm");
    d->kpe = lm_act(g, &b, GPU_F32, R, 1, n_tok, n_seq, "k_pe");
    d->qpe = lm_act(g, &b, GPU_F32, R, H, n_tok, n_seq, "q_pe");
    d->qn = lm_act(g, &b, GPU_F32, P, N, H, 1, "q_nope");
    d->qc = lm_act(g, &b, GPU_F32, r, N, H, 1, "q_latent");
    d->qabs = lm_act(g, &b, GPU_F32, r + R, H, n_tok, n_seq, "q_abs");
    d->oc = lm_act(g, &b, GPU_F32, r, H, n_tok, n_seq, "o_latent");
    d->oc2 = lm_act(g, &b, GPU_F32, r, N, H, 1, "o_latent_by_head");
    d->oh = lm_act(g, &b, GPU_F32, Vd, N, H, 1, "o_by_head");
    d->oflat = lm_act(g, &b, GPU_F32, Vd * H, N, 1, 1, "o");
    d->out = lm_act(g, &b, GPU_F32, D, n_tok, n_seq, 1, "block_out");
    d->g = lm_act(g, &b, GPU_F32, F, N, 1, 1, "gate");
    d->u = lm_act(g, &b, GPU_F32, F, N, 1, 1, "up");
    d->h = lm_act(g, &b, GPU_F32, F, N, 1, 1, "hidden");
    if (E) {
        d->gs = lm_act(g, &b, GPU_F32, Fs ? Fs : 1, N, 1, 1, "shared_gate");
        d->us = lm_act(g, &b, GPU_F32, Fs ? Fs : 1, N, 1, 1, "shared_up");
        d->hs = lm_act(g, &b, GPU_F32, Fs ? Fs : 1, N, 1, 1, "shared_hidden");
        d->rl = lm_act(g, &b, GPU_F32, E, N, 1, 1, "router_logits");
        /* routing's expert_tokens and expert_weights, while a layer runs */
        b += 2 * gpu_tensor_bytes(GPU_F32, N * c->n_experts_per_tok, 1, 1, 1);
    }
    return b;
}

static int ds_acts(lm *m, int n_tok, int n_seq, char *err, size_t errlen)
{
    mla *d = m->st;
    const lm_config *c = &m->c;
    free_acts(m);
    int64_t N = (int64_t)n_tok * n_seq, E = c->n_routed_experts;
    act_list(m->ctx, d, c, n_tok, n_seq);
    int ok = d->qa && d->qan && d->q && d->kva && d->c_raw && d->c_n && d->kpe && d->qpe &&
             d->qn && d->qc && d->qabs && d->oc && d->oc2 && d->oh && d->oflat && d->out &&
             d->g && d->u && d->h;
    if (ok && E) {
        d->rl_host = malloc((size_t)(E * N) * 4);
        d->idx = malloc((size_t)(N * c->n_experts_per_tok) * 4);
        d->wts = malloc((size_t)(N * c->n_experts_per_tok) * 4);
        ok = d->gs && d->us && d->hs && d->rl && d->rl_host && d->idx && d->wts;
    }
    if (!ok) {
        snprintf(err, errlen, "activations for %lld tokens: %s", (long long)N, gpu_errmsg());
        free_acts(m);
        return -1;
    }
    return 0;
}

/* A MoE layer syncs to read its routing: one stream holds at most the first dense layers'
 * attentions (from the embedding's sync) or one layer's routed experts and the next
 * layer's attention. */
static uint64_t ds_step_bytes(const gpu_ctx *ctx, const lm_config *c, const lm_options *o,
                              int n_tok, int n_seq, uint64_t *scratch)
{
    mla d = {0};
    int64_t N = (int64_t)n_tok * n_seq, D = c->hidden_size, F = c->moe_intermediate_size;
    int64_t k = c->n_experts_per_tok, E = c->n_routed_experts;
    uint64_t att = gpu_attention_scratch(ctx, c->kv_lora_rank + c->qk_rope_head_dim,
                                         c->kv_lora_rank, c->n_heads, 1, n_tok, n_seq, o->n_ctx);
    /* each expert's tokens: in, gate, up, hidden, out */
    int64_t busy = N * k < E ? N * k : E, per = (2 * D + 3 * F) * N * k;
    uint64_t experts = E ? gpu_temp_bytes(ctx, per) + 5 * (uint64_t)busy * gpu_temp_bytes(ctx, 1)
                         : 0;
    uint64_t dense = (uint64_t)(E ? c->first_k_dense_replace : c->n_layers + o->mtp) + 1;
    *scratch = experts + att > dense * att ? experts + att : dense * att;
    return act_list(NULL, &d, c, n_tok, n_seq);
}

/* y = down(silu(gate(x)) * up(x)) with the given buffers */
static void swiglu_mlp(gpu_ctx *g, gpu_tensor *y, gpu_tensor *x, gpu_tensor *wg, gpu_tensor *wu,
                       gpu_tensor *wd, gpu_tensor *a, gpu_tensor *b, gpu_tensor *h)
{
    gpu_matmul(g, a, wg, x);
    gpu_matmul(g, b, wu, x);
    gpu_swiglu(g, h, a, b);
    gpu_matmul(g, y, wd, h);
}

/* A view of t; NULL-safe in the sense that ops given NULL fail cleanly through the context. */
static gpu_tensor *view(lm *m, gpu_tensor *t, int64_t n0, int64_t n1, int64_t n2, int64_t n3,
                        int64_t b1, int64_t b2, int64_t b3, int64_t off)
{
    return t ? gpu_view(m->ctx, t, n0, n1, n2, n3, b1, b2, b3, off) : NULL;
}

#define NVIEWS 11

/* x = x + o_proj(MLA(norm(x))) in the absorbed form over the latent cache. */
static int mla_block(lm *m, ds_layer *L, gpu_tensor *x, const lm_batch *b)
{
    gpu_ctx *g = m->ctx;
    mla *d = m->st;
    const lm_config *c = &m->c;
    int64_t T = b->n_tok, S = b->n_rows, N = T * S, n_slot = m->o.n_seq;
    int64_t H = d->H, P = d->P, R = d->R, r = d->r, Vd = d->Vd;
    int64_t K = r + R;
    gpu_tensor *v[NVIEWS] = {0};
    gpu_rmsnorm(g, m->xb, x, L->attn_norm, c->rms_norm_eps);
    /* q = q_b(norm(q_a(x))) or q_proj(x): per head P nope dims, then R rope dims */
    if (L->q_a) {
        gpu_matmul(g, d->qa, L->q_a, m->xb);
        gpu_rmsnorm(g, d->qan, d->qa, L->q_a_norm, c->rms_norm_eps);
        gpu_matmul(g, d->q, L->q_b, d->qan);
    } else {
        gpu_matmul(g, d->q, L->q_proj, m->xb);
    }
    /* latent c = norm(kv_a(x)[:r]), key tail k_pe = rope(kv_a(x)[r:]) */
    gpu_matmul(g, d->kva, L->kv_a, m->xb);
    gpu_copy(g, d->c_raw, v[0] = view(m, d->kva, r, N, 1, 1, K, K * N, K * N, 0));
    gpu_tensor *cr = v[1] = view(m, d->c_raw, r, 1, T, S, r, r, r * T, 0);
    gpu_rmsnorm(g, d->c_n, cr, L->kv_a_norm, c->rms_norm_eps);
    gpu_copy(g, d->kpe, v[2] = view(m, d->kva, R, 1, T, S, K, K, K * T, r));
    gpu_rope(g, d->kpe, (int)R, GPU_ROPE_INTERLEAVED, c->rope_theta, &d->yarn, 0, b->pos);
    /* append [c | k_pe] to each row's cache slot */
    lm_cache_store(m, L->cache, K, 0, d->c_n, b);
    lm_cache_store(m, L->cache, K, r, d->kpe, b);
    /* q_pe = rope(q[:, P:]); q_latent = W_UK^T q_nope, per head */
    int64_t qw = P + R;
    gpu_copy(g, d->qpe, v[5] = view(m, d->q, R, H, T, S, qw, qw * H, qw * H * T, P));
    gpu_rope(g, d->qpe, (int)R, GPU_ROPE_INTERLEAVED, c->rope_theta, &d->yarn, 0, b->pos);
    gpu_copy(g, d->qn, v[6] = view(m, d->q, P, N, H, 1, qw * H, qw, qw * H * N, 0));
    gpu_matmul(g, d->qc, L->w_uk, d->qn);
    /* q_abs = [q_latent | q_pe] per head: one 576-wide query against the cache rows */
    gpu_copy(g, v[7] = view(m, d->qabs, r, N, H, 1, H * K, K, H * K * N, 0), d->qc);
    gpu_copy(g, v[8] = view(m, d->qabs, R, H, T, S, K, K * H, K * H * T, r), d->qpe);
    /* K: the rows in use, 576 wide; V: their first r dims (cache strides: slot K, position
     * K * n_slot) */
    int64_t n_kv = b->n_kv;
    gpu_tensor *kc = v[3] = view(m, L->cache, K, 1, n_kv, n_slot, K, K * n_slot, K, 0);
    gpu_tensor *vc = v[4] = view(m, L->cache, r, 1, n_kv, n_slot, K, K * n_slot, K, 0);
    gpu_attention(g, d->oc, d->qabs, kc, vc, b->n_kv, 0, b->slot, b->pos, d->scale, 1);
    /* o = W_UV o_latent per head, heads concatenated, then o_proj */
    gpu_copy(g, d->oc2, v[9] = view(m, d->oc, r, N, H, 1, H * r, r, H * r * N, 0));
    gpu_matmul(g, d->oh, L->w_uv, d->oc2);
    gpu_copy(g, v[10] = view(m, d->oflat, Vd, N, H, 1, H * Vd, Vd, H * Vd * N, 0), d->oh);
    gpu_matmul(g, d->out, L->wo, d->oflat);
    gpu_add(g, x, x, d->out);
    for (int i = 0; i < NVIEWS; i++) gpu_free(g, v[i]);
    return 0;
}

/* x = x + ffn(norm(x)): dense SwiGLU, or shared experts + the routed experts' weighted sum */
static int ffn_block(lm *m, ds_layer *L, int li, gpu_tensor *x, const lm_batch *b, char *err,
                     size_t errlen)
{
    gpu_ctx *g = m->ctx;
    mla *d = m->st;
    const lm_config *c = &m->c;
    int64_t N = (int64_t)b->n_tok * b->n_rows, D = c->hidden_size;
    gpu_rmsnorm(g, m->xb, x, L->ffn_norm, c->rms_norm_eps);
    if (!is_moe(c, li)) {
        swiglu_mlp(g, d->out, m->xb, L->gate, L->up, L->down, d->g, d->u, d->h);
        gpu_add(g, x, x, d->out);
        return 0;
    }
    /* router on the GPU, routing on the host */
    gpu_matmul(g, d->rl, L->router, m->xb);
    if (gpu_read_f32(g, d->rl, d->rl_host)) {
        snprintf(err, errlen, "router: %s", gpu_errmsg());
        return -1;
    }
    int k = c->n_experts_per_tok, E = c->n_routed_experts;
    moe_route(c, d->rl_host, L->router_bias, (int)N, d->idx, d->wts);
    /* tokens grouped by expert: ids and weights in one upload, each expert a slice */
    int32_t *ids = malloc((size_t)(N * k) * 4);
    float *w = malloc((size_t)(N * k) * 4);
    int *start = calloc((size_t)E + 1, sizeof *start);
    if (!ids || !w || !start) {
        free(ids), free(w), free(start);
        snprintf(err, errlen, "out of memory routing");
        return -1;
    }
    for (int64_t i = 0; i < N * k; i++) start[d->idx[i] + 1]++;
    for (int e = 0; e < E; e++) start[e + 1] += start[e];
    int *fill = calloc((size_t)E, sizeof *fill);
    for (int64_t i = 0; fill && i < N * k; i++) {
        int e = d->idx[i], at = start[e] + fill[e]++;
        ids[at] = (int32_t)(i / k);
        w[at] = d->wts[i];
    }
    gpu_tensor *tid = gpu_new(g, GPU_I32, N * k, 1, 1, 1, "expert_tokens");
    gpu_tensor *tw = gpu_new(g, GPU_F32, N * k, 1, 1, 1, "expert_weights");
    int rc = !fill || !tid || !tw || gpu_upload(g, tid, ids, GPU_I32) || gpu_upload(g, tw, w, GPU_F32);
    free(ids), free(w), free(fill);
    /* out = shared experts (or 0), then each routed expert adds its weighted rows */
    if (!rc && L->gate) swiglu_mlp(g, d->out, m->xb, L->gate, L->up, L->down, d->gs, d->us, d->hs);
    else if (!rc) rc = gpu_fill(g, d->out, 0);
    int64_t F = c->moe_intermediate_size;
    for (int e = 0; e < E && !rc; e++) {
        int n = start[e + 1] - start[e];
        if (!n) continue;
        /* this expert's tokens, through its MLP, added back with their weights */
        gpu_tensor *xe = gpu_new_temp(g, D, n, 1, 1, "expert_in");
        gpu_tensor *ge = gpu_new_temp(g, F, n, 1, 1, "expert_gate");
        gpu_tensor *ue = gpu_new_temp(g, F, n, 1, 1, "expert_up");
        gpu_tensor *he = gpu_new_temp(g, F, n, 1, 1, "expert_hidden");
        gpu_tensor *ye = gpu_new_temp(g, D, n, 1, 1, "expert_out");
        gpu_tensor *ti = gpu_view(g, tid, n, 1, 1, 1, n, n, n, start[e]);
        gpu_tensor *tv = gpu_view(g, tw, n, 1, 1, 1, n, n, n, start[e]);
        if (!xe || !ge || !ue || !he || !ye || !ti || !tv) rc = -1;
        if (!rc) {
            gpu_get_rows(g, xe, m->xb, ti);
            swiglu_mlp(g, ye, xe, L->e_gate[e], L->e_up[e], L->e_down[e], ge, ue, he);
            gpu_add_rows(g, d->out, ye, ti, tv);
        }
        gpu_free(g, ti);
        gpu_free(g, tv);
    }
    free(start);
    if (!rc) rc = gpu_add(g, x, x, d->out);
    gpu_free(g, tid);
    gpu_free(g, tw);
    if (rc) snprintf(err, errlen, "experts: %s", gpu_errmsg());
    return rc ? -1 : 0;
}

static int ds_layer_fn(lm *m, int i, gpu_tensor *x, const lm_batch *b, char *err, size_t errlen)
{
    mla *d = m->st;
    mla_block(m, &d->l[i], x, b);
    return ffn_block(m, &d->l[i], i, x, b, err, errlen);
}

const lm_stack deepseek_stack = {ds_load, ds_free, ds_acts, ds_step_bytes, ds_layer_fn};
