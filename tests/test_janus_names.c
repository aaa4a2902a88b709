/* test_janus_names.c: the official Janus tensor names of golden/janus/janus_tiny map to the
 * names transformers' convert_janus_weights_to_hf.py gives them in the deepseek-community
 * checkpoints. A table holds one representative of every tensor class, written out from the
 * script's MAPPINGS and split_tensor; then every tensor of the checkpoint must map or be one
 * of the documented dropped ones, and no two may land on the same community name. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine/janus_names.h"
#include "engine/safetensors.h"
#include "check.h"

#define CKPT "golden/janus/janus_tiny/model.safetensors"
#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const tf_tensor *find(const safetensors *s, const char *name)
{
    for (int i = 0; i < st_count(s); i++)
        if (strcmp(st_tensor(s, i)->name, name) == 0) return st_tensor(s, i);
    return NULL;
}

#define LM "model.language_model."
#define VL0 "model.vision_model.encoder.layers.0."
#define VL1 "model.vision_model.encoder.layers.1."
#define VT "vision_model.vision_tower."
#define GV "gen_vision_model."
#define VQ "model.vqmodel."

/* official name -> community names (none: dropped) */
static const struct {
    const char *official;
    const char *community[3];
} cases[] = {
    /* language model */
    {"language_model.model.embed_tokens.weight", {LM "embed_tokens.weight"}},
    {"language_model.model.layers.1.self_attn.q_proj.weight", {LM "layers.1.self_attn.q_proj.weight"}},
    {"language_model.model.layers.0.self_attn.o_proj.weight", {LM "layers.0.self_attn.o_proj.weight"}},
    {"language_model.model.layers.0.mlp.down_proj.weight", {LM "layers.0.mlp.down_proj.weight"}},
    {"language_model.model.layers.1.input_layernorm.weight", {LM "layers.1.input_layernorm.weight"}},
    {"language_model.model.layers.0.post_attention_layernorm.weight",
     {LM "layers.0.post_attention_layernorm.weight"}},
    {"language_model.model.norm.weight", {LM "norm.weight"}},
    {"language_model.lm_head.weight", {"lm_head.weight"}},
    /* SigLIP tower: qkv cut into q, k, v rows */
    {VT "blocks.1.attn.qkv.weight",
     {VL1 "self_attn.q_proj.weight", VL1 "self_attn.k_proj.weight", VL1 "self_attn.v_proj.weight"}},
    {VT "blocks.0.attn.qkv.bias",
     {VL0 "self_attn.q_proj.bias", VL0 "self_attn.k_proj.bias", VL0 "self_attn.v_proj.bias"}},
    {VT "blocks.1.attn.proj.bias", {VL1 "self_attn.projection_layer.bias"}},
    {VT "blocks.0.norm1.weight", {VL0 "layer_norm1.weight"}},
    {VT "blocks.1.norm2.bias", {VL1 "layer_norm2.bias"}},
    {VT "blocks.0.mlp.fc1.weight", {VL0 "mlp.fc1.weight"}},
    {VT "blocks.1.mlp.fc2.bias", {VL1 "mlp.fc2.bias"}},
    {VT "pos_embed", {"model.vision_model.embeddings.position_embedding.weight"}},
    {VT "patch_embed.proj.weight", {"model.vision_model.embeddings.patch_embedding.weight"}},
    {VT "patch_embed.proj.bias", {"model.vision_model.embeddings.patch_embedding.bias"}},
    {VT "norm.weight", {"model.vision_model.post_layernorm.weight"}},
    {VT "norm.bias", {"model.vision_model.post_layernorm.bias"}},
    /* aligners, generation embedding and head */
    {"aligner.layers.0.weight", {"model.aligner.fc1.weight"}},
    {"aligner.layers.2.bias", {"model.aligner.hidden_layers.0.bias"}},
    {"gen_aligner.layers.0.weight", {"model.generation_aligner.fc1.weight"}},
    {"gen_aligner.layers.2.weight", {"model.generation_aligner.hidden_layers.0.weight"}},
    {"gen_embed.weight", {"model.generation_embeddings.weight"}},
    {"gen_head.output_mlp_projector.weight", {"model.generation_head.proj_out.weight"}},
    {"gen_head.vision_head.bias", {"model.generation_head.vision_head.bias"}},
    /* VQ decoder, every level in official order (0 = lowest resolution, with attn) */
    {GV "post_quant_conv.weight", {VQ "post_quant_conv.weight"}},
    {GV "quantize.embedding.weight", {VQ "quantize.embedding.weight"}},
    {GV "decoder.conv_in.weight", {VQ "decoder.conv_in.weight"}},
    {GV "decoder.mid.0.conv1.weight", {VQ "decoder.mid.block_1.conv1.weight"}},
    {GV "decoder.mid.1.q.weight", {VQ "decoder.mid.attn_1.q.weight"}},
    {GV "decoder.mid.1.norm.bias", {VQ "decoder.mid.attn_1.norm.bias"}},
    {GV "decoder.mid.1.proj_out.weight", {VQ "decoder.mid.attn_1.proj_out.weight"}},
    {GV "decoder.mid.2.norm2.weight", {VQ "decoder.mid.block_2.norm2.weight"}},
    {GV "decoder.conv_blocks.0.res.0.conv1.weight", {VQ "decoder.up.0.block.0.conv1.weight"}},
    {GV "decoder.conv_blocks.0.attn.2.proj_out.bias", {VQ "decoder.up.0.attn.2.proj_out.bias"}},
    {GV "decoder.conv_blocks.0.attn.1.k.weight", {VQ "decoder.up.0.attn.1.k.weight"}},
    {GV "decoder.conv_blocks.0.upsample.conv.weight", {VQ "decoder.up.0.upsample.conv.weight"}},
    {GV "decoder.conv_blocks.1.res.2.norm1.weight", {VQ "decoder.up.1.block.2.norm1.weight"}},
    {GV "decoder.conv_blocks.1.upsample.conv.bias", {VQ "decoder.up.1.upsample.conv.bias"}},
    {GV "decoder.conv_blocks.2.res.1.conv2.bias", {VQ "decoder.up.2.block.1.conv2.bias"}},
    {GV "decoder.conv_blocks.3.res.0.nin_shortcut.weight",
     {VQ "decoder.up.3.block.0.nin_shortcut.weight"}},
    {GV "decoder.conv_blocks.3.upsample.conv.weight", {VQ "decoder.up.3.upsample.conv.weight"}},
    {GV "decoder.conv_blocks.4.res.2.norm2.weight", {VQ "decoder.up.4.block.2.norm2.weight"}},
    {GV "decoder.norm_out.weight", {VQ "decoder.norm_out.weight"}},
    {GV "decoder.conv_out.bias", {VQ "decoder.conv_out.bias"}},
    /* VQ encoder and quant_conv: unused by generation, kept by the conversion */
    {GV "quant_conv.weight", {VQ "quant_conv.weight"}},
    {GV "encoder.conv_in.weight", {VQ "encoder.conv_in.weight"}},
    {GV "encoder.conv_blocks.0.downsample.conv.weight",
     {VQ "encoder.down.0.downsample.conv.weight"}},
    {GV "encoder.conv_blocks.2.res.0.nin_shortcut.weight",
     {VQ "encoder.down.2.block.0.nin_shortcut.weight"}},
    {GV "encoder.conv_blocks.4.attn.1.q.weight", {VQ "encoder.down.4.attn.1.q.weight"}},
    {GV "encoder.mid.1.k.bias", {VQ "encoder.mid.attn_1.k.bias"}},
    {GV "encoder.mid.2.conv1.weight", {VQ "encoder.mid.block_2.conv1.weight"}},
    {GV "encoder.conv_out.weight", {VQ "encoder.conv_out.weight"}},
    /* dropped */
    {VT "attn_pool.latent", {NULL}},
    {VT "attn_pool.kv.weight", {NULL}},
    {VT "attn_pool.q.bias", {NULL}},
    {VT "attn_pool.proj.weight", {NULL}},
    {VT "attn_pool.norm.weight", {NULL}},
    {VT "attn_pool.mlp.fc1.weight", {NULL}},
    {GV "quantize.codebook_used", {NULL}},
};

static void check_case(const safetensors *s, int i)
{
    const char *off = cases[i].official;
    char out[4][JANUS_NAME_MAX];
    int want = 0;
    while (want < 3 && cases[i].community[want]) want++;
    check(find(s, off) != NULL, "%s: not in %s (the table must follow the golden)", off, CKPT);
    int got = janus_community_names(off, out, 4);
    if (!check(got == want, "%s: %d community names, want %d", off, got, want)) return;
    for (int k = 0; k < want; k++)
        check(strcmp(out[k], cases[i].community[k]) == 0, "%s: name %d is '%s', want '%s'", off, k,
               out[k], cases[i].community[k]);
    check(janus_name_dropped(off) == (want == 0), "%s: dropped %d, want %d", off,
           janus_name_dropped(off), want == 0);
}

static int by_name(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* Every tensor of the checkpoint maps or is dropped; what the loader relies on holds (qkv
 * rows divide by three, only pos_embed is squeezed and its leading dimension is 1); the
 * community names are distinct and as many as the conversion writes. */
static void check_checkpoint(const safetensors *s)
{
    int n = st_count(s), total = 0, dropped = 0, unmapped = 0;
    char (*all)[JANUS_NAME_MAX] = calloc((size_t)n * 3, JANUS_NAME_MAX);
    if (!check(all != NULL, "out of memory")) return;
    for (int i = 0; i < n; i++) {
        const tf_tensor *t = st_tensor(s, i);
        int k = janus_community_names(t->name, all + total, 3);
        if (k < 0) {
            check(0, "%s: out too small for its community names", t->name);
        } else if (k == 0 && janus_name_dropped(t->name)) {
            dropped++;
        } else if (k == 0) {
            unmapped++;
            printf("FAIL: %s: neither maps nor is dropped\n", t->name);
        } else {
            total += k;
        }
        if (k == 3)
            check(t->shape[0] % 3 == 0, "%s: %lld rows do not split into q, k, v", t->name,
                   (long long)t->shape[0]);
        int sq = janus_community_squeezed(t->name);
        if (sq || strstr(t->name, "pos_embed"))
            check(sq && k == 1 && t->n_dims == 3 && t->shape[0] == 1,
                   "%s: squeezed %d with %d dims, leading %lld", t->name, sq, t->n_dims,
                   (long long)t->shape[0]);
    }
    check(unmapped == 0, "%d official names neither map nor are dropped", unmapped);
    /* attn_pool: kv, latent, q, proj, norm, mlp.fc1, mlp.fc2 (12 tensors with biases, 13
     * with latent); plus quantize.codebook_used */
    check(dropped == 14, "%d dropped tensors, want 14", dropped);
    /* 416 official - 14 dropped + 2 per qkv weight and bias in 2 layers */
    check(total == 410, "%d community tensors, want 410", total);
    qsort(all, (size_t)total, JANUS_NAME_MAX, by_name);
    int dups = 0;
    for (int i = 1; i < total; i++)
        if (strcmp(all[i - 1], all[i]) == 0 && dups++ < 5)
            printf("FAIL: community name '%s' holds two official tensors\n", all[i]);
    check(dups == 0, "%d duplicate community names", dups);
    for (int i = 0; i < total; i++)
        if (strncmp(all[i], "model.", 6) != 0 && strcmp(all[i], "lm_head.weight") != 0)
            check(0, "community name '%s' outside model.* and lm_head", all[i]);
    free(all);
}

/* Names that are not Janus tensors, wildcards that must not stretch, and too small an out. */
static void check_edges(void)
{
    static const char *unknown[] = {
        "", "foo", "weight", "model.language_model.norm.weight", "lm_head.weight",
        "language_model.model.", "language_model.lm_head.bias", "gen_vision_model",
        VT "blocks.x.attn.qkv.weight", VT "blocks..attn.qkv.weight", VT "blocks.0.attn.qkv",
        VT "blocks.0.ls1.gamma", VT "pos_embed.weight", "aligner.layers.1.weight",
        "aligner.layers.4.weight", "gen_head.other.weight", "vision_model.vision_tower",
    };
    char out[3][JANUS_NAME_MAX];
    for (int i = 0; i < N(unknown); i++) {
        int k = janus_community_names(unknown[i], out, 3);
        check(k == 0 && !janus_name_dropped(unknown[i]) && !janus_community_squeezed(unknown[i]),
               "'%s': %d names, dropped %d (want an unknown name)", unknown[i], k,
               janus_name_dropped(unknown[i]));
    }
    /* a multi-digit index is captured whole */
    int k = janus_community_names(GV "decoder.conv_blocks.12.res.10.conv1.weight", out, 1);
    check(k == 1 && strcmp(out[0], VQ "decoder.up.12.block.10.conv1.weight") == 0,
           "multi-digit indices: %d, '%s'", k, k == 1 ? out[0] : "");
    check(janus_community_names(VT "blocks.0.attn.qkv.weight", out, 2) == -1,
           "qkv into 2 slots must give -1");
    check(janus_community_names("gen_embed.weight", out, 0) == -1,
           "rename into 0 slots must give -1");
    check(janus_community_names(VT "attn_pool.latent", out, 0) == 0,
           "dropped into 0 slots gives 0");
    /* a name that grows past JANUS_NAME_MAX */
    char name[JANUS_NAME_MAX];
    memset(name, 'w', sizeof name);
    memcpy(name, "gen_embed.", 10);
    name[JANUS_NAME_MAX - 12] = '\0'; /* fits as official, not with the longer prefix */
    check(janus_community_names(name, out, 3) == -1, "overlong community name must give -1");
}

int main(void)
{
    safetensors *s;
    char err[512];
    if (st_open(CKPT, &s, err, sizeof err)) {
        printf("FAIL: %s\ntest_janus_names: 0 passed, 1 failed\n", err);
        return 1;
    }
    for (int i = 0; i < N(cases); i++) check_case(s, i);
    check_checkpoint(s);
    check_edges();
    st_close(s);
    return check_finish("test_janus_names");
}
