/* vq_decoder.c: the VQ-16 decoder (janus/models/vq_model.py, Decoder) as a chain of ops:
 * codebook lookup, post_quant_conv, conv_in, mid, per-level res/attn blocks and upsamples,
 * norm_out, swish, conv_out. Activations are NCHW ([W, H, C, n] in ne order). Each block
 * records into scratch temporaries and ends in a "settle" (copy to a carry buffer, run),
 * so scratch never holds more than one block's intermediates, even at 384x384. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine/loader.h"
#include "vision/vq_decoder.h"

#define VQ_GROUPS 32          /* GroupNorm(num_groups=32) everywhere */
#define VQ_EPS 1e-6f          /* its eps */
#define VQ_MAX_BLOCKS 8       /* res blocks per level (num_res_blocks + 1) */
#define VQ_MAX_GRID 256       /* codes per side of a grid */

typedef struct {
    int cin, cout;
    gpu_tensor *norm1_w, *norm1_b;   /* (cin) */
    gpu_tensor *conv1_w, *conv1_b;   /* (cout, cin, 3, 3), (cout) */
    gpu_tensor *norm2_w, *norm2_b;   /* (cout) */
    gpu_tensor *conv2_w, *conv2_b;   /* (cout, cout, 3, 3), (cout) */
    gpu_tensor *nin_w, *nin_b;       /* (cout, cin, 1, 1), (cout); NULL when cin == cout */
} vq_res;

typedef struct {
    gpu_tensor *norm_w, *norm_b;     /* (C) */
    gpu_tensor *q_w, *q_b;           /* (C, C, 1, 1), (C) */
    gpu_tensor *k_w, *k_b;           /* (C, C, 1, 1), (C) */
    gpu_tensor *v_w, *v_b;           /* (C, C, 1, 1), (C) */
    gpu_tensor *proj_w, *proj_b;     /* (C, C, 1, 1), (C) */
} vq_attn;

typedef struct {
    int n_blocks;                    /* num_res_blocks + 1 */
    vq_res res[VQ_MAX_BLOCKS];
    vq_attn attn[VQ_MAX_BLOCKS];     /* level 0 (the lowest resolution) only */
    int has_attn, has_upsample;
    gpu_tensor *up_w, *up_b;         /* (C, C, 3, 3), (C): conv after nearest 2x */
} vq_level;

struct vq_decoder {
    gpu_ctx *ctx;
    vq_config cfg;
    gpu_tensor *codebook;            /* (codebook_size, embed_dim), rows L2-normalised */
    gpu_tensor *post_quant_w, *post_quant_b; /* (z_channels, embed_dim, 1, 1), (z_channels) */
    gpu_tensor *conv_in_w, *conv_in_b;       /* (ch*ch_mult[-1], z_channels, 3, 3), (.) */
    vq_res mid_res[2];
    vq_attn mid_attn;
    vq_level level[VQ_MAX_LEVELS];   /* level 0 = conv_blocks.0, the lowest resolution */
    gpu_tensor *norm_out_w, *norm_out_b;     /* (ch*ch_mult[0]) */
    gpu_tensor *conv_out_w, *conv_out_b;     /* (3, ch*ch_mult[0], 3, 3), (3) */
    /* run state */
    gpu_tensor *carry[2], *carry_view[2];    /* ping-pong copies of x between blocks */
    int turn;
    gpu_tensor *capture[VQ_CAP_COUNT];
};

/* ---- loading ---- */

typedef struct {
    gpu_ctx *ctx;
    const checkpoint *ck;
    const char *prefix;
    gpu_type wtype;
    char *err;
    size_t errlen;
    int failed;
} loader;

/* prefix + name, checked to hold n elements; NULL (and the loader failed) otherwise. */
static gpu_tensor *get(loader *l, gpu_type type, int64_t n, const char *fmt, ...)
{
    if (l->failed) return NULL;
    char name[256], full[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    snprintf(full, sizeof full, "%s%s", l->prefix, name);
    gpu_tensor *t = load_tensor(l->ctx, l->ck, full, type, l->err, l->errlen);
    if (t && gpu_nelem(t) != n) {
        snprintf(l->err, l->errlen, "vq decoder: tensor '%s' has %lld elements, the config "
                 "needs %lld", full, (long long)gpu_nelem(t), (long long)n);
        gpu_free(l->ctx, t);
        t = NULL;
    }
    if (!t) l->failed = 1;
    return t;
}

static void load_res(loader *l, vq_res *r, int cin, int cout, const char *at)
{
    r->cin = cin, r->cout = cout;
    r->norm1_w = get(l, GPU_F32, cin, "%s.norm1.weight", at);
    r->norm1_b = get(l, GPU_F32, cin, "%s.norm1.bias", at);
    r->conv1_w = get(l, l->wtype, (int64_t)cout * cin * 9, "%s.conv1.weight", at);
    r->conv1_b = get(l, GPU_F32, cout, "%s.conv1.bias", at);
    r->norm2_w = get(l, GPU_F32, cout, "%s.norm2.weight", at);
    r->norm2_b = get(l, GPU_F32, cout, "%s.norm2.bias", at);
    r->conv2_w = get(l, l->wtype, (int64_t)cout * cout * 9, "%s.conv2.weight", at);
    r->conv2_b = get(l, GPU_F32, cout, "%s.conv2.bias", at);
    if (cin != cout) {
        r->nin_w = get(l, l->wtype, (int64_t)cout * cin, "%s.nin_shortcut.weight", at);
        r->nin_b = get(l, GPU_F32, cout, "%s.nin_shortcut.bias", at);
    }
}

static void load_attn(loader *l, vq_attn *a, int C, const char *at)
{
    a->norm_w = get(l, GPU_F32, C, "%s.norm.weight", at);
    a->norm_b = get(l, GPU_F32, C, "%s.norm.bias", at);
    a->q_w = get(l, l->wtype, (int64_t)C * C, "%s.q.weight", at);
    a->q_b = get(l, GPU_F32, C, "%s.q.bias", at);
    a->k_w = get(l, l->wtype, (int64_t)C * C, "%s.k.weight", at);
    a->k_b = get(l, GPU_F32, C, "%s.k.bias", at);
    a->v_w = get(l, l->wtype, (int64_t)C * C, "%s.v.weight", at);
    a->v_b = get(l, GPU_F32, C, "%s.v.bias", at);
    a->proj_w = get(l, l->wtype, (int64_t)C * C, "%s.proj_out.weight", at);
    a->proj_b = get(l, GPU_F32, C, "%s.proj_out.bias", at);
}

/* F.normalize(embedding.weight, p=2, dim=-1): exact on the host, once. */
static gpu_tensor *load_codebook(loader *l, const vq_config *c)
{
    char name[512];
    snprintf(name, sizeof name, "%squantize.embedding.weight", l->prefix);
    int64_t rows, cols;
    float *e = load_host_f32(l->ck, name, &rows, &cols, l->err, l->errlen);
    if (!e) {
        l->failed = 1;
        return NULL;
    }
    if (rows != c->codebook_size || cols != c->embed_dim) {
        snprintf(l->err, l->errlen, "vq decoder: '%s' is [%lld, %lld], the config says "
                 "[%d, %d]", name, (long long)rows, (long long)cols, c->codebook_size,
                 c->embed_dim);
        free(e);
        l->failed = 1;
        return NULL;
    }
    for (int64_t r = 0; r < rows; r++) {
        float *x = e + r * cols;
        double ss = 0;
        for (int64_t i = 0; i < cols; i++) ss += (double)x[i] * x[i];
        float norm = (float)sqrt(ss);
        if (norm < 1e-12f) norm = 1e-12f;     /* F.normalize's eps */
        for (int64_t i = 0; i < cols; i++) x[i] /= norm;
    }
    gpu_tensor *t = gpu_new(l->ctx, GPU_F32, cols, rows, 1, 1, "vq.codebook");
    if (!t || gpu_upload(l->ctx, t, e, GPU_F32)) {
        snprintf(l->err, l->errlen, "vq decoder: codebook upload: %s", gpu_errmsg());
        gpu_free(l->ctx, t);
        t = NULL;
        l->failed = 1;
    }
    free(e);
    return t;
}

/* Output channels of level i (0 = lowest resolution) and of conv_in. */
static int level_ch(const vq_config *c, int i) { return c->ch * c->ch_mult[c->n_levels - 1 - i]; }

vq_decoder *vq_decoder_load(gpu_ctx *ctx, const checkpoint *ck, const vq_config *cfg,
                            const char *prefix, gpu_type wtype, char *err, size_t errlen)
{
    if (wtype != GPU_F32 && wtype != GPU_F16 && wtype != GPU_BF16) {
        snprintf(err, errlen, "vq decoder: weights must be f32, f16 or bf16, not %s",
                 gpu_type_name(wtype));
        return NULL;
    }
    if (cfg->n_levels < 1 || cfg->n_levels > VQ_MAX_LEVELS || cfg->num_res_blocks < 0 ||
        cfg->num_res_blocks + 1 > VQ_MAX_BLOCKS) {
        snprintf(err, errlen, "vq decoder: %d levels of %d res blocks (at most %d and %d)",
                 cfg->n_levels, cfg->num_res_blocks, VQ_MAX_LEVELS, VQ_MAX_BLOCKS - 1);
        return NULL;
    }
    for (int i = 0; i < cfg->n_levels; i++)
        if (level_ch(cfg, i) % VQ_GROUPS) {
            snprintf(err, errlen, "vq decoder: level width %d is not a multiple of GroupNorm's "
                     "%d groups", level_ch(cfg, i), VQ_GROUPS);
            return NULL;
        }
    vq_decoder *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "vq decoder: out of host memory");
        return NULL;
    }
    d->ctx = ctx, d->cfg = *cfg;
    loader l = {ctx, ck, prefix, wtype, err, errlen, 0};
    int E = cfg->embed_dim, Z = cfg->z_channels, C = level_ch(cfg, 0);
    d->codebook = load_codebook(&l, cfg);
    d->post_quant_w = get(&l, wtype, (int64_t)Z * E, "post_quant_conv.weight");
    d->post_quant_b = get(&l, GPU_F32, Z, "post_quant_conv.bias");
    d->conv_in_w = get(&l, wtype, (int64_t)C * Z * 9, "decoder.conv_in.weight");
    d->conv_in_b = get(&l, GPU_F32, C, "decoder.conv_in.bias");
    load_res(&l, &d->mid_res[0], C, C, "decoder.mid.0");
    load_attn(&l, &d->mid_attn, C, "decoder.mid.1");
    load_res(&l, &d->mid_res[1], C, C, "decoder.mid.2");
    for (int i = 0; i < cfg->n_levels; i++) {
        vq_level *L = &d->level[i];
        int cout = level_ch(cfg, i);
        char at[96];
        L->n_blocks = cfg->num_res_blocks + 1;
        L->has_attn = i == 0;
        L->has_upsample = i != cfg->n_levels - 1;
        for (int j = 0; j < L->n_blocks; j++) {
            snprintf(at, sizeof at, "decoder.conv_blocks.%d.res.%d", i, j);
            load_res(&l, &L->res[j], C, cout, at);
            C = cout;
            snprintf(at, sizeof at, "decoder.conv_blocks.%d.attn.%d", i, j);
            if (L->has_attn) load_attn(&l, &L->attn[j], C, at);
        }
        if (L->has_upsample) {
            L->up_w = get(&l, wtype, (int64_t)C * C * 9, "decoder.conv_blocks.%d.upsample.conv.weight", i);
            L->up_b = get(&l, GPU_F32, C, "decoder.conv_blocks.%d.upsample.conv.bias", i);
        }
    }
    d->norm_out_w = get(&l, GPU_F32, C, "decoder.norm_out.weight");
    d->norm_out_b = get(&l, GPU_F32, C, "decoder.norm_out.bias");
    d->conv_out_w = get(&l, wtype, (int64_t)3 * C * 9, "decoder.conv_out.weight");
    d->conv_out_b = get(&l, GPU_F32, 3, "decoder.conv_out.bias");
    if (l.failed) {
        vq_decoder_free(d);
        return NULL;
    }
    return d;
}

static void free_res(gpu_ctx *ctx, vq_res *r)
{
    gpu_tensor *t[] = {r->norm1_w, r->norm1_b, r->conv1_w, r->conv1_b, r->norm2_w,
                       r->norm2_b, r->conv2_w, r->conv2_b, r->nin_w, r->nin_b};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) gpu_free(ctx, t[i]);
}

static void free_attn(gpu_ctx *ctx, vq_attn *a)
{
    gpu_tensor *t[] = {a->norm_w, a->norm_b, a->q_w, a->q_b, a->k_w, a->k_b,
                       a->v_w, a->v_b, a->proj_w, a->proj_b};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) gpu_free(ctx, t[i]);
}

void vq_decoder_free(vq_decoder *d)
{
    if (!d) return;
    gpu_ctx *ctx = d->ctx;
    gpu_tensor *t[] = {d->codebook, d->post_quant_w, d->post_quant_b, d->conv_in_w,
                       d->conv_in_b, d->norm_out_w, d->norm_out_b, d->conv_out_w,
                       d->conv_out_b};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) gpu_free(ctx, t[i]);
    free_res(ctx, &d->mid_res[0]);
    free_attn(ctx, &d->mid_attn);
    free_res(ctx, &d->mid_res[1]);
    for (int i = 0; i < d->cfg.n_levels; i++) {
        vq_level *L = &d->level[i];
        for (int j = 0; j < L->n_blocks; j++) {
            free_res(ctx, &L->res[j]);
            if (L->has_attn) free_attn(ctx, &L->attn[j]);
        }
        gpu_free(ctx, L->up_w);
        gpu_free(ctx, L->up_b);
    }
    free(d);
}

int vq_decoder_scale(const vq_decoder *d) { return 1 << (d->cfg.n_levels - 1); }

void vq_decoder_capture(vq_decoder *d, int stage, gpu_tensor *t)
{
    if (stage >= 0 && stage < VQ_CAP_COUNT) d->capture[stage] = t;
}

/* ---- blocks ----
 * x is NCHW [W, H, C, n]. Every helper passes a NULL input through: a failed op leaves the
 * device's sticky error, which vq_decode reports. */

static gpu_tensor *temp(vq_decoder *d, int64_t w, int64_t h, int64_t c, int64_t n)
{
    return gpu_new_temp(d->ctx, w, h, c, n, "vq.act");
}

static gpu_tensor *conv(vq_decoder *d, gpu_tensor *x, gpu_tensor *w, gpu_tensor *b, int k,
                        int64_t cout)
{
    gpu_tensor *y = x ? temp(d, x->ne[0], x->ne[1], cout, x->ne[3]) : NULL;
    return y && gpu_conv2d(d->ctx, y, x, w, b, k) == 0 ? y : NULL;
}

/* GroupNorm(32, C, eps=1e-6) */
static gpu_tensor *norm(vq_decoder *d, gpu_tensor *x, gpu_tensor *w, gpu_tensor *b)
{
    gpu_tensor *y = x ? temp(d, x->ne[0], x->ne[1], x->ne[2], x->ne[3]) : NULL;
    return y && gpu_groupnorm(d->ctx, y, x, w, b, VQ_GROUPS, VQ_EPS) == 0 ? y : NULL;
}

/* x * sigmoid(x), in place */
static gpu_tensor *swish(vq_decoder *d, gpu_tensor *x)
{
    return x && gpu_unary(d->ctx, x, x, GPU_SILU, 1.0f) == 0 ? x : NULL;
}

static gpu_tensor *add(vq_decoder *d, gpu_tensor *a, gpu_tensor *b)
{
    gpu_tensor *y = a && b ? temp(d, a->ne[0], a->ne[1], a->ne[2], a->ne[3]) : NULL;
    return y && gpu_add(d->ctx, y, a, b) == 0 ? y : NULL;
}

/* dst = the transposes of src's n row-major [rows x cols] matrices. gpu_copy walks rows of
 * ne0 elements with any outer strides, so the views make each element its own "row". */
static gpu_tensor *transpose(vq_decoder *d, gpu_tensor *dst, gpu_tensor *src, int64_t rows,
                             int64_t cols, int64_t n)
{
    if (!dst || !src) return NULL;
    gpu_tensor *s = gpu_view(d->ctx, src, 1, rows, cols, n, cols, 1, rows * cols, 0);
    gpu_tensor *t = gpu_view(d->ctx, dst, 1, rows, cols, n, 1, rows, rows * cols, 0);
    int rc = s && t ? gpu_copy(d->ctx, t, s) : -1;
    gpu_free(d->ctx, s);
    gpu_free(d->ctx, t);
    return rc == 0 ? dst : NULL;
}

/* NCHW [W, H, C, n] -> tokens [C, 1, W*H, n]: one head of C dims per position */
static gpu_tensor *tokens(vq_decoder *d, gpu_tensor *x)
{
    if (!x) return NULL;
    int64_t hw = x->ne[0] * x->ne[1], C = x->ne[2], n = x->ne[3];
    return transpose(d, gpu_new_temp(d->ctx, C, 1, hw, n, "vq.tokens"), x, C, hw, n);
}

/* tokens [C, 1, W*H, n] -> NCHW [W, H, C, n] */
static gpu_tensor *nchw(vq_decoder *d, gpu_tensor *t, int64_t W, int64_t H)
{
    if (!t) return NULL;
    int64_t C = t->ne[0], n = t->ne[3];
    return transpose(d, temp(d, W, H, C, n), t, W * H, C, n);
}

/* ResnetBlock: s(x) + conv2(swish(norm2(conv1(swish(norm1(x)))))), where s is
 * nin_shortcut (1x1) when the width changes, else the identity. */
static gpu_tensor *resblock(vq_decoder *d, const vq_res *r, gpu_tensor *x)
{
    gpu_tensor *h = swish(d, norm(d, x, r->norm1_w, r->norm1_b));
    h = conv(d, h, r->conv1_w, r->conv1_b, 3, r->cout);
    h = swish(d, norm(d, h, r->norm2_w, r->norm2_b));
    h = conv(d, h, r->conv2_w, r->conv2_b, 3, r->cout);
    if (r->nin_w) x = conv(d, x, r->nin_w, r->nin_b, 1, r->cout);
    return add(d, x, h);
}

/* AttnBlock, one head over all C channels with the H*W positions as tokens:
 * x + proj_out(softmax(q^T k / sqrt(C)) v), q, k, v = 1x1 convs of norm(x).
 * The attention op holds a query of at most 576 dims: C <= 576 (Janus-Pro's is 512). */
static gpu_tensor *attnblock(vq_decoder *d, const vq_attn *a, gpu_tensor *x)
{
    if (!x) return NULL;
    int64_t W = x->ne[0], H = x->ne[1], C = x->ne[2], n = x->ne[3];
    gpu_tensor *h = norm(d, x, a->norm_w, a->norm_b);
    gpu_tensor *q = tokens(d, conv(d, h, a->q_w, a->q_b, 1, C));
    gpu_tensor *k = tokens(d, conv(d, h, a->k_w, a->k_b, 1, C));
    gpu_tensor *v = tokens(d, conv(d, h, a->v_w, a->v_b, 1, C));
    gpu_tensor *att = q && k && v ? gpu_new_temp(d->ctx, C, 1, W * H, n, "vq.att") : NULL;
    if (!att || gpu_attention(d->ctx, att, q, k, v, (int)(W * H), 0, NULL, NULL,
                              1.0f / sqrtf((float)C), 0))
        return NULL;
    h = conv(d, nchw(d, att, W, H), a->proj_w, a->proj_b, 1, C);
    return add(d, x, h);
}

/* Upsample: conv(nearest_2x(x)) */
static gpu_tensor *upsample(vq_decoder *d, const vq_level *L, gpu_tensor *x)
{
    gpu_tensor *y = x ? temp(d, 2 * x->ne[0], 2 * x->ne[1], x->ne[2], x->ne[3]) : NULL;
    if (!y || gpu_upsample2x(d->ctx, y, x)) return NULL;
    return conv(d, y, L->up_w, L->up_b, 3, y->ne[2]);
}

/* z_q = normalize(codebook)[codes]: rows [embed_dim, h*w, n] -> NCHW [w, h, embed_dim, n] */
static gpu_tensor *lookup(vq_decoder *d, gpu_tensor *ids, int n, int gh, int gw)
{
    int64_t E = d->cfg.embed_dim, hw = (int64_t)gh * gw;
    gpu_tensor *rows = gpu_new_temp(d->ctx, E, hw * n, 1, 1, "vq.rows");
    if (!rows || gpu_get_rows(d->ctx, rows, d->codebook, ids)) return NULL;
    return transpose(d, temp(d, gw, gh, E, n), rows, hw, E, n);
}

/* Ends a block: x (captured if asked) is copied to the next carry buffer and the stream
 * runs, which returns the block's scratch. The carry stays valid for one more block. */
static gpu_tensor *settle(vq_decoder *d, gpu_tensor *x, int stage)
{
    if (!x) return NULL;
    int i = d->turn ^= 1;
    gpu_free(d->ctx, d->carry_view[i]);
    int64_t W = x->ne[0], H = x->ne[1], C = x->ne[2], n = x->ne[3];
    gpu_tensor *c = d->carry_view[i] = gpu_view(d->ctx, d->carry[i], W, H, C, n, W, W * H, W * H * C, 0);
    if (!c) return NULL;
    if (stage >= 0 && d->capture[stage] && gpu_copy(d->ctx, d->capture[stage], x)) return NULL;
    return gpu_copy(d->ctx, c, x) == 0 && gpu_sync(d->ctx) == 0 ? c : NULL;
}

static gpu_tensor *forward(vq_decoder *d, gpu_tensor *ids, int n, int gh, int gw)
{
    const vq_config *c = &d->cfg;
    gpu_tensor *x = settle(d, lookup(d, ids, n, gh, gw), VQ_CAP_QUANT);
    x = settle(d, conv(d, x, d->post_quant_w, d->post_quant_b, 1, c->z_channels), VQ_CAP_POST_QUANT);
    x = settle(d, conv(d, x, d->conv_in_w, d->conv_in_b, 3, level_ch(c, 0)), VQ_CAP_CONV_IN);
    /* mid: res, attn, res */
    x = settle(d, resblock(d, &d->mid_res[0], x), -1);
    x = settle(d, attnblock(d, &d->mid_attn, x), -1);
    x = settle(d, resblock(d, &d->mid_res[1], x), VQ_CAP_MID);
    /* levels, lowest resolution first: res [+ attn] per block, then upsample */
    for (int i = 0; i < c->n_levels; i++) {
        const vq_level *L = &d->level[i];
        for (int j = 0; j < L->n_blocks; j++) {
            int out = j == L->n_blocks - 1 && !L->has_upsample ? VQ_CAP_LEVEL + i : -1;
            x = settle(d, resblock(d, &L->res[j], x), L->has_attn ? -1 : out);
            if (L->has_attn) x = settle(d, attnblock(d, &L->attn[j], x), out);
        }
        if (L->has_upsample) x = settle(d, upsample(d, L, x), VQ_CAP_LEVEL + i);
    }
    /* conv_out(swish(norm_out(x))) */
    x = settle(d, norm(d, x, d->norm_out_w, d->norm_out_b), VQ_CAP_NORM_OUT);
    return settle(d, conv(d, swish(d, x), d->conv_out_w, d->conv_out_b, 3, 3), -1);
}

/* The largest activation of a decode, in elements per image. */
static int64_t max_act(const vq_config *c, int gh, int gw)
{
    int64_t hw = (int64_t)gh * gw, m = hw * (c->embed_dim > c->z_channels ? c->embed_dim : c->z_channels);
    for (int i = 0; i < c->n_levels; i++) {
        int64_t ci = level_ch(c, i), cp = i ? level_ch(c, i - 1) : ci;
        if (hw * (ci > cp ? ci : cp) > m) m = hw * (ci > cp ? ci : cp);
        if (i != c->n_levels - 1) hw *= 4;
    }
    return m;
}

/* ---- memory: the scratch of forward()'s blocks, each block's temporaries added up as
 * the helpers above make them (any change there shows in test_memory) ---- */

static uint64_t t_bytes(const gpu_ctx *ctx, int64_t hw, int64_t c, int n)
{
    return gpu_temp_bytes(ctx, hw * c * n);
}

static uint64_t norm_bytes(const gpu_ctx *ctx, int64_t hw, int64_t c, int n)
{
    return t_bytes(ctx, hw, c, n) + gpu_temp_bytes(ctx, 2 * VQ_GROUPS * n); /* + its stats */
}

static uint64_t res_bytes(const gpu_ctx *ctx, int64_t hw, int64_t cin, int64_t cout, int n)
{
    return norm_bytes(ctx, hw, cin, n) + norm_bytes(ctx, hw, cout, n) +
           (cin != cout ? 4 : 3) * t_bytes(ctx, hw, cout, n);
}

static uint64_t attn_bytes(const gpu_ctx *ctx, int64_t hw, int64_t c, int n)
{
    /* norm; q, k, v and their token layouts; att, back to NCHW, proj, add */
    return norm_bytes(ctx, hw, c, n) + 10 * t_bytes(ctx, hw, c, n) +
           gpu_attention_scratch(ctx, c, c, 1, 1, hw, n, hw);
}

uint64_t vq_decode_bytes(const gpu_ctx *ctx, const vq_config *c, int n, int grid_h,
                         int grid_w, uint64_t *scratch)
{
    int64_t hw = (int64_t)grid_h * grid_w, C = level_ch(c, 0);
    uint64_t most = 2 * t_bytes(ctx, hw, c->embed_dim, n), b;
#define BLOCK(x) (b = (x), most = b > most ? b : most)
    BLOCK(t_bytes(ctx, hw, c->z_channels, n));
    BLOCK(t_bytes(ctx, hw, C, n));
    BLOCK(res_bytes(ctx, hw, C, C, n));
    BLOCK(attn_bytes(ctx, hw, C, n));
    for (int i = 0; i < c->n_levels; i++) {
        int64_t cout = level_ch(c, i);
        for (int j = 0; j < c->num_res_blocks + 1; j++) {
            BLOCK(res_bytes(ctx, hw, C, cout, n));
            C = cout;
            if (i == 0) BLOCK(attn_bytes(ctx, hw, C, n));
        }
        if (i != c->n_levels - 1) hw *= 4, BLOCK(2 * t_bytes(ctx, hw, C, n));
    }
    BLOCK(norm_bytes(ctx, hw, C, n));
    BLOCK(t_bytes(ctx, hw, 3, n));
#undef BLOCK
    *scratch = most;
    /* the codes and the two carries */
    return gpu_tensor_bytes(GPU_I32, (int64_t)grid_h * grid_w * n, 1, 1, 1) +
           2 * gpu_tensor_bytes(GPU_F32, max_act(c, grid_h, grid_w) * n, 1, 1, 1);
}

int vq_decode(vq_decoder *d, const int32_t *codes, int n, int grid_h, int grid_w,
              float *out_nchw, uint8_t *out_hwc, char *err, size_t errlen)
{
    gpu_ctx *ctx = d->ctx;
    int s = vq_decoder_scale(d);
    if (n < 1 || grid_h < 1 || grid_w < 1 || grid_h > VQ_MAX_GRID || grid_w > VQ_MAX_GRID) {
        snprintf(err, errlen, "vq decode: %d grids of %dx%d codes (1 to %d per side)", n, grid_h,
                 grid_w, VQ_MAX_GRID);
        return -1;
    }
    int64_t hw = (int64_t)grid_h * grid_w, per = max_act(&d->cfg, grid_h, grid_w);
    if (per * n > INT32_MAX) {
        snprintf(err, errlen, "vq decode: %d images of %dx%d pixels exceed one dispatch's "
                 "%d elements per activation", n, grid_h * s, grid_w * s, INT32_MAX);
        return -1;
    }
    for (int64_t i = 0; i < hw * n; i++)
        if (codes[i] < 0 || codes[i] >= d->cfg.codebook_size) {
            snprintf(err, errlen, "vq decode: code %d (image %lld, position %lld) is outside the "
                     "codebook of %d", codes[i], (long long)(i / hw), (long long)(i % hw),
                     d->cfg.codebook_size);
            return -1;
        }
    gpu_tensor *ids = gpu_new(ctx, GPU_I32, hw * n, 1, 1, 1, "vq.ids");
    d->carry[0] = gpu_new(ctx, GPU_F32, per * n, 1, 1, 1, "vq.carry0");
    d->carry[1] = gpu_new(ctx, GPU_F32, per * n, 1, 1, 1, "vq.carry1");
    int64_t npix = (int64_t)grid_h * s * grid_w * s;
    float *img = malloc((size_t)(npix * 3 * n) * sizeof *img);
    int rc = -1;
    if (ids && d->carry[0] && d->carry[1] && img && gpu_upload(ctx, ids, codes, GPU_I32) == 0) {
        gpu_tensor *x = forward(d, ids, n, grid_h, grid_w);
        rc = x && gpu_read_f32(ctx, x, img) == 0 ? 0 : -1;
    }
    if (rc) snprintf(err, errlen, "vq decode: %s", img ? gpu_errmsg() : "out of host memory");
    for (int i = 0; i < 2; i++) {
        gpu_free(ctx, d->carry_view[i]);
        gpu_free(ctx, d->carry[i]);
        d->carry_view[i] = d->carry[i] = NULL;
    }
    gpu_free(ctx, ids);
    if (rc) gpu_clear_error(ctx);
    if (rc == 0 && out_nchw) memcpy(out_nchw, img, (size_t)(npix * 3 * n) * sizeof *img);
    /* generation_inference.py: np.clip((dec + 1) / 2 * 255, 0, 255) stored into uint8,
     * which truncates */
    for (int b = 0; rc == 0 && out_hwc && b < n; b++)
        for (int64_t p = 0; p < npix; p++)
            for (int ch = 0; ch < 3; ch++) {
                float v = (img[(b * 3 + ch) * npix + p] + 1.0f) / 2.0f * 255.0f;
                v = !(v > 0.0f) ? 0.0f : v > 255.0f ? 255.0f : v; /* NaN: 0 */
                out_hwc[(b * npix + p) * 3 + ch] = (uint8_t)v;
            }
    free(img);
    return rc;
}
