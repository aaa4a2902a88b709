/* preprocess.h: Janus' VLMImageProcessor (image_processing_vlm.py): resize the long side to S
 * with Pillow's BICUBIC reproduced bit for bit, pad centred onto an SxS (127,127,127) square,
 * then pixel_values = (x/255 - 0.5)/0.5 as float32 CHW. S = 384 for the released models. */
#ifndef VKSEEK_PREPROCESS_H
#define VKSEEK_PREPROCESS_H

#include "vision/image.h"

#define JANUS_MIN_SIDE 14
#define JANUS_BACKGROUND 127   /* int(0.5 * 255), the image_mean as a colour */

/* Pillow 9 Image.resize((out_w, out_h), BICUBIC) of an RGB image. 0 ok, -1 with err. */
int image_resize_bicubic(const image *in, int out_w, int out_h, image *out,
                         char *err, size_t errlen);

/* [h', w'] = [max(int(h/max(w,h)*S), 14), max(int(w/max(w,h)*S), 14)] in Python's doubles. */
void janus_target_size(int w, int h, int S, int *out_w, int *out_h);

/* Resize so the long side is S (janus_target_size). */
int janus_resize(const image *in, int S, image *out, char *err, size_t errlen);

/* expand2square: an SxS canvas of JANUS_BACKGROUND with `in` (at most SxS) pasted at
 * ((S-w)//2, (S-h)//2). */
int janus_pad_square(const image *in, int S, image *out, char *err, size_t errlen);

/* sq (SxS) -> pixel_values[3][S][S]: float32((x * (1/255)) in double), then (v - 0.5)/0.5. */
void janus_normalize(const image *sq, float *pixel_values);

/* The three steps: pixel_values must hold 3*S*S floats. */
int janus_preprocess(const image *in, int S, float *pixel_values, char *err, size_t errlen);

#endif
