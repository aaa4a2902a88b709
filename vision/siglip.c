/* siglip.c: see siglip.h. Per block, as the official code computes it:
 *   x = x + proj(attention(split(qkv(LN1(x)))))      one fused qkv Linear, heads of width/heads
 *   x = x + fc2(GELU(fc1(LN2(x))))                   exact (erf) GELU
 * then the final LayerNorm; LayerNorm eps 1e-6; the patch embedding (a 16x16 stride-16
 * convolution) is a matrix product over patches unfolded on the host. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine/loader.h"
#include "vision/siglip.h"

#define MAX_BLOCKS 64
#define LN_EPS 1e-6f

typedef struct {
    gpu_tensor *ln1_w, *ln1_b, *ln2_w, *ln2_b;  /* (W) */
    gpu_tensor *qkv_w, *qkv_b;                  /* (3W, W), (3W): q | k | v */
    gpu_tensor *proj_w, *proj_b;                /* (W, W), (W) */
    gpu_tensor *fc1_w, *fc1_b;                  /* (F, W), (F) */
    gpu_tensor *fc2_w, *fc2_b;                  /* (W, F), (W) */
} block;

struct siglip {
    gpu_ctx *ctx;
    int W, H, F, P, S, patch, n_blocks;         /* width, heads, MLP width, patches, size */
    gpu_tensor *patch_w;                        /* (W, 3*p*p) */
    gpu_tensor *patch_b, *pos;                  /* (W), (P, W) */
    gpu_tensor *norm_w, *norm_b;                /* (W) */
    block b[MAX_BLOCKS];
    gpu_tensor *capture[MAX_BLOCKS + 1];
};

void siglip_free(siglip *s)
{
    if (!s) return;
    for (int i = 0; i < s->n_blocks; i++) {
        block *B = &s->b[i];
        gpu_tensor *t[] = {B->ln1_w, B->ln1_b, B->ln2_w, B->ln2_b, B->qkv_w, B->qkv_b, B->proj_w,
                           B->proj_b, B->fc1_w, B->fc1_b, B->fc2_w, B->fc2_b};
        for (size_t k = 0; k < sizeof t / sizeof *t; k++) gpu_free(s->ctx, t[k]);
    }
    gpu_tensor *t[] = {s->patch_w, s->patch_b, s->pos, s->norm_w, s->norm_b};
    for (size_t k = 0; k < sizeof t / sizeof *t; k++) gpu_free(s->ctx, t[k]);
    free(s);
}

static gpu_tensor *weight(siglip *s, const checkpoint *ck, const char *name, int matrix,
                          int quant, char *err, size_t errlen)
{
    const tf_tensor *t = load_find(ck, name);
    return load_tensor(s->ctx, ck, name, matrix && t ? load_format(t, quant) : GPU_F32, err, errlen);
}

/* The tower's dimensions from its config. */
static void dims(siglip *s, const vision_config *vc)
{
    /* Janus builds layers + select_layer + 1 blocks for select_layer <= 0 */
    int n = vc->select_layer <= 0 ? vc->layers + vc->select_layer + 1 : vc->select_layer;
    s->n_blocks = n > vc->layers ? vc->layers : n;
    s->W = vc->width, s->H = vc->heads, s->F = (int)(vc->width * vc->mlp_ratio);
    s->S = vc->image_size, s->patch = vc->patch_size;
    s->P = (s->S / s->patch) * (s->S / s->patch);
}

siglip *siglip_load(gpu_ctx *ctx, const checkpoint *ck, const vision_config *vc,
                    const char *prefix, int quant, char *err, size_t errlen)
{
    siglip dm = {0};
    dims(&dm, vc);
    int n = dm.n_blocks;
    if (n < 1 || n > MAX_BLOCKS || vc->image_size % vc->patch_size || vc->width % vc->heads ||
        vc->width / vc->heads > 576) {
        snprintf(err, errlen, "vision tower: %d blocks of width %d / %d heads, %d px patches of "
                              "%d px images are outside what vkseek runs", n, vc->width,
                 vc->heads, vc->patch_size, vc->image_size);
        return NULL;
    }
    siglip *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    *s = dm;
    s->ctx = ctx;
    char name[256];
#define LOAD(dst, matrix, ...)                                                     \
    do {                                                                           \
        int o_ = snprintf(name, sizeof name, "%svision_tower.", prefix);           \
        snprintf(name + o_, sizeof name - (size_t)o_, __VA_ARGS__);                \
        if (!((dst) = weight(s, ck, name, matrix, quant, err, errlen))) goto fail; \
    } while (0)
    LOAD(s->patch_w, 0, "patch_embed.proj.weight");
    LOAD(s->patch_b, 0, "patch_embed.proj.bias");
    LOAD(s->pos, 0, "pos_embed");
    LOAD(s->norm_w, 0, "norm.weight");
    LOAD(s->norm_b, 0, "norm.bias");
    for (int i = 0; i < n; i++) {
        block *B = &s->b[i];
        LOAD(B->ln1_w, 0, "blocks.%d.norm1.weight", i);
        LOAD(B->ln1_b, 0, "blocks.%d.norm1.bias", i);
        LOAD(B->qkv_w, 1, "blocks.%d.attn.qkv.weight", i);
        LOAD(B->qkv_b, 0, "blocks.%d.attn.qkv.bias", i);
        LOAD(B->proj_w, 1, "blocks.%d.attn.proj.weight", i);
        LOAD(B->proj_b, 0, "blocks.%d.attn.proj.bias", i);
        LOAD(B->ln2_w, 0, "blocks.%d.norm2.weight", i);
        LOAD(B->ln2_b, 0, "blocks.%d.norm2.bias", i);
        LOAD(B->fc1_w, 1, "blocks.%d.mlp.fc1.weight", i);
        LOAD(B->fc1_b, 0, "blocks.%d.mlp.fc1.bias", i);
        LOAD(B->fc2_w, 1, "blocks.%d.mlp.fc2.weight", i);
        LOAD(B->fc2_b, 0, "blocks.%d.mlp.fc2.bias", i);
        if (B->qkv_w->ne[0] != s->W || B->qkv_w->ne[1] != 3 * s->W || B->fc1_w->ne[1] != s->F) {
            snprintf(err, errlen, "vision block %d: qkv [%lld, %lld] or fc1 does not fit width %d",
                     i, (long long)B->qkv_w->ne[1], (long long)B->qkv_w->ne[0], s->W);
            goto fail;
        }
    }
#undef LOAD
    /* the patch kernel [W, 3, p, p] as a matrix over unfolded (c, y, x) patches; the
     * position table [1, P, W] as [W, P] */
    int64_t k = 3 * (int64_t)s->patch * s->patch;
    if (gpu_nelem(s->patch_w) != k * s->W || gpu_nelem(s->pos) != (int64_t)s->P * s->W ||
        gpu_reshape(ctx, s->patch_w, k, s->W, 1, 1) || gpu_reshape(ctx, s->pos, s->W, s->P, 1, 1)) {
        snprintf(err, errlen, "vision tower: patch embedding or positions do not fit: %s",
                 gpu_errmsg());
        gpu_clear_error(ctx);
        goto fail;
    }
    return s;
fail:
    gpu_clear_error(ctx);
    siglip_free(s);
    return NULL;
}

/* Unfolds n images [3][S][S] into patch rows [n][P][3*p*p] in (c, y, x) order. */
static void unfold(const siglip *s, const float *pix, int n, float *out)
{
    int S = s->S, p = s->patch, g = S / p;
    int64_t k = 3 * (int64_t)p * p;
    for (int i = 0; i < n; i++)
        for (int py = 0; py < g; py++)
            for (int px = 0; px < g; px++) {
                float *row = out + ((int64_t)i * s->P + py * g + px) * k;
                for (int c = 0; c < 3; c++)
                    for (int y = 0; y < p; y++)
                        memcpy(row + ((int64_t)c * p + y) * p,
                               pix + (((int64_t)i * 3 + c) * S + py * p + y) * S + px * p,
                               (size_t)p * sizeof *row);
            }
}

/* y = x + b per row: a Linear with bias */
static void linear(gpu_ctx *g, gpu_tensor *y, gpu_tensor *w, gpu_tensor *b, gpu_tensor *x)
{
    gpu_matmul(g, y, w, x);
    gpu_add(g, y, y, b);
}

uint64_t siglip_encode_bytes(const gpu_ctx *ctx, const vision_config *vc, int n,
                             uint64_t *scratch)
{
    siglip d = {0}, *s = &d;
    dims(s, vc);
    int64_t W = s->W, N = (int64_t)s->P * n, k = 3 * (int64_t)s->patch * s->patch;
    /* ln, qkv, q, att, o, mlp (siglip_encode's temporaries), every block's attention */
    *scratch = gpu_temp_bytes(ctx, W * N) * 4 + gpu_temp_bytes(ctx, 3 * W * N) +
               gpu_temp_bytes(ctx, (int64_t)s->F * N) +
               (uint64_t)s->n_blocks * gpu_attention_scratch(ctx, W / s->H, W / s->H, s->H,
                                                             s->H, s->P, n, s->P);
    return gpu_tensor_bytes(GPU_F32, W, N, 1, 1) + gpu_tensor_bytes(GPU_F32, k, N, 1, 1);
}

gpu_tensor *siglip_encode(siglip *s, const float *pixels, int n, char *err, size_t errlen)
{
    gpu_ctx *g = s->ctx;
    int64_t W = s->W, P = s->P, N = P * n, hd = W / s->H, k = 3 * (int64_t)s->patch * s->patch;
    float *rows = malloc((size_t)(N * k) * sizeof *rows);
    gpu_tensor *x = gpu_new(g, GPU_F32, W, P, n, 1, "vision_x");
    gpu_tensor *patches = gpu_new(g, GPU_F32, k, N, 1, 1, "patches");
    if (!rows || !x || !patches) goto fail;
    unfold(s, pixels, n, rows);
    if (gpu_upload(g, patches, rows, GPU_F32)) goto fail;
    free(rows);
    rows = NULL;
    /* x = patch_embed(pixels) + pos, every image the same positions */
    linear(g, x, s->patch_w, s->patch_b, patches);
    gpu_add(g, x, x, s->pos);
    if (s->capture[0]) gpu_copy(g, s->capture[0], x);
    gpu_tensor *xb = gpu_new_temp(g, W, P, n, 1, "ln");
    gpu_tensor *qkv = gpu_new_temp(g, 3 * W, P, n, 1, "qkv");
    gpu_tensor *q = gpu_new_temp(g, hd, s->H, P, n, "q");
    gpu_tensor *att = gpu_new_temp(g, hd, s->H, P, n, "att");
    gpu_tensor *o = gpu_new_temp(g, W, P, n, 1, "o");
    gpu_tensor *h = gpu_new_temp(g, s->F, P, n, 1, "mlp");
    if (!xb || !qkv || !q || !att || !o || !h) goto fail;
    for (int i = 0; i < s->n_blocks; i++) {
        block *B = &s->b[i];
        /* x = x + proj(attention(LN1(x))) */
        gpu_layernorm(g, xb, x, B->ln1_w, B->ln1_b, LN_EPS);
        linear(g, qkv, B->qkv_w, B->qkv_b, xb);
        gpu_tensor *qv = gpu_view(g, qkv, hd, s->H, P, n, hd, 3 * W, 3 * W * P, 0);
        gpu_tensor *kv = gpu_view(g, qkv, hd, s->H, P, n, hd, 3 * W, 3 * W * P, W);
        gpu_tensor *vv = gpu_view(g, qkv, hd, s->H, P, n, hd, 3 * W, 3 * W * P, 2 * W);
        gpu_tensor *att2 = gpu_view(g, att, W, N, 1, 1, W, W * N, W * N, 0);
        if (qv && kv && vv && att2) {
            gpu_copy(g, q, qv);
            gpu_attention(g, att, q, kv, vv, (int)P, 0, NULL, NULL, 1.0f / sqrtf((float)hd),
                          0);
            linear(g, o, B->proj_w, B->proj_b, att2);
            gpu_add(g, x, x, o);
        }
        gpu_free(g, qv), gpu_free(g, kv), gpu_free(g, vv), gpu_free(g, att2);
        /* x = x + fc2(GELU(fc1(LN2(x)))) */
        gpu_layernorm(g, xb, x, B->ln2_w, B->ln2_b, LN_EPS);
        linear(g, h, B->fc1_w, B->fc1_b, xb);
        gpu_unary(g, h, h, GPU_GELU_ERF, 0);
        linear(g, o, B->fc2_w, B->fc2_b, h);
        gpu_add(g, x, x, o);
        if (i < MAX_BLOCKS && s->capture[i + 1]) gpu_copy(g, s->capture[i + 1], x);
    }
    gpu_layernorm(g, x, x, s->norm_w, s->norm_b, LN_EPS);
    if (gpu_sync(g)) goto fail;
    gpu_free(g, patches);
    return x;
fail:
    snprintf(err, errlen, "vision tower: %s", rows ? "out of memory" : gpu_errmsg());
    gpu_clear_error(g);
    free(rows);
    gpu_free(g, x);
    gpu_free(g, patches);
    return NULL;
}

void siglip_capture(siglip *s, int block, gpu_tensor *dst)
{
    if (block >= -1 && block < MAX_BLOCKS) s->capture[block + 1] = dst;
}

int siglip_patches(const siglip *s) { return s->P; }
int siglip_width(const siglip *s) { return s->W; }
