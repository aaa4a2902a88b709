/* config.h: a model description read from a Hugging Face config.json. Absent keys take the
 * defaults of the transformers config class the official code relies on (LlamaConfig,
 * Qwen2Config, DeepseekV2Config, DeepseekV3Config), because published configs omit them
 * (Janus-Pro-7B's language_config names only layers and vocabulary). */
#ifndef VKSEEK_CONFIG_H
#define VKSEEK_CONFIG_H

#include <stddef.h>

typedef enum { LM_LLAMA, LM_QWEN2, LM_DEEPSEEK_V2, LM_DEEPSEEK_V3 } lm_arch;
typedef enum { ROPE_NONE, ROPE_LINEAR, ROPE_LLAMA3, ROPE_YARN } rope_kind;
typedef enum { SCORE_SOFTMAX, SCORE_SIGMOID } moe_score;
typedef enum { TOPK_GREEDY, TOPK_GROUP_LIMITED_GREEDY, TOPK_NOAUX_TC } moe_topk;

typedef struct {
    lm_arch arch;
    int vocab_size;          /* embedding rows */
    int hidden_size;         /* model width D */
    int intermediate_size;   /* dense FFN width */
    int n_layers;
    int n_heads;
    int n_kv_heads;          /* GQA; = n_heads for MHA and MLA */
    int head_dim;            /* per-head q/k/v width of the dense stacks */
    int max_position_embeddings;
    float rms_norm_eps;
    float rope_theta;
    int tie_word_embeddings;
    int qkv_bias;            /* Qwen2: biases on q, k, v */
    int bos_token_id, eos_token_id; /* -1 when absent */
    /* rope scaling */
    rope_kind rope;
    float rope_factor;
    int rope_orig_max_pos;
    float beta_fast, beta_slow;           /* YaRN */
    float mscale, mscale_all_dim;         /* YaRN attention scale */
    float low_freq_factor, high_freq_factor; /* Llama-3 */
    /* DeepSeek MLA */
    int q_lora_rank;         /* 0: plain q_proj (V2-Lite) */
    int kv_lora_rank;
    int qk_nope_head_dim, qk_rope_head_dim, v_head_dim;
    /* DeepSeek MoE */
    int n_routed_experts;    /* 0: dense model */
    int n_shared_experts;
    int n_experts_per_tok;
    int moe_intermediate_size;
    int first_k_dense_replace;
    int moe_layer_freq;
    int n_group, topk_group;
    float routed_scaling_factor;
    int norm_topk_prob;
    moe_score scoring;
    moe_topk topk_method;
    int n_mtp_layers;        /* num_nextn_predict_layers */
    int fp8_block;           /* quantization_config weight_block_size (128), 0 if none */
} lm_config;

typedef struct {
    int image_size, patch_size, width, layers, heads;
    float mlp_ratio;
    int select_layer;
} vision_config;

#define VQ_MAX_LEVELS 8
typedef struct {
    int codebook_size, embed_dim, z_channels, ch, num_res_blocks;
    int ch_mult[VQ_MAX_LEVELS], n_levels;
    int image_token_size;
} vq_config;

typedef struct {
    int depth, input_dim, n_embed;
} mlp_config;

typedef struct {
    int is_janus;            /* model_type multi_modality */
    lm_config lm;
    vision_config vision;    /* understanding tower */
    mlp_config aligner;
    vq_config vq;            /* generation: image tokenizer */
    mlp_config gen_aligner;
    int gen_head_embed, gen_head_vocab;  /* gen_head: image_token_embed, image_token_size */
} model_config;

/* Reads DIR/config.json. 0 ok; -1 with "DIR/config.json: reason" in err. */
int config_load(const char *dir, model_config *cfg, char *err, size_t errlen);
/* Codes per generated image (Janus: (image_size / 2^(VQ levels - 1))^2, 576 for 384 px);
 * 0 for a model that draws none. */
int config_image_tokens(const model_config *cfg);
/* Parses config JSON text (for tests); path names it in errors. */
int config_parse(const char *json, size_t len, const char *path, model_config *cfg, char *err,
                 size_t errlen);
const char *lm_arch_name(lm_arch a);

#endif
