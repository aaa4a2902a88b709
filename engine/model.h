/* model.h: a model directory as downloaded (config.json, weights, tokenizer.json), opened
 * on a device: the description, the checkpoint, the tokenizer and the language model. The
 * CLI, the server and the tests open models through here. */
#ifndef VKSEEK_MODEL_H
#define VKSEEK_MODEL_H

#include "engine/checkpoint.h"
#include "engine/config.h"
#include "engine/plan.h"
#include "gpu/gpu.h"
#include "text/lm.h"
#include "text/tokenizer.h"

typedef struct {
    int device;            /* -1: the default choice */
    int quant;             /* QUANT_KEEP or a gpu_type, for matrix weights */
    int n_ctx;             /* 0: min(max_position_embeddings, 4096), or with image_ctx room
                              for image requests only: MODEL_IMAGE_PROMPT prompt tokens and
                              an image's tokens */
    int image_ctx;         /* the default context holds one image request (generate) */
    int n_seq;             /* sequences run together (1 for a chat) */
    int need_tokenizer;    /* fail when tokenizer.json is missing */
    int mtp;               /* load the multi-token prediction layer (--speculative mtp) */
    int kv_f32;            /* an f32 KV cache (default f16) */
} model_options;

typedef struct {
    char dir[1024];
    gpu_ctx *ctx;
    model_config cfg;
    checkpoint *ck;
    tokenizer *tok;        /* NULL when the directory has none and none was needed */
    lm *lm;
    memory_plan plan;      /* what it will take on the device (its scratch is reserved) */
} model;

#define MODEL_IMAGE_PROMPT 256

/* The context per sequence model_open gives these options (n_ctx, or its default). */
int model_ctx(const model_config *cfg, const model_options *o);

model *model_open(const char *dir, const model_options *o, char *err, size_t errlen);
void model_close(model *m);

#endif
