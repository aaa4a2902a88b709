/* janus_names.c: see janus_names.h. One rule per family of official names, tried in order (a
 * family's specific rules before its prefix's catch-all); the rules follow the MAPPINGS and
 * split_tensor of transformers' convert_janus_weights_to_hf.py. Must stay a pure name
 * function: shapes and files belong to the loader. */
#include <string.h>
#include "engine/janus_names.h"

#define MAX_CAPS 4
#define MAX_PARTS 3

/* In a pattern, '#' matches a decimal index and a final '*' the non-empty rest of the name
 * (".weight", "bias", ...). A replacement's '#' and '*' take the captures in the order the
 * pattern made them. No real tensor name contains either character. */
typedef struct {
    const char *official;
    const char *community[MAX_PARTS + 1]; /* NULL-terminated; none: dropped by the conversion */
    int squeezed;                         /* community lacks the leading size-1 dimension */
} rule;

#define VT "vision_model.vision_tower."
#define VL "model.vision_model.encoder.layers.#."
#define GV "gen_vision_model."
#define VQ "model.vqmodel."

static const rule rules[] = {
    /* dropped: SigLIP's attention-pooling head (Janus reads the last layer's tokens) and the
     * quantizer's codebook-usage statistic */
    {VT "attn_pool.*", {NULL}, 0},
    {GV "quantize.codebook_used", {NULL}, 0},

    /* SigLIP vision tower */
    {VT "blocks.#.attn.qkv.*",
     {VL "self_attn.q_proj.*", VL "self_attn.k_proj.*", VL "self_attn.v_proj.*", NULL}, 0},
    {VT "blocks.#.attn.proj.*", {VL "self_attn.projection_layer.*", NULL}, 0},
    {VT "blocks.#.norm1.*", {VL "layer_norm1.*", NULL}, 0},
    {VT "blocks.#.norm2.*", {VL "layer_norm2.*", NULL}, 0},
    {VT "blocks.#.mlp.fc1.*", {VL "mlp.fc1.*", NULL}, 0},
    {VT "blocks.#.mlp.fc2.*", {VL "mlp.fc2.*", NULL}, 0},
    {VT "pos_embed", {"model.vision_model.embeddings.position_embedding.weight", NULL}, 1},
    {VT "patch_embed.proj.*", {"model.vision_model.embeddings.patch_embedding.*", NULL}, 0},
    {VT "norm.*", {"model.vision_model.post_layernorm.*", NULL}, 0},

    /* MlpProjector (mlp_gelu, depth 2): layers.1 is the parameterless GELU. The conversion
     * knows only depth 2, as published. */
    {"aligner.layers.0.*", {"model.aligner.fc1.*", NULL}, 0},
    {"aligner.layers.2.*", {"model.aligner.hidden_layers.0.*", NULL}, 0},
    {"gen_aligner.layers.0.*", {"model.generation_aligner.fc1.*", NULL}, 0},
    {"gen_aligner.layers.2.*", {"model.generation_aligner.hidden_layers.0.*", NULL}, 0},

    /* image-token embedding and head of the generation path */
    {"gen_embed.*", {"model.generation_embeddings.*", NULL}, 0},
    {"gen_head.output_mlp_projector.*", {"model.generation_head.proj_out.*", NULL}, 0},
    {"gen_head.vision_head.*", {"model.generation_head.vision_head.*", NULL}, 0},

    /* VQ model: conv_blocks -> up/down with the same level index, res -> block, mid's
     * ModuleList -> named blocks; attn.M, upsample, downsample keep their names */
    {GV "decoder.conv_blocks.#.res.#.*", {VQ "decoder.up.#.block.#.*", NULL}, 0},
    {GV "decoder.conv_blocks.#.*", {VQ "decoder.up.#.*", NULL}, 0},
    {GV "decoder.mid.0.*", {VQ "decoder.mid.block_1.*", NULL}, 0},
    {GV "decoder.mid.1.*", {VQ "decoder.mid.attn_1.*", NULL}, 0},
    {GV "decoder.mid.2.*", {VQ "decoder.mid.block_2.*", NULL}, 0},
    {GV "encoder.conv_blocks.#.res.#.*", {VQ "encoder.down.#.block.#.*", NULL}, 0},
    {GV "encoder.conv_blocks.#.*", {VQ "encoder.down.#.*", NULL}, 0},
    {GV "encoder.mid.0.*", {VQ "encoder.mid.block_1.*", NULL}, 0},
    {GV "encoder.mid.1.*", {VQ "encoder.mid.attn_1.*", NULL}, 0},
    {GV "encoder.mid.2.*", {VQ "encoder.mid.block_2.*", NULL}, 0},
    /* conv_in, conv_out, norm_out, quant_conv, post_quant_conv, quantize.embedding */
    {GV "*", {VQ "*", NULL}, 0},

    /* LLaMA language model */
    {"language_model.lm_head.weight", {"lm_head.weight", NULL}, 0},
    {"language_model.model.*", {"model.language_model.*", NULL}, 0},
};

#define N_RULES ((int)(sizeof rules / sizeof rules[0]))

typedef struct {
    const char *s;
    size_t n;
} span;

/* Whether name matches pat; the captures point into name. */
static int match(const char *pat, const char *name, span *caps, int *ncaps)
{
    *ncaps = 0;
    for (;;) {
        if (*pat == '#') {
            size_t n = strspn(name, "0123456789");
            if (n == 0 || *ncaps == MAX_CAPS) return 0;
            caps[(*ncaps)++] = (span){name, n};
            name += n;
            pat++;
        } else if (*pat == '*') {
            size_t n = strlen(name);
            if (n == 0 || *ncaps == MAX_CAPS) return 0;
            caps[(*ncaps)++] = (span){name, n};
            return 1;
        } else if (*pat == '\0') {
            return *name == '\0';
        } else if (*pat++ != *name++) {
            return 0;
        }
    }
}

/* Writes tmpl with its wildcards replaced by caps into out; -1 if it does not fit. */
static int expand(const char *tmpl, const span *caps, int ncaps, char out[JANUS_NAME_MAX])
{
    size_t len = 0;
    int k = 0;
    for (; *tmpl; tmpl++) {
        const char *s = tmpl;
        size_t n = 1;
        if (*tmpl == '#' || *tmpl == '*') {
            if (k == ncaps) return -1; /* no rule above has more wildcards than its pattern */
            s = caps[k].s;
            n = caps[k++].n;
        }
        if (n >= JANUS_NAME_MAX - len) return -1;
        memcpy(out + len, s, n);
        len += n;
    }
    out[len] = '\0';
    return 0;
}

static const rule *find(const char *official, span *caps, int *ncaps)
{
    for (int i = 0; i < N_RULES; i++)
        if (match(rules[i].official, official, caps, ncaps)) return &rules[i];
    return NULL;
}

int janus_community_names(const char *official, char out[][JANUS_NAME_MAX], int max)
{
    span caps[MAX_CAPS];
    int ncaps;
    const rule *r = find(official, caps, &ncaps);
    if (!r) return 0;
    int n = 0;
    while (n < MAX_PARTS && r->community[n]) n++;
    if (n > max) return -1;
    for (int i = 0; i < n; i++)
        if (expand(r->community[i], caps, ncaps, out[i])) return -1;
    return n;
}

int janus_name_dropped(const char *official)
{
    span caps[MAX_CAPS];
    int ncaps;
    const rule *r = find(official, caps, &ncaps);
    return r && !r->community[0];
}

int janus_community_squeezed(const char *official)
{
    span caps[MAX_CAPS];
    int ncaps;
    const rule *r = find(official, caps, &ncaps);
    return r && r->squeezed;
}
