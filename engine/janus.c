/* janus.c: see janus.h. The aligners are mlp_gelu projectors (Linear, then GELU + Linear
 * per further layer: layers.0, layers.2, ...); gen_head is Linear, GELU, Linear. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine/janus.h"
#include "engine/loader.h"

#define MAX_MLP 8

typedef struct {
    int depth;
    gpu_tensor *w[MAX_MLP], *b[MAX_MLP];   /* (out, in), (out) */
} mlp;

struct janus {
    model *m;
    siglip *vision;
    mlp aligner, gen_aligner, gen_head;     /* gen_head: output_mlp_projector, vision_head */
    gpu_tensor *gen_embed;                  /* (codebook, embed_dim) */
    gpu_tensor *features;                   /* the last aligned features */
    gpu_tensor *logits;                     /* gen_head output [codebook, rows] */
    vq_decoder *vq;                         /* image tokens -> pixels */
};

static void mlp_free(gpu_ctx *g, mlp *p)
{
    for (int i = 0; i < p->depth; i++) gpu_free(g, p->w[i]), gpu_free(g, p->b[i]);
    p->depth = 0;
}

void janus_free(janus *j)
{
    if (!j) return;
    gpu_ctx *g = j->m->ctx;
    siglip_free(j->vision);
    vq_decoder_free(j->vq);
    mlp_free(g, &j->aligner), mlp_free(g, &j->gen_aligner), mlp_free(g, &j->gen_head);
    gpu_free(g, j->gen_embed);
    gpu_free(g, j->features);
    gpu_free(g, j->logits);
    free(j);
}

static gpu_tensor *load(janus *j, const char *name, int matrix, int quant, char *err, size_t errlen)
{
    const tf_tensor *t = load_find(j->m->ck, name);
    return load_tensor(j->m->ctx, j->m->ck, name, matrix && t ? load_format(t, quant) : GPU_F32,
                       err, errlen);
}

/* Linear layers named prefix.N.{weight,bias} for the given indices. */
static int load_mlp(janus *j, mlp *p, const char *prefix, const char *const *names, int depth,
                    int quant, char *err, size_t errlen)
{
    char n[256];
    for (int i = 0; i < depth; i++) {
        snprintf(n, sizeof n, "%s.%s.weight", prefix, names[i]);
        if (!(p->w[i] = load(j, n, 1, quant, err, errlen))) return -1;
        p->depth = i + 1;
        snprintf(n, sizeof n, "%s.%s.bias", prefix, names[i]);
        if (!(p->b[i] = load(j, n, 0, quant, err, errlen))) return -1;
    }
    return 0;
}

janus *janus_load(model *m, int quant, char *err, size_t errlen)
{
    if (!m->cfg.is_janus) {
        snprintf(err, errlen, "%s is not a Janus (multi_modality) checkpoint", m->dir);
        return NULL;
    }
    janus *j = calloc(1, sizeof *j);
    if (!j) return snprintf(err, errlen, "out of memory"), NULL;
    j->m = m;
    const model_config *c = &m->cfg;
    static const char *layer_names[] = {"0", "2", "4", "6", "8", "10", "12", "14"};
    static const char *head_names[] = {"output_mlp_projector", "vision_head"};
    if (c->aligner.depth > MAX_MLP || c->gen_aligner.depth > MAX_MLP) {
        snprintf(err, errlen, "aligner depth %d is over %d", c->aligner.depth, MAX_MLP);
        goto fail;
    }
    if (!(j->vision = siglip_load(m->ctx, m->ck, &c->vision, "vision_model.", quant, err, errlen)) ||
        load_mlp(j, &j->aligner, "aligner.layers", layer_names, c->aligner.depth, quant, err, errlen) ||
        load_mlp(j, &j->gen_aligner, "gen_aligner.layers", layer_names, c->gen_aligner.depth, quant,
                 err, errlen) ||
        load_mlp(j, &j->gen_head, "gen_head", head_names, 2, quant, err, errlen) ||
        !(j->gen_embed = load(j, "gen_embed.weight", 1, quant, err, errlen)))
        goto fail;
    /* convolutions keep bf16/f16 weights (q8_0/q4_0 are for matrices) */
    gpu_type conv = quant == GPU_F16 || quant == GPU_BF16 ? (gpu_type)quant : GPU_BF16;
    if (!(j->vq = vq_decoder_load(m->ctx, m->ck, &c->vq, "gen_vision_model.", conv, err, errlen)) ||
        !ckpt_intact(m->ck, err, errlen))
        goto fail;
    return j;
fail:
    gpu_clear_error(m->ctx);
    janus_free(j);
    return NULL;
}

/* y = L_k(... GELU(L_1(GELU(L_0(x))))): x [in, n] -> a new tensor [out, n] (temporaries). */
static gpu_tensor *run_mlp(gpu_ctx *g, const mlp *p, gpu_tensor *x, int64_t n)
{
    gpu_tensor *cur = x;
    for (int i = 0; i < p->depth; i++) {
        if (i) gpu_unary(g, cur, cur, GPU_GELU_ERF, 0);
        gpu_tensor *y = gpu_new_temp(g, p->w[i]->ne[1], n, 1, 1, "mlp");
        if (!y) return NULL;
        gpu_matmul(g, y, p->w[i], cur);
        gpu_add(g, y, y, p->b[i]);
        cur = y;
    }
    return cur;
}

gpu_tensor *janus_embed_prompt(janus *j, const int32_t *ids, int n, int32_t image_id,
                               const float *pixels, int n_images, char *err, size_t errlen)
{
    gpu_ctx *g = j->m->ctx;
    int P = siglip_patches(j->vision), slots = 0;
    for (int i = 0; i < n; i++) slots += ids[i] == image_id;
    if (slots != P * n_images) {
        snprintf(err, errlen, "the prompt has %d image positions for %d image(s) of %d tokens",
                 slots, n_images, P);
        return NULL;
    }
    /* freeing while work is recorded would sync away the temporaries below: do it first */
    gpu_free(g, j->features);
    j->features = NULL;
    gpu_tensor *x = lm_embed_rows(j->m->lm, ids, n, 1, err, errlen);
    if (!x || !n_images) return x;
    gpu_tensor *f = siglip_encode(j->vision, pixels, n_images, err, errlen);
    if (!f) {
        gpu_free(g, x);
        return NULL;
    }
    int64_t D = lm_dim(j->m->lm);
    j->features = gpu_new(g, GPU_F32, D, P, n_images, 1, "image_features");
    gpu_tensor *a = run_mlp(g, &j->aligner, f, (int64_t)P * n_images);
    /* the aligner's rows [D, P * n] as [D, P, n] */
    gpu_tensor *av = a && a->ne[0] == D ? gpu_view(g, a, D, P, n_images, 1, D, D * P,
                                                   D * P * n_images, 0) : NULL;
    int rc = !av || !j->features || gpu_copy(g, j->features, av);
    gpu_free(g, av);
    /* every run of consecutive placeholders takes the next features, in order */
    for (int i = 0, k = 0; i < n && !rc;) {
        if (ids[i] != image_id) {
            i++;
            continue;
        }
        int e = i;
        while (e < n && ids[e] == image_id) e++;
        gpu_tensor *dst = gpu_view(g, x, D, e - i, 1, 1, D, D * n, D * n, (int64_t)i * D);
        gpu_tensor *src = gpu_view(g, j->features, D, e - i, 1, 1, D, D * n, D * n, (int64_t)k * D);
        rc = !dst || !src || gpu_copy(g, dst, src);
        gpu_free(g, dst), gpu_free(g, src);
        k += e - i, i = e;
    }
    if (!rc) rc = gpu_sync(g);
    gpu_free(g, f);
    if (rc) {
        snprintf(err, errlen, "image features: %s", a && a->ne[0] != D ? "aligner width differs "
                                                    "from the language model" : gpu_errmsg());
        gpu_clear_error(g);
        gpu_free(g, x);
        return NULL;
    }
    return x;
}

gpu_tensor *janus_last_features(janus *j) { return j->features; }

int janus_gen_logits(janus *j, gpu_tensor *hidden, int n_rows, float *logits, char *err,
                     size_t errlen)
{
    gpu_ctx *g = j->m->ctx;
    int K = janus_codebook(j);
    if (!j->logits || j->logits->ne[1] != n_rows) {
        gpu_free(g, j->logits);
        j->logits = gpu_new(g, GPU_F32, K, n_rows, 1, 1, "image_logits");
    }
    gpu_tensor *h = gpu_view(g, hidden, hidden->ne[0], n_rows, 1, 1, hidden->ne[0],
                             hidden->ne[0] * n_rows, hidden->ne[0] * n_rows, 0);
    gpu_tensor *y = h && j->logits ? run_mlp(g, &j->gen_head, h, n_rows) : NULL;
    int rc = !y || y->ne[0] != K || gpu_copy(g, j->logits, y) || gpu_read_f32(g, j->logits, logits);
    gpu_free(g, h);
    if (rc) {
        snprintf(err, errlen, "gen_head: %s", gpu_errmsg());
        gpu_clear_error(g);
        return -1;
    }
    return 0;
}

gpu_tensor *janus_gen_embed(janus *j, const int32_t *tokens, int n, char *err, size_t errlen)
{
    gpu_ctx *g = j->m->ctx;
    int64_t D = lm_dim(j->m->lm), E = j->gen_embed->ne[0];
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= janus_codebook(j)) {
            snprintf(err, errlen, "image token %d is outside the codebook", tokens[i]);
            return NULL;
        }
    gpu_tensor *ids = gpu_new(g, GPU_I32, n, 1, 1, 1, "image_tokens");
    gpu_tensor *x = gpu_new(g, GPU_F32, D, 1, n, 1, "image_embeds");
    gpu_tensor *e = NULL, *y = NULL;
    int rc = !ids || !x || gpu_upload(g, ids, tokens, GPU_I32);
    if (!rc) {
        e = gpu_new_temp(g, E, n, 1, 1, "gen_embed");
        rc = !e || gpu_get_rows(g, e, j->gen_embed, ids);
    }
    if (!rc) y = run_mlp(g, &j->gen_aligner, e, n);
    if (!rc) { /* [D, n] as the [D, 1 token, n rows] the language model takes */
        gpu_tensor *yv = y && y->ne[0] == D ? gpu_view(g, y, D, 1, n, 1, D, D, D * n, 0) : NULL;
        rc = !yv || gpu_copy(g, x, yv) || gpu_sync(g);
        gpu_free(g, yv);
    }
    gpu_free(g, ids);
    if (rc) {
        snprintf(err, errlen, "gen_aligner: %s", gpu_errmsg());
        gpu_clear_error(g);
        gpu_free(g, x);
        return NULL;
    }
    return x;
}

model *janus_model(const janus *j) { return j->m; }
int janus_patches(const janus *j) { return siglip_patches(j->vision); }
int janus_image_size(const janus *j) { return j->m->cfg.vision.image_size; }
int janus_image_tokens(const janus *j) { return config_image_tokens(&j->m->cfg); }

int janus_decode_rows(janus *j, const int32_t *codes, int n, int rows, uint8_t *rgb, char *err,
                      size_t errlen)
{
    /* one picture at a time: four 384 px pictures' activations exceed a 128 MiB binding */
    int scale = vq_decoder_scale(j->vq), S = janus_image_size(j), g = S / scale;
    if (rows < 1 || rows > g) return snprintf(err, errlen, "janus: %d code rows of %d", rows, g), -1;
    for (int i = 0; i < n; i++)
        if (vq_decode(j->vq, codes + (int64_t)i * g * g, 1, rows, g, NULL,
                      rgb + (int64_t)i * rows * scale * S * 3, err, errlen))
            return -1;
    return 0;
}

int janus_decode(janus *j, const int32_t *codes, int n, uint8_t *rgb, char *err, size_t errlen)
{
    return janus_decode_rows(j, codes, n, janus_image_size(j) / vq_decoder_scale(j->vq), rgb, err,
                             errlen);
}
int janus_codebook(const janus *j) { return (int)j->gen_embed->ne[1]; }
