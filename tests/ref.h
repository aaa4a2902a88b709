/* ref.h: plain-C references for every gpu op, used only by the tests. Written from the
 * definitions (in double where it matters), not from the shaders. Shapes as in gpu.h. */
#ifndef VKSEEK_TEST_REF_H
#define VKSEEK_TEST_REF_H

#include <stdint.h>
#include "gpu/gpu.h"

/* Decodes a weight tensor's raw device bytes (as gpu_read gives them) into f32:
 * quants of all rows first, then f16 scales from the 256-aligned offset after them. */
void ref_dequant(gpu_type type, const void *raw, int64_t rows, int64_t K, float *out);
float ref_half(uint16_t h);

void ref_matmul(float *y, const float *W, const float *x, int64_t N, int64_t K, int64_t M);
void ref_rmsnorm(float *y, const float *x, const float *w, int64_t n, int64_t rows, float eps);
void ref_layernorm(float *y, const float *x, const float *w, const float *b, int64_t n,
                   int64_t rows, float eps);
void ref_groupnorm(float *y, const float *x, const float *w, const float *b, int64_t hw,
                   int64_t C, int64_t B, int groups, float eps);
void ref_rope(float *x, int64_t head_dim, int64_t n_head, int64_t n_tok, int64_t n_seq,
              int n_rot, int half_mode, float base, const gpu_rope_scaling *sc, int pos0,
              const int *pos);
void ref_softmax(float *y, const float *x, int64_t n, int64_t rows, float scale);
/* k, v: element (d, head, pos, slot) at off + d + head*nb1 + pos*nb2 + slot*nb3; sequence s
 * reads slot[s] (NULL: s) and its token t sits at pos0 + t (+ pos[s]). */
void ref_attention(float *out, const float *q, const float *k, const float *v, int64_t dk,
                   int64_t dv, int64_t H, int64_t Hkv, int64_t T, int64_t S, int n_kv, int pos0,
                   const int *slot, const int *pos, float scale, int causal,
                   const int64_t knb[4], const int64_t vnb[4]);
float ref_silu(float x);
float ref_gelu(float x);
float ref_gelu_tanh(float x);
void ref_conv2d(float *y, const float *x, const float *w, const float *bias, int64_t W,
                int64_t H, int64_t Cin, int64_t Cout, int64_t B, int k);
void ref_upsample2x(float *y, const float *x, int64_t W, int64_t H, int64_t planes);
/* Top k of each row: value descending, lower index first on ties. */
void ref_topk(float *vals, int32_t *ids, const float *x, int64_t n, int64_t rows, int k);

#endif
