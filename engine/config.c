/* config.c: see config.h. Keys follow the Hugging Face configs; janus' multi_modality
 * nests language_config and {vision, aligner, gen_vision, gen_aligner, gen_head}_config
 * whose hyper-parameters sit under "params". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cJSON.h>
#include "engine/config.h"
#include "engine/tensor_file.h"

#define CONFIG_MAX_BYTES (16u << 20)

const char *lm_arch_name(lm_arch a)
{
    static const char *n[] = {"llama", "qwen2", "deepseek_v2", "deepseek_v3"};
    return n[a];
}

typedef struct {
    const char *path;
    char *err;
    size_t errlen;
    int failed;
} ctx_t;

/* An integer key in [lo, hi], or def when absent or null. A wrong type is an error. */
static int get_int(ctx_t *c, const cJSON *o, const char *key, int def, int lo, int hi)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!j || cJSON_IsNull(j)) return def;
    if (!cJSON_IsNumber(j) || j->valuedouble != floor(j->valuedouble) || j->valuedouble < lo ||
        j->valuedouble > hi) {
        if (!c->failed) snprintf(c->err, c->errlen, "%s: '%s' must be an integer in [%d, %d]",
                                 c->path, key, lo, hi);
        c->failed = 1;
        return def;
    }
    return (int)j->valuedouble;
}

static float get_float(ctx_t *c, const cJSON *o, const char *key, float def)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!j || cJSON_IsNull(j)) return def;
    if (!cJSON_IsNumber(j) || !isfinite(j->valuedouble)) {
        if (!c->failed) snprintf(c->err, c->errlen, "%s: '%s' must be a number", c->path, key);
        c->failed = 1;
        return def;
    }
    return (float)j->valuedouble;
}

static int get_bool(ctx_t *c, const cJSON *o, const char *key, int def)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!j || cJSON_IsNull(j)) return def;
    if (!cJSON_IsBool(j)) {
        if (!c->failed) snprintf(c->err, c->errlen, "%s: '%s' must be true or false", c->path, key);
        c->failed = 1;
        return def;
    }
    return cJSON_IsTrue(j);
}

static const char *get_str(ctx_t *c, const cJSON *o, const char *key, const char *def)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!j || cJSON_IsNull(j)) return def;
    if (!cJSON_IsString(j)) {
        if (!c->failed) snprintf(c->err, c->errlen, "%s: '%s' must be a string", c->path, key);
        c->failed = 1;
        return def;
    }
    return j->valuestring;
}

#define BIG 1 << 30

/* eos_token_id may be a list (Llama-3): the first one. */
static int get_token_id(ctx_t *c, const cJSON *o, const char *key)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsArray(j)) j = j->child;
    if (!j || cJSON_IsNull(j)) return -1;
    if (!cJSON_IsNumber(j) || j->valuedouble < 0 || j->valuedouble > BIG) {
        if (!c->failed) snprintf(c->err, c->errlen, "%s: '%s' must be a token id", c->path, key);
        c->failed = 1;
        return -1;
    }
    return (int)j->valuedouble;
}

static void parse_rope_scaling(ctx_t *c, const cJSON *o, lm_config *m)
{
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(o, "rope_scaling");
    m->rope = ROPE_NONE;
    m->rope_factor = 1;
    m->beta_fast = 32, m->beta_slow = 1, m->mscale = 1, m->mscale_all_dim = 0;
    m->low_freq_factor = 1, m->high_freq_factor = 4;
    m->rope_orig_max_pos = m->max_position_embeddings;
    if (!rs || cJSON_IsNull(rs)) return;
    if (!cJSON_IsObject(rs)) {
        snprintf(c->err, c->errlen, "%s: 'rope_scaling' must be an object", c->path);
        c->failed = 1;
        return;
    }
    const char *type = get_str(c, rs, "rope_type", NULL);
    if (!type) type = get_str(c, rs, "type", "default");
    if (strcmp(type, "yarn") == 0) m->rope = ROPE_YARN;
    else if (strcmp(type, "llama3") == 0) m->rope = ROPE_LLAMA3;
    else if (strcmp(type, "linear") == 0) m->rope = ROPE_LINEAR;
    else if (strcmp(type, "default") != 0) {
        snprintf(c->err, c->errlen, "%s: rope_scaling type '%s' is not supported", c->path, type);
        c->failed = 1;
        return;
    }
    m->rope_factor = get_float(c, rs, "factor", 1);
    m->rope_orig_max_pos = get_int(c, rs, "original_max_position_embeddings",
                                   m->max_position_embeddings, 1, BIG);
    m->beta_fast = get_float(c, rs, "beta_fast", 32);
    m->beta_slow = get_float(c, rs, "beta_slow", 1);
    m->mscale = get_float(c, rs, "mscale", 1);
    m->mscale_all_dim = get_float(c, rs, "mscale_all_dim", 0);
    m->low_freq_factor = get_float(c, rs, "low_freq_factor", 1);
    m->high_freq_factor = get_float(c, rs, "high_freq_factor", 4);
}

/* The language model, with its class's defaults for absent keys. */
static void parse_lm(ctx_t *c, const cJSON *o, lm_config *m)
{
    const char *type = get_str(c, o, "model_type", NULL);
    if (!type) {
        if (!c->failed) snprintf(c->err, c->errlen, "%s: no 'model_type'", c->path);
        c->failed = 1;
        return;
    }
    memset(m, 0, sizeof *m);
    /* class defaults: vocab, hidden, ffn, layers, heads, max_pos, theta */
    int dv, dh, df, dl, dn, dp;
    if (strcmp(type, "llama") == 0) {
        m->arch = LM_LLAMA;
        dv = 32000, dh = 4096, df = 11008, dl = 32, dn = 32, dp = 2048;
    } else if (strcmp(type, "qwen2") == 0) {
        m->arch = LM_QWEN2;
        dv = 151936, dh = 4096, df = 22016, dl = 32, dn = 32, dp = 32768;
        m->qkv_bias = 1;
    } else if (strcmp(type, "deepseek_v2") == 0) {
        m->arch = LM_DEEPSEEK_V2;
        dv = 102400, dh = 4096, df = 11008, dl = 30, dn = 32, dp = 2048;
    } else if (strcmp(type, "deepseek_v3") == 0) {
        m->arch = LM_DEEPSEEK_V3;
        dv = 129280, dh = 7168, df = 18432, dl = 61, dn = 128, dp = 4096;
    } else {
        snprintf(c->err, c->errlen, "%s: model_type '%s' is not supported (llama, qwen2, "
                                    "deepseek_v2, deepseek_v3, multi_modality)", c->path, type);
        c->failed = 1;
        return;
    }
    m->vocab_size = get_int(c, o, "vocab_size", dv, 1, BIG);
    m->hidden_size = get_int(c, o, "hidden_size", dh, 1, 1 << 20);
    m->intermediate_size = get_int(c, o, "intermediate_size", df, 1, 1 << 22);
    m->n_layers = get_int(c, o, "num_hidden_layers", dl, 1, 4096);
    m->n_heads = get_int(c, o, "num_attention_heads", dn, 1, 4096);
    m->n_kv_heads = get_int(c, o, "num_key_value_heads", m->n_heads, 1, 4096);
    m->head_dim = get_int(c, o, "head_dim", m->n_heads ? m->hidden_size / m->n_heads : 0, 1, 4096);
    m->max_position_embeddings = get_int(c, o, "max_position_embeddings", dp, 1, BIG);
    m->rms_norm_eps = get_float(c, o, "rms_norm_eps", 1e-6f);
    m->rope_theta = get_float(c, o, "rope_theta", 10000.0f);
    m->tie_word_embeddings = get_bool(c, o, "tie_word_embeddings", 0);
    if (m->arch == LM_LLAMA) m->qkv_bias = get_bool(c, o, "attention_bias", 0);
    m->bos_token_id = get_token_id(c, o, "bos_token_id");
    m->eos_token_id = get_token_id(c, o, "eos_token_id");
    parse_rope_scaling(c, o, m);
    if (m->arch == LM_DEEPSEEK_V2 || m->arch == LM_DEEPSEEK_V3) {
        int v3 = m->arch == LM_DEEPSEEK_V3;
        /* an explicit null means no q compression (V2-Lite), absence the class default */
        const cJSON *ql = cJSON_GetObjectItemCaseSensitive(o, "q_lora_rank");
        m->q_lora_rank = cJSON_IsNull(ql) ? 0 : get_int(c, o, "q_lora_rank", 1536, 0, 1 << 20);
        m->kv_lora_rank = get_int(c, o, "kv_lora_rank", 512, 1, 1 << 20);
        m->qk_nope_head_dim = get_int(c, o, "qk_nope_head_dim", 128, 0, 4096);
        m->qk_rope_head_dim = get_int(c, o, "qk_rope_head_dim", 64, 2, 4096);
        m->v_head_dim = get_int(c, o, "v_head_dim", 128, 1, 4096);
        m->n_routed_experts = get_int(c, o, "n_routed_experts", v3 ? 256 : 0, 0, 1 << 16);
        m->n_shared_experts = get_int(c, o, "n_shared_experts", v3 ? 1 : 0, 0, 1 << 10);
        m->n_experts_per_tok = get_int(c, o, "num_experts_per_tok", v3 ? 8 : 0, 0, 1 << 10);
        m->moe_intermediate_size = get_int(c, o, "moe_intermediate_size", v3 ? 2048 : 1407, 1, 1 << 20);
        m->first_k_dense_replace = get_int(c, o, "first_k_dense_replace", v3 ? 3 : 0, 0, 4096);
        m->moe_layer_freq = get_int(c, o, "moe_layer_freq", 1, 1, 4096);
        m->n_group = get_int(c, o, "n_group", v3 ? 8 : 1, 0, 1 << 10);
        m->topk_group = get_int(c, o, "topk_group", v3 ? 4 : 1, 0, 1 << 10);
        m->routed_scaling_factor = get_float(c, o, "routed_scaling_factor", v3 ? 2.5f : 1.0f);
        m->norm_topk_prob = get_bool(c, o, "norm_topk_prob", v3);
        m->n_mtp_layers = get_int(c, o, "num_nextn_predict_layers", 0, 0, 64);
        const char *sf = get_str(c, o, "scoring_func", v3 ? "sigmoid" : "softmax");
        const char *tm = get_str(c, o, "topk_method", v3 ? "noaux_tc" : "greedy");
        if (strcmp(sf, "softmax") == 0) m->scoring = SCORE_SOFTMAX;
        else if (strcmp(sf, "sigmoid") == 0) m->scoring = SCORE_SIGMOID;
        else if (!c->failed) {
            snprintf(c->err, c->errlen, "%s: scoring_func '%s' is not supported", c->path, sf);
            c->failed = 1;
        }
        /* "gready" is how DeepseekV2Config spells its default */
        if (strcmp(tm, "greedy") == 0 || strcmp(tm, "gready") == 0) m->topk_method = TOPK_GREEDY;
        else if (strcmp(tm, "group_limited_greedy") == 0) m->topk_method = TOPK_GROUP_LIMITED_GREEDY;
        else if (strcmp(tm, "noaux_tc") == 0) m->topk_method = TOPK_NOAUX_TC;
        else if (!c->failed) {
            snprintf(c->err, c->errlen, "%s: topk_method '%s' is not supported", c->path, tm);
            c->failed = 1;
        }
        if (m->n_routed_experts && (m->n_experts_per_tok < 1 ||
                                    m->n_experts_per_tok > m->n_routed_experts ||
                                    m->n_group < 1 || m->n_routed_experts % m->n_group ||
                                    m->topk_group < 1 || m->topk_group > m->n_group) &&
            !c->failed) {
            snprintf(c->err, c->errlen, "%s: MoE routing does not fit: %d experts, %d per "
                                        "token, %d groups, %d used", c->path,
                     m->n_routed_experts, m->n_experts_per_tok, m->n_group, m->topk_group);
            c->failed = 1;
        }
        m->n_kv_heads = m->n_heads;
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(o, "quantization_config");
        if (cJSON_IsObject(q)) {
            const cJSON *bs = cJSON_GetObjectItemCaseSensitive(q, "weight_block_size");
            m->fp8_block = cJSON_IsArray(bs) && cJSON_IsNumber(bs->child) ? bs->child->valueint : 128;
            if (m->fp8_block != 128 && !c->failed) {
                snprintf(c->err, c->errlen, "%s: FP8 block size %d is not supported (128)",
                         c->path, m->fp8_block);
                c->failed = 1;
            }
        }
    }
    if (!c->failed && (m->n_heads % m->n_kv_heads || (m->rope == ROPE_YARN && m->rope_factor <= 0)))
        snprintf(c->err, c->errlen, "%s: %d heads do not divide into %d key/value heads", c->path,
                 m->n_heads, m->n_kv_heads), c->failed = 1;
}

static const cJSON *params(ctx_t *c, const cJSON *root, const char *key)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!cJSON_IsObject(o)) {
        if (!c->failed) snprintf(c->err, c->errlen, "%s: '%s' is missing", c->path, key);
        c->failed = 1;
        return NULL;
    }
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "params");
    return cJSON_IsObject(p) ? p : o;
}

/* Janus: the towers around the language model. Defaults are Janus-Pro's. */
static void parse_janus(ctx_t *c, const cJSON *root, model_config *cfg)
{
    const cJSON *v = params(c, root, "vision_config");
    const cJSON *a = params(c, root, "aligner_config");
    const cJSON *gv = params(c, root, "gen_vision_config");
    const cJSON *ga = params(c, root, "gen_aligner_config");
    const cJSON *gh = params(c, root, "gen_head_config");
    if (c->failed) return;
    vision_config *vc = &cfg->vision;
    vc->image_size = get_int(c, v, "image_size", 384, 16, 8192);
    vc->patch_size = get_int(c, v, "patch_size", 16, 1, 1024);
    vc->width = get_int(c, v, "width", 1024, 1, 1 << 16);
    vc->layers = get_int(c, v, "layers", 24, 1, 1024);
    vc->heads = get_int(c, v, "heads", 16, 1, 1024);
    vc->mlp_ratio = get_float(c, v, "mlp_ratio", 4.0f);
    vc->select_layer = get_int(c, v, "select_layer", -1, -1024, 1024);
    int D = cfg->lm.hidden_size;
    cfg->aligner = (mlp_config){get_int(c, a, "depth", 2, 1, 16), get_int(c, a, "input_dim", vc->width, 1, 1 << 20),
                                get_int(c, a, "n_embed", D, 1, 1 << 20)};
    vq_config *q = &cfg->vq;
    q->codebook_size = get_int(c, gv, "codebook_size", get_int(c, gv, "image_token_size", 16384, 1, BIG), 1, BIG);
    q->image_token_size = get_int(c, gv, "image_token_size", q->codebook_size, 1, BIG);
    q->embed_dim = get_int(c, gv, "codebook_embed_dim", get_int(c, gv, "n_embed", 8, 1, 4096), 1, 4096);
    q->z_channels = get_int(c, gv, "z_channels", 256, 1, 1 << 16);
    q->ch = get_int(c, gv, "ch", 128, 1, 1 << 16);
    q->num_res_blocks = get_int(c, gv, "num_res_blocks", 2, 0, 64);
    const cJSON *cm = cJSON_GetObjectItemCaseSensitive(gv, "decoder_ch_mult");
    if (!cm) cm = cJSON_GetObjectItemCaseSensitive(gv, "ch_mult");
    static const int def_mult[] = {1, 1, 2, 2, 4};
    q->n_levels = 5;
    memcpy(q->ch_mult, def_mult, sizeof def_mult);
    if (cm) {
        int n = cJSON_GetArraySize(cm);
        if (!cJSON_IsArray(cm) || n < 1 || n > VQ_MAX_LEVELS) {
            if (!c->failed) snprintf(c->err, c->errlen, "%s: 'decoder_ch_mult' must list 1 to %d "
                                                        "multipliers", c->path, VQ_MAX_LEVELS);
            c->failed = 1;
            return;
        }
        q->n_levels = n;
        int i = 0;
        for (const cJSON *x = cm->child; x; x = x->next, i++) {
            if (!cJSON_IsNumber(x) || x->valuedouble < 1 || x->valuedouble > 64) {
                if (!c->failed) snprintf(c->err, c->errlen, "%s: bad decoder_ch_mult entry", c->path);
                c->failed = 1;
                return;
            }
            q->ch_mult[i] = x->valueint;
        }
    }
    cfg->gen_aligner = (mlp_config){get_int(c, ga, "depth", 2, 1, 16),
                                    get_int(c, ga, "input_dim", q->embed_dim, 1, 1 << 20),
                                    get_int(c, ga, "n_embed", D, 1, 1 << 20)};
    cfg->gen_head_embed = get_int(c, gh, "image_token_embed", D, 1, 1 << 20);
    cfg->gen_head_vocab = get_int(c, gh, "image_token_size", q->codebook_size, 1, BIG);
}

int config_parse(const char *json, size_t len, const char *path, model_config *cfg, char *err,
                 size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    ctx_t c = {path, err, errlen, 0};
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "%s: not a JSON object", path);
        cJSON_Delete(root);
        return -1;
    }
    const char *type = get_str(&c, root, "model_type", NULL);
    if (type && strcmp(type, "multi_modality") == 0) {
        cfg->is_janus = 1;
        const cJSON *lc = cJSON_GetObjectItemCaseSensitive(root, "language_config");
        if (!cJSON_IsObject(lc)) {
            snprintf(err, errlen, "%s: multi_modality without 'language_config'", path);
            c.failed = 1;
        } else {
            /* Janus' language_config may omit model_type: it is LLaMA then */
            cJSON *copy = cJSON_Duplicate(lc, 1);
            if (copy && !cJSON_GetObjectItemCaseSensitive(copy, "model_type"))
                cJSON_AddStringToObject(copy, "model_type", "llama");
            if (copy) parse_lm(&c, copy, &cfg->lm);
            cJSON_Delete(copy);
            if (!c.failed) parse_janus(&c, root, cfg);
        }
    } else if (!type && !c.failed && (cJSON_GetObjectItemCaseSensitive(root, "gen_vision_config") ||
                                      cJSON_GetObjectItemCaseSensitive(root, "vision_config"))) {
        /* A Janus tower on its own (the tower goldens): no language model; the towers the
         * file does not describe take their defaults. */
        static const char *towers[] = {"vision_config", "aligner_config", "gen_vision_config",
                                       "gen_aligner_config", "gen_head_config"};
        cJSON *copy = cJSON_Duplicate(root, 1);
        for (size_t i = 0; copy && i < sizeof towers / sizeof *towers; i++)
            if (!cJSON_GetObjectItemCaseSensitive(copy, towers[i]))
                cJSON_AddObjectToObject(copy, towers[i]);
        if (copy) parse_janus(&c, copy, cfg);
        else snprintf(err, errlen, "%s: out of memory", path), c.failed = 1;
        cJSON_Delete(copy);
    } else if (!c.failed) {
        parse_lm(&c, root, &cfg->lm);
    }
    cJSON_Delete(root);
    return c.failed ? -1 : 0;
}

int config_load(const char *dir, model_config *cfg, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    tf_map m;
    if (tf_map_open(&m, path, err, errlen)) return -1;
    if (m.size > CONFIG_MAX_BYTES) {
        snprintf(err, errlen, "%s: %llu bytes is too large for a config", path,
                 (unsigned long long)m.size);
        tf_map_close(&m);
        return -1;
    }
    int r = config_parse((const char *)m.data, (size_t)m.size, path, cfg, err, errlen);
    tf_map_close(&m);
    return r;
}

int config_image_tokens(const model_config *c)
{
    if (!c->is_janus || c->vq.n_levels < 1) return 0;
    int g = c->vision.image_size >> (c->vq.n_levels - 1);
    return g * g;
}
