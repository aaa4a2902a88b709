/* loader.h: checkpoint tensors into device tensors. Decides each tensor's device format
 * (--quant for matrix weights; norms, biases, routers and small tensors stay f32) and
 * streams it up in bounded chunks: FP8 blocks are dequantised with their scales and
 * strided PyTorch views gathered on the way, never the whole tensor in host memory. */
#ifndef VKSEEK_LOADER_H
#define VKSEEK_LOADER_H

#include "engine/checkpoint.h"
#include "gpu/gpu.h"

/* --quant: a gpu_type for matrix weights, or QUANT_KEEP for the checkpoint's precision
 * (FP8 becomes bf16). */
#define QUANT_KEEP (-1)
int quant_from_name(const char *name, int *quant); /* "f16", "bf16", "q8_0", "q4_0", "keep" */

/* Checkpoint tensor `name`, or where a Janus community checkpoint keeps it (the first part
 * of a split one); NULL when absent. */
const tf_tensor *load_find(const checkpoint *c, const char *name);

/* The device format of checkpoint tensor t under quant. */
gpu_type load_format(const tf_tensor *t, int quant);
/* Bytes t will take on the device under quant. */
uint64_t load_device_bytes(const tf_tensor *t, int quant);

/* Uploads checkpoint tensor `name` as a new device tensor in format `type`, with ne[] the
 * checkpoint shape reversed (ne0 = the last, contiguous dimension). NULL with err set when
 * the tensor is missing or cannot be converted. */
gpu_tensor *load_tensor(gpu_ctx *ctx, const checkpoint *c, const char *name, gpu_type type,
                        char *err, size_t errlen);

/* A whole 2-D checkpoint tensor as host f32 [rows][cols] (FP8 scaled, strides gathered),
 * for weights a model rearranges before upload. Caller frees; NULL with err set. */
float *load_host_f32(const checkpoint *c, const char *name, int64_t *rows, int64_t *cols,
                     char *err, size_t errlen);

#endif
