/* janus.h: Janus(-Pro), the model that joins the image towers to a language model.
 * Understanding: SigLIP features through the aligner replace the prompt's
 * <image_placeholder> embeddings. Generation: the language model's last hidden state
 * through gen_head gives image-token logits, conditional and unconditional rows combined
 * by classifier-free guidance, the chosen token fed back through gen_embed and gen_aligner. */
#ifndef VKSEEK_JANUS_H
#define VKSEEK_JANUS_H

#include "engine/model.h"
#include "text/sampler.h"
#include "vision/siglip.h"
#include "vision/vq_decoder.h"

typedef struct janus janus;

/* The towers around m's language model (m must be a multi_modality checkpoint). */
janus *janus_load(model *m, int quant, char *err, size_t errlen);
void janus_free(janus *j);

/* Prompt embeddings [D, n, 1] for ids, the rows at image_id replaced in order by the
 * aligned features of n_images preprocessed images [n_images][3][S][S] (their count must
 * equal n_images x patches). A new tensor for lm_forward; the caller frees it. */
gpu_tensor *janus_embed_prompt(janus *j, const int32_t *ids, int n, int32_t image_id,
                               const float *pixels, int n_images, char *err, size_t errlen);

/* For tests: the aligned image features [D, patches, n] of the last janus_embed_prompt. */
gpu_tensor *janus_last_features(janus *j);

/* Image-token logits [n_rows][codebook] (host) from hidden states [D, n_rows] (gen_head). */
int janus_gen_logits(janus *j, gpu_tensor *hidden, int n_rows, float *logits, char *err,
                     size_t errlen);
/* The next step's input for chosen image tokens: gen_aligner(gen_embed(tokens[i])) for each
 * of n rows, into x [D, 1, n] (a new tensor; the caller frees it). */
gpu_tensor *janus_gen_embed(janus *j, const int32_t *tokens, int n, char *err, size_t errlen);

model *janus_model(const janus *j);
int janus_patches(const janus *j);   /* image tokens per image in understanding */
int janus_codebook(const janus *j);  /* image-token vocabulary in generation */
int janus_image_size(const janus *j);   /* generated images are this many pixels square */
int janus_image_tokens(const janus *j); /* codes per generated image (576 for 384 px) */

/* ---- text to image (run by the scheduler) ---- */

typedef struct {
    float cfg;                /* guidance weight w: logits = u + w (c - u); default 5 */
    sampler_params sampling;  /* temperature 1 by default; image i uses seed + i */
} janus_gen_params;

/* Pixels of n code grids: rgb [n][size][size][3]. */
int janus_decode(janus *j, const int32_t *codes, int n, uint8_t *rgb, char *err, size_t errlen);
/* The top `rows` code rows of each grid alone (a preview of a picture being drawn, at a
 * fraction of the cost): rgb [n][rows * size / grid][size][3]. */
int janus_decode_rows(janus *j, const int32_t *codes, int n, int rows, uint8_t *rgb, char *err,
                      size_t errlen);

#endif
