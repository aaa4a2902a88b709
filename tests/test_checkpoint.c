/* test_checkpoint.c: safetensors, sharded checkpoints, config.json and the loader, on the
 * golden checkpoints and on files written here: FP8 with block scales, and hostile files
 * that must give a one-line error naming the problem, never a crash. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "engine/checkpoint.h"
#include "engine/config.h"
#include "engine/janus_names.h"
#include "engine/loader.h"
#include "engine/safetensors.h"
#include "harness.h"

static char tmp[256];

/* Writes a safetensors file: header text as given, then `data` bytes. */
static void write_st(const char *name, const char *header, const void *data, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    FILE *f = fopen(path, "wb");
    uint64_t len = strlen(header);
    uint8_t le[8];
    for (int i = 0; i < 8; i++) le[i] = (uint8_t)(len >> (8 * i));
    fwrite(le, 1, 8, f);
    fwrite(header, 1, len, f);
    if (n) fwrite(data, 1, n, f);
    fclose(f);
}

static void write_text(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void expect_st_error(const char *what, const char *header, size_t data_bytes,
                            const char *word)
{
    uint8_t *data = calloc(1, data_bytes + 1);
    write_st("bad.safetensors", header, data, data_bytes);
    free(data);
    char path[512], err[512] = "";
    snprintf(path, sizeof path, "%s/bad.safetensors", tmp);
    safetensors *s = NULL;
    int rc = st_open(path, &s, err, sizeof err);
    th_expect(rc == -1 && s == NULL && strstr(err, word) && strstr(err, "bad.safetensors"),
              "%s: rc %d, error '%s' should name the file and say '%s'", what, rc, err, word);
    st_close(s);
}

static void test_hostile_safetensors(void)
{
    char path[512], err[512];
    safetensors *s;
    snprintf(path, sizeof path, "%s/short.safetensors", tmp);
    FILE *f = fopen(path, "wb");
    fwrite("\x10\x00", 1, 2, f);
    fclose(f);
    th_expect(st_open(path, &s, err, sizeof err) == -1 && strstr(err, "too short"),
              "a 2-byte file: %s", err);
    /* header length past the end */
    uint8_t big[16] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, '{', '}'};
    snprintf(path, sizeof path, "%s/hlen.safetensors", tmp);
    f = fopen(path, "wb");
    fwrite(big, 1, 10, f);
    fclose(f);
    th_expect(st_open(path, &s, err, sizeof err) == -1 && strstr(err, "header length"),
              "a header length past the end: %s", err);
    expect_st_error("bad JSON", "{\"a\": {\"dtype\": ", 0, "JSON");
    expect_st_error("not an object", "[1, 2]", 0, "JSON object");
    expect_st_error("unknown dtype", "{\"w\":{\"dtype\":\"F7\",\"shape\":[2],\"data_offsets\":[0,2]}}",
                    2, "unknown dtype");
    expect_st_error("shape vs bytes", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}",
                    24, "data range holds 20 bytes");
    expect_st_error("past the end", "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}",
                    8, "ends past the data");
    expect_st_error("overlap", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                               "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                    12, "overlap");
    expect_st_error("negative offset", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}",
                    8, "bad data_offsets");
    expect_st_error("huge shape", "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
                                  "\"data_offsets\":[0,16]}}", 16, "too large");
    expect_st_error("missing fields", "{\"w\":{\"dtype\":\"F32\"}}", 0, "lacks");
    expect_st_error("too many dims", "{\"w\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],"
                                     "\"data_offsets\":[0,1]}}", 1, "dimensions");
}

static void test_hostile_index(void)
{
    char err[512];
    checkpoint *c;
    float v[2] = {1, 2};
    write_st("shard1.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
             v, 8);
    write_text("model.safetensors.index.json", "{\"weight_map\": {\"a\": \"../etc/passwd\"}}");
    th_expect(ckpt_open(tmp, &c, err, sizeof err) == -1 && strstr(err, "not a file name"),
              "an index naming a path outside the directory: %s", err);
    write_text("model.safetensors.index.json", "{\"weight_map\": {\"a\": \"missing.safetensors\"}}");
    th_expect(ckpt_open(tmp, &c, err, sizeof err) == -1 && strstr(err, "missing"),
              "an index naming a missing shard: %s", err);
    write_text("model.safetensors.index.json",
               "{\"weight_map\": {\"a\": \"shard1.safetensors\", \"b\": \"shard1.safetensors\"}}");
    th_expect(ckpt_open(tmp, &c, err, sizeof err) == -1 && strstr(err, "'b' is not in shard"),
              "an index naming a tensor its shard lacks: %s", err);
    write_text("model.safetensors.index.json", "{\"metadata\": {}}");
    th_expect(ckpt_open(tmp, &c, err, sizeof err) == -1 && strstr(err, "weight_map"),
              "an index without weight_map: %s", err);
    write_st("shard2.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
             v, 8);
    write_text("model.safetensors.index.json",
               "{\"weight_map\": {\"a\": \"shard1.safetensors\", \"x\": \"shard2.safetensors\"}}");
    th_expect(ckpt_open(tmp, &c, err, sizeof err) == -1 && strstr(err, "appears twice"),
              "the same tensor in two shards: %s", err);
    char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", tmp);
    unlink(path);
    th_expect(ckpt_open("/nonexistent-dir", &c, err, sizeof err) == -1 && strstr(err, "no model.safetensors"),
              "a directory without a checkpoint: %s", err);
}

/* The same weights whole and in two shards: same names, shapes and bytes. */
static void test_sharded_matches(void)
{
    char err[512];
    checkpoint *a, *b;
    int ok = ckpt_open("golden/deepseek/v3-tiny", &a, err, sizeof err) == 0;
    th_expect(ok, "open v3-tiny: %s", err);
    ok = ok && ckpt_open("golden/deepseek/v3-tiny-sharded", &b, err, sizeof err) == 0;
    th_expect(ok, "open v3-tiny-sharded: %s", err);
    if (!ok) return;
    th_expect(ckpt_count(a) == 91 && ckpt_count(b) == 91 && ckpt_shards(b) == 2,
              "91 tensors, 2 shards (%d, %d, %d)", ckpt_count(a), ckpt_count(b), ckpt_shards(b));
    int same = 1;
    for (int i = 0; i < ckpt_count(a); i++) {
        const tf_tensor *x = ckpt_tensor(a, i), *y = ckpt_find(b, x->name);
        same &= y && x->dtype == y->dtype && x->n_dims == y->n_dims && x->nbytes == y->nbytes &&
                memcmp(x->shape, y->shape, sizeof x->shape) == 0 &&
                memcmp(x->data, y->data, x->nbytes) == 0;
    }
    th_expect(same, "every tensor identical in the sharded copy");
    const tf_tensor *e = ckpt_find(a, "model.embed_tokens.weight");
    th_expect(e && e->dtype == TF_BF16 && e->n_dims == 2 && e->shape[0] == 512 && e->shape[1] == 64,
              "embed_tokens is BF16 [512, 64]");
    const tf_tensor *bias = ckpt_find(a, "model.layers.1.mlp.gate.e_score_correction_bias");
    th_expect(bias && bias->dtype == TF_F32 && bias->shape[0] == 8, "the router bias is F32 [8]");
    th_expect(!ckpt_find(a, "model.layers.9.mlp.gate.weight"), "absent names are not found");
    ckpt_close(a);
    ckpt_close(b);
}

static void test_configs(void)
{
    char err[512];
    model_config c;
    th_expect(config_load("golden/deepseek/v3-tiny", &c, err, sizeof err) == 0, "v3 config: %s", err);
    const lm_config *m = &c.lm;
    th_expect(m->arch == LM_DEEPSEEK_V3 && m->q_lora_rank == 32 && m->kv_lora_rank == 32 &&
                  m->n_group == 4 && m->topk_group == 2 && m->scoring == SCORE_SIGMOID &&
                  m->topk_method == TOPK_NOAUX_TC && m->routed_scaling_factor == 2.5f &&
                  m->rope == ROPE_YARN && m->rope_factor == 4 && m->rope_orig_max_pos == 32 &&
                  m->norm_topk_prob && m->n_kv_heads == 4 && m->first_k_dense_replace == 1,
              "v3-tiny config fields");
    th_expect(config_load("golden/deepseek/v2lite-tiny", &c, err, sizeof err) == 0, "v2 config: %s", err);
    th_expect(c.lm.arch == LM_DEEPSEEK_V2 && c.lm.q_lora_rank == 0 && c.lm.scoring == SCORE_SOFTMAX &&
                  fabsf(c.lm.mscale - 0.707f) < 1e-6f,
              "v2-lite: q_lora_rank null means none, softmax routing, mscale 0.707");
    th_expect(config_load("golden/janus/janus_tiny", &c, err, sizeof err) == 0, "janus: %s", err);
    th_expect(c.is_janus && c.lm.arch == LM_LLAMA && c.lm.hidden_size == 64 && c.vq.codebook_size == 64 &&
                  c.vq.embed_dim == 8 && c.vq.ch == 32 && c.vq.n_levels == 5 && c.vq.ch_mult[4] == 2 &&
                  c.gen_head_embed == 96 && c.gen_aligner.input_dim == 8 && c.vision.width == 64,
              "janus-tiny config fields");
    /* Janus-Pro-7B's language_config names only these: LlamaConfig's defaults fill in */
    const char *pro7b = "{\"model_type\": \"multi_modality\", \"language_config\": "
                        "{\"max_position_embeddings\": 16384, \"model_type\": \"llama\", "
                        "\"num_hidden_layers\": 30, \"torch_dtype\": \"bfloat16\", "
                        "\"vocab_size\": 102400}, \"vision_config\": {\"params\": {}}, "
                        "\"aligner_config\": {\"params\": {}}, \"gen_vision_config\": "
                        "{\"params\": {}}, \"gen_aligner_config\": {\"params\": {}}, "
                        "\"gen_head_config\": {\"params\": {}}}";
    th_expect(config_parse(pro7b, strlen(pro7b), "pro7b", &c, err, sizeof err) == 0, "pro-7b: %s", err);
    th_expect(c.lm.hidden_size == 4096 && c.lm.intermediate_size == 11008 && c.lm.n_heads == 32 &&
                  c.lm.n_kv_heads == 32 && c.lm.head_dim == 128 && c.lm.rms_norm_eps == 1e-6f &&
                  c.lm.rope_theta == 10000.0f && c.lm.n_layers == 30 && c.vq.codebook_size == 16384 &&
                  c.vision.layers == 24 && c.aligner.n_embed == 4096,
              "Janus-Pro-7B: LlamaConfig and Janus defaults for absent keys");
    struct { const char *json, *word; } bad[] = {
        {"{\"model_type\": \"gpt2\"}", "model_type 'gpt2' is not supported"},
        {"{\"hidden_size\": 5}", "no 'model_type'"},
        {"{\"model_type\": \"llama\", \"hidden_size\": \"big\"}", "'hidden_size' must be an integer"},
        {"{\"model_type\": \"llama\", \"num_attention_heads\": 6, \"num_key_value_heads\": 4}", "divide"},
        {"{\"model_type\": \"deepseek_v3\", \"n_routed_experts\": 8, \"n_group\": 3}", "MoE routing"},
        {"{\"model_type\": \"llama\", \"rope_scaling\": {\"type\": \"dynamic\"}}", "not supported"},
        {"[}", "not a JSON object"},
        {"{\"model_type\": \"multi_modality\"}", "language_config"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = 0;
        int rc = config_parse(bad[i].json, strlen(bad[i].json), "cfg.json", &c, err, sizeof err);
        th_expect(rc == -1 && strstr(err, bad[i].word) && strstr(err, "cfg.json"),
                  "bad config %zu: '%s' should say '%s'", i, err, bad[i].word);
    }
}

static float e4m3(uint8_t b)
{
    int s = b >> 7, e = (b >> 3) & 15, m = b & 7;
    double v = e ? (1 + m / 8.0) * pow(2, e - 7) : m / 8.0 * pow(2, -6);
    return (float)(s ? -v : v);
}

/* An FP8 weight [200, 300] with [2, 3] block scales loads as the products. */
static void test_fp8_weights(void)
{
    enum { R = 200, C = 300 };
    static uint8_t w[R * C];
    float s[2 * 3];
    for (int i = 0; i < R * C; i++) {
        w[i] = (uint8_t)th_randu(256);
        if ((w[i] & 0x7f) == 0x7f) w[i] = 0x3c; /* not NaN */
    }
    for (int i = 0; i < 6; i++) s[i] = 0.001f * (1 + th_randu(100));
    uint8_t *data = malloc(R * C + sizeof s);
    memcpy(data, w, R * C);
    memcpy(data + R * C, s, sizeof s);
    char hdr[256];
    snprintf(hdr, sizeof hdr,
             "{\"w.weight\":{\"dtype\":\"F8_E4M3\",\"shape\":[%d,%d],\"data_offsets\":[0,%d]},"
             "\"w.weight_scale_inv\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[%d,%d]}}",
             R, C, R * C, R * C, R * C + 24);
    write_st("model.safetensors", hdr, data, R * C + sizeof s);
    free(data);
    char err[512];
    checkpoint *c;
    if (!th_expect(ckpt_open(tmp, &c, err, sizeof err) == 0, "open FP8 checkpoint: %s", err)) return;
    th_expect(load_format(ckpt_find(c, "w.weight"), QUANT_KEEP) == GPU_BF16, "FP8 keeps as bf16");
    gpu_tensor *g = load_tensor(T, c, "w.weight", GPU_F32, err, sizeof err);
    if (th_expect(g != NULL, "load FP8: %s", err)) {
        float *got = th_read(g), *want = malloc(sizeof(float) * R * C);
        for (int r = 0; r < R; r++)
            for (int k = 0; k < C; k++) want[r * C + k] = e4m3(w[r * C + k]) * s[(r / 128) * 3 + k / 128];
        th_check("FP8 weight times its block scale", want, got, R * C, 0);
        free(got), free(want);
        gpu_free(T, g);
    }
    th_expect(load_tensor(T, c, "w.weight_scale", GPU_F32, err, sizeof err) == NULL &&
                  strstr(err, "'w.weight_scale' is missing"), "a missing tensor: %s", err);
    ckpt_close(c);
    /* without its scales an FP8 weight is refused */
    write_st("model.safetensors", "{\"v\":{\"dtype\":\"F8_E4M3\",\"shape\":[2,2],\"data_offsets\":[0,4]}}",
             w, 4);
    if (ckpt_open(tmp, &c, err, sizeof err) == 0) {
        th_expect(load_tensor(T, c, "v", GPU_F32, err, sizeof err) == NULL && strstr(err, "block scales"),
                  "FP8 without scales: %s", err);
        ckpt_close(c);
    }
}

/* The loader's formats, and a whole checkpoint uploaded in them. */
static void test_load_golden(void)
{
    char err[512];
    checkpoint *c;
    if (!th_expect(ckpt_open("golden/deepseek/v3-tiny", &c, err, sizeof err) == 0, "%s", err)) return;
    const tf_tensor *q = ckpt_find(c, "model.embed_tokens.weight");
    const tf_tensor *n = ckpt_find(c, "model.layers.0.input_layernorm.weight");
    const tf_tensor *r = ckpt_find(c, "model.layers.1.mlp.gate.weight");
    th_expect(load_format(q, QUANT_KEEP) == GPU_BF16 && load_format(q, GPU_Q8_0) == GPU_Q8_0 &&
                  load_format(n, GPU_Q4_0) == GPU_F32 && load_format(r, GPU_F16) == GPU_F32,
              "formats: matrices follow --quant, norms and routers stay f32");
    int ok = 1;
    for (int i = 0; i < ckpt_count(c) && ok; i++) {
        const tf_tensor *t = ckpt_tensor(c, i);
        gpu_tensor *g = load_tensor(T, c, t->name, GPU_F32, err, sizeof err);
        ok = g != NULL;
        if (!ok) break;
        float *got = th_read(g);
        for (int64_t k = 0; k < tf_nelem(t) && ok; k++) {
            float want = t->dtype == TF_F32 ? ((const float *)t->data)[k]
                                            : gpu_bf16_to_f32(((const uint16_t *)t->data)[k]);
            ok = got[k] == want;
        }
        free(got);
        gpu_free(T, g);
    }
    th_expect(ok, "every golden tensor uploads exactly as f32 (%s)", ok ? "" : err);
    ckpt_close(c);
}

static void copy_file(const char *from, const char *to_name)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/%s'", from, tmp, to_name);
    if (system(cmd) != 0) th_expect(0, "copy %s", from);
}

/* A checkpoint truncated while it is mapped (another process rewriting it): reading past the
 * new end does not crash (SIGBUS), and the loader refuses the file's tensors with a message
 * naming it, those before the cut too (the file is no longer what was opened). */
static void test_truncated_while_mapped(void)
{
    char err[512], dir[300], path[400];
    snprintf(dir, sizeof dir, "%s/trunc", tmp);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    mkdir(dir, 0755);
    copy_file("golden/deepseek/v3-tiny/model.safetensors", "trunc/model.safetensors");
    checkpoint *c;
    if (!th_expect(ckpt_open(dir, &c, err, sizeof err) == 0, "%s", err)) return;
    /* the tensor that ends last, and one that ends before the cut */
    const tf_tensor *last = ckpt_tensor(c, 0), *first = ckpt_tensor(c, 0);
    for (int i = 0; i < ckpt_count(c); i++) {
        const tf_tensor *t = ckpt_tensor(c, i);
        if (t->data + t->nbytes > last->data + last->nbytes) last = t;
        if (t->data < first->data) first = t;
    }
    struct stat st;
    stat(path, &st);
    /* the data ends with the file: cut it at half, on a page, so that reads of the last
     * tensor fault */
    th_expect(last != first && truncate(path, st.st_size / 2 & ~(off_t)4095) == 0,
              "truncate %s", path);
    for (int k = 0; k < 2; k++) {
        const tf_tensor *t = k ? first : last;
        gpu_tensor *g = load_tensor(T, c, t->name, GPU_F32, err, sizeof err);
        th_expect(!g && strstr(err, "truncated") && strstr(err, "trunc/model.safetensors"),
                  "%s is refused after truncation: %s", t->name, g ? "(loaded)" : err);
        gpu_free(T, g);
    }
    ckpt_close(c);
}

static float torch_value(int64_t i) { return (float)i * 0.25f - 3.0f; } /* gen_torch_bin.py */

/* PyTorch checkpoints, single and sharded: strided views are gathered on upload. */
static void test_torch_checkpoints(void)
{
    char err[512], path[512];
    checkpoint *c;
    snprintf(path, sizeof path, "%s/model.safetensors", tmp); /* safetensors would win */
    unlink(path);
    copy_file("data/torch/views.bin", "pytorch_model.bin");
    if (!th_expect(ckpt_open(tmp, &c, err, sizeof err) == 0, "open pytorch_model.bin: %s", err))
        return;
    /* transposed = b.t() with b [3, 5]: element (i, j) is b's (j, i), storage index j*5+i */
    gpu_tensor *g = load_tensor(T, c, "transposed", GPU_F32, err, sizeof err);
    if (th_expect(g && g->ne[0] == 3 && g->ne[1] == 5, "load a transposed view: %s", err)) {
        float *got = th_read(g), want[15];
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 3; j++) want[i * 3 + j] = torch_value(j * 5 + i);
        th_check("transposed PyTorch view", want, got, 15, 0);
        free(got);
    }
    gpu_free(T, g);
    /* block = c[2:6, 1:3] with c [10, 4]: storage index (2+r)*4 + 1 + k */
    g = load_tensor(T, c, "block", GPU_F32, err, sizeof err);
    if (th_expect(g != NULL, "load a sliced view: %s", err)) {
        float *got = th_read(g), want[8];
        for (int r = 0; r < 4; r++)
            for (int k = 0; k < 2; k++) want[r * 2 + k] = torch_value((2 + r) * 4 + 1 + k);
        th_check("sliced PyTorch view", want, got, 8, 0);
        free(got);
    }
    gpu_free(T, g);
    ckpt_close(c);
    snprintf(path, sizeof path, "%s/pytorch_model.bin", tmp);
    unlink(path);
    copy_file("data/torch/views.bin", "pytorch_model-00001-of-00002.bin");
    copy_file("data/torch/params.bin", "pytorch_model-00002-of-00002.bin");
    write_text("pytorch_model.bin.index.json",
               "{\"weight_map\": {\"base\": \"pytorch_model-00001-of-00002.bin\", "
               "\"tied_a\": \"pytorch_model-00001-of-00002.bin\", "
               "\"weight\": \"pytorch_model-00002-of-00002.bin\"}}");
    if (th_expect(ckpt_open(tmp, &c, err, sizeof err) == 0, "open a sharded .bin: %s", err)) {
        th_expect(ckpt_shards(c) == 2 && ckpt_find(c, "weight") && ckpt_find(c, "tied_b"),
                  "both .bin shards are indexed");
        ckpt_close(c);
    }
    snprintf(path, sizeof path, "%s/pytorch_model.bin.index.json", tmp);
    unlink(path);
    copy_file("data/torch/os_system.bin", "pytorch_model.bin");
    th_expect(ckpt_open(tmp, &c, err, sizeof err) == -1 && strstr(err, "pytorch_model.bin"),
              "a hostile pickle is refused through the checkpoint: %s", err);
    snprintf(path, sizeof path, "%s/pytorch_model.bin", tmp);
    unlink(path);
}

/* janus_tiny rewritten under the deepseek-community names (qkv split in three, pos_embed
 * squeezed, dropped tensors left out): every official tensor loads the same from both. */
static void test_janus_community_naming(void)
{
    char err[512];
    checkpoint *off;
    if (!th_expect(ckpt_open("golden/janus/janus_tiny", &off, err, sizeof err) == 0, "%s", err))
        return;
    size_t cap = 1 << 20, len = 0;
    char *hdr = malloc(cap);
    uint8_t *data = malloc(8u << 20);
    uint64_t pos = 0;
    len += (size_t)snprintf(hdr, cap, "{");
    for (int i = 0; i < ckpt_count(off); i++) {
        const tf_tensor *t = ckpt_tensor(off, i);
        char alt[4][JANUS_NAME_MAX];
        int n = janus_community_names(t->name, alt, 4);
        for (int k = 0; k < n; k++) {
            uint64_t part = t->nbytes / (uint64_t)n;
            memcpy(data + pos, t->data + part * (uint64_t)k, part);
            char shape[64];
            if (janus_community_squeezed(t->name))
                snprintf(shape, sizeof shape, "%lld,%lld", (long long)t->shape[1], (long long)t->shape[2]);
            else if (t->n_dims == 1)
                snprintf(shape, sizeof shape, "%lld", (long long)(t->shape[0] / n));
            else if (t->n_dims == 2)
                snprintf(shape, sizeof shape, "%lld,%lld", (long long)(t->shape[0] / n), (long long)t->shape[1]);
            else
                snprintf(shape, sizeof shape, "%lld,%lld,%lld,%lld", (long long)t->shape[0],
                         (long long)t->shape[1], (long long)t->shape[2], (long long)t->shape[3]);
            len += (size_t)snprintf(hdr + len, cap - len,
                                    "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[%s],\"data_offsets\":[%llu,%llu]}",
                                    len > 1 ? "," : "", alt[k], tf_dtype_name(t->dtype), shape,
                                    (unsigned long long)pos, (unsigned long long)(pos + part));
            pos += part;
        }
    }
    snprintf(hdr + len, cap - len, "}");
    char path[512];
    snprintf(path, sizeof path, "%s/pytorch_model.bin", tmp);
    unlink(path);
    write_st("model.safetensors", hdr, data, pos);
    free(hdr);
    free(data);
    checkpoint *com;
    if (th_expect(ckpt_open(tmp, &com, err, sizeof err) == 0, "community copy: %s", err)) {
        int ok = 1, loaded = 0;
        for (int i = 0; i < ckpt_count(off) && ok; i++) {
            const char *name = ckpt_tensor(off, i)->name;
            if (janus_name_dropped(name)) continue;
            gpu_tensor *a = load_tensor(T, off, name, GPU_F32, err, sizeof err);
            gpu_tensor *b = a ? load_tensor(T, com, name, GPU_F32, err, sizeof err) : NULL;
            ok = a && b && gpu_nelem(a) == gpu_nelem(b) && memcmp(a->ne, b->ne, sizeof a->ne) == 0;
            if (ok) {
                float *x = th_read(a), *y = th_read(b);
                ok = memcmp(x, y, (size_t)gpu_nelem(a) * 4) == 0;
                free(x), free(y);
                loaded++;
            }
            if (!ok) printf("janus tensor '%s' differs: %s\n", name, err);
            gpu_free(T, a), gpu_free(T, b);
        }
        th_expect(ok && loaded > 400, "every official Janus tensor loads the same from the "
                                      "community naming (%d)", loaded);
        ckpt_close(com);
    }
    ckpt_close(off);
}

int main(void)
{
    th_init("test_checkpoint");
    snprintf(tmp, sizeof tmp, "/tmp/vkseek-test-XXXXXX");
    if (!mkdtemp(tmp)) return 1;
    test_hostile_safetensors();
    test_hostile_index();
    test_sharded_matches();
    test_configs();
    test_fp8_weights();
    test_load_golden();
    test_torch_checkpoints();
    test_janus_community_naming();
    test_truncated_while_mapped();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) printf("could not remove %s\n", tmp);
    return th_finish();
}
