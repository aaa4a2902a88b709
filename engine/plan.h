/* plan.h: the device memory a model will take at its options, worked out before anything is
 * loaded: its weights (from the checkpoint's headers), the KV cache, and the activations and
 * scratch of the largest steps the engine runs with them. model_open reserves the planned
 * scratch; inspect and the startup lines print the plan; bench and test_memory hold the
 * engine to it. */
#ifndef VKSEEK_PLAN_H
#define VKSEEK_PLAN_H

#include <stddef.h>
#include <stdint.h>
#include "engine/checkpoint.h"
#include "engine/config.h"
#include "gpu/gpu.h"
#include "text/lm.h"

typedef struct {
    uint64_t weights, kv;
    uint64_t acts;     /* activations, inputs, logits, the image towers' buffers */
    uint64_t scratch;  /* the one scratch block: the most any stream records */
    uint64_t staging;  /* transfers, on devices with memory of their own */
} memory_plan;

/* The plan for cfg's model in ck at lo's settings on ctx (its alignment, kernels and
 * memory kind). Janus models add their towers: images drawn n_seq / 2 at a time, and as
 * many pictures in a prompt as the context holds. */
void plan_make(const gpu_ctx *ctx, const model_config *cfg, const checkpoint *ck,
               const lm_options *lo, memory_plan *p);
uint64_t plan_total(const memory_plan *p);
/* 1 for a checkpoint tensor vkseek never loads: FP8 scales (folded into their weights),
 * SigLIP's pooling head, the VQ encoder and its training statistic, and the MTP layer
 * unless asked for. */
int plan_unused(const char *name, const lm_config *c, int mtp);
/* "1.23 GB", "456.7 MB", "12.0 kB", "100 B" */
const char *plan_size(uint64_t bytes, char *buf, size_t n);
/* "weights 4.22 GB + KV cache 3.27 GB + activations 612.0 MB = 8.10 GB" */
const char *plan_str(const memory_plan *p, char *buf, size_t n);

#endif
