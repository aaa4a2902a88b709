/* vq_decoder.h: Janus's VQ-16 image decoder (LlamaGen's VQModel.decode_code): a grid of
 * codebook indices -> RGB pixels, on the GPU. One code path for every width (ch, ch_mult,
 * num_res_blocks, z_channels, codebook), so the tiny golden and Janus-Pro's decoder agree.
 * Written against gpu/gpu.h only; the encoder in the same checkpoint is never loaded. */
#ifndef VKSEEK_VQ_DECODER_H
#define VKSEEK_VQ_DECODER_H

#include <stdint.h>
#include "engine/checkpoint.h"
#include "engine/config.h"
#include "gpu/gpu.h"

typedef struct vq_decoder vq_decoder;

/* Loads the decoder's tensors `prefix`+"quantize.embedding.weight", "post_quant_conv.*",
 * "decoder.*" (Janus: prefix "gen_vision_model."). Convolution weights are stored as wtype
 * (GPU_F32, GPU_F16 or GPU_BF16); norms, biases and the codebook stay f32. The codebook is
 * L2-normalised row by row once here (codebook_l2_norm, as Janus's config sets it).
 * NULL with err set on failure. */
vq_decoder *vq_decoder_load(gpu_ctx *ctx, const checkpoint *ck, const vq_config *cfg,
                            const char *prefix, gpu_type wtype, char *err, size_t errlen);
void vq_decoder_free(vq_decoder *d);

/* Pixels per code along each side: 2^(n_levels - 1) (16 for VQ-16). */
int vq_decoder_scale(const vq_decoder *d);

/* Decodes n code grids of grid_h x grid_w codes each (codes[n][grid_h*grid_w], raster
 * order: index k is row k / grid_w, column k % grid_w). Either output may be NULL:
 *   out_nchw  [n][3][H][W] f32, the decoder's output, nominally in [-1, 1], not clipped;
 *   out_hwc   [n][H][W][3] uint8 RGB, clip((x + 1) / 2 * 255, 0, 255) truncated, as
 *             Janus's generation_inference.py;
 * with H = grid_h * scale, W = grid_w * scale. 0 ok; -1 with err set (a code outside the
 * codebook, a grid too large, a device failure). */
int vq_decode(vq_decoder *d, const int32_t *codes, int n, int grid_h, int grid_w,
              float *out_nchw, uint8_t *out_hwc, char *err, size_t errlen);

/* Device memory a vq_decode of n grids takes on ctx: its buffers (returned) and the most
 * scratch one of its blocks records (*scratch). */
uint64_t vq_decode_bytes(const gpu_ctx *ctx, const vq_config *cfg, int n, int grid_h,
                         int grid_w, uint64_t *scratch);

/* Intermediates a test can capture (NCHW f32 [W, H, C, n] device tensors of the stage's
 * exact shape; copied during the next vq_decode). VQ_CAP_LEVEL + i is level i's output
 * (i = 0 the lowest resolution): after its upsample, or its last block at the last level. */
enum {
    VQ_CAP_QUANT,          /* codebook vectors, [w, h, embed_dim, n] */
    VQ_CAP_POST_QUANT,     /* post_quant_conv out, [w, h, z_channels, n] */
    VQ_CAP_CONV_IN,        /* conv_in out */
    VQ_CAP_MID,            /* mid (res, attn, res) out */
    VQ_CAP_NORM_OUT,       /* norm_out (GroupNorm) out, before swish and conv_out */
    VQ_CAP_LEVEL,
    VQ_CAP_COUNT = VQ_CAP_LEVEL + VQ_MAX_LEVELS
};
/* t = NULL stops capturing that stage. The tensor stays the caller's. */
void vq_decoder_capture(vq_decoder *d, int stage, gpu_tensor *t);

#endif
