/* moe.h: DeepSeek's expert routing on the host, from the router's logits: scoring (softmax or
 * sigmoid), the correction bias for selection only, group-limited selection (sum of the top
 * two per group with a bias, the group maximum without), top-k, optional renormalisation and
 * the routed scaling, exactly as the official code and Hugging Face's compute them. */
#ifndef VKSEEK_MOE_H
#define VKSEEK_MOE_H

#include <stdint.h>
#include "engine/config.h"

/* For each of n tokens with router logits [n][E]: its k = n_experts_per_tok experts (idx,
 * in selection order) and their weights. bias [E] or NULL. */
void moe_route(const lm_config *c, const float *logits, const float *bias, int n, int32_t *idx,
               float *w);

#endif
