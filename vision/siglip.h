/* siglip.h: Janus' understanding tower, the SigLIP ViT (patch embedding, learned positions,
 * pre-norm blocks of attention and a GELU MLP, final LayerNorm; no class token, no pooling
 * head), on the GPU. Images in as preprocessed pixel values, patch features out. */
#ifndef VKSEEK_SIGLIP_H
#define VKSEEK_SIGLIP_H

#include "engine/checkpoint.h"
#include "engine/config.h"
#include "gpu/gpu.h"

typedef struct siglip siglip;

/* Weights named prefix + "vision_tower.*" ("vision_model." in Janus checkpoints). */
siglip *siglip_load(gpu_ctx *ctx, const checkpoint *ck, const vision_config *vc,
                    const char *prefix, int quant, char *err, size_t errlen);
void siglip_free(siglip *s);

/* Features [width, n_patches, n] (a new tensor the caller frees) of n images given as
 * pixel values [n][3][S][S] (CHW, S = image_size, values in [-1, 1]). */
gpu_tensor *siglip_encode(siglip *s, const float *pixels, int n, char *err, size_t errlen);
/* Device memory siglip_encode of n images takes on ctx: its buffers (returned, the result
 * among them) and its scratch (*scratch). */
uint64_t siglip_encode_bytes(const gpu_ctx *ctx, const vision_config *vc, int n,
                             uint64_t *scratch);

/* For tests: the residual stream after block `block` (-1: after the position embedding)
 * of the next encode, copied into dst [width, n_patches, n]. */
void siglip_capture(siglip *s, int block, gpu_tensor *dst);

int siglip_patches(const siglip *s);   /* tokens per image */
int siglip_width(const siglip *s);

#endif
