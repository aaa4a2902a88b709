/* image_codec.h: the per-format decoders behind image_decode (vision/image.c), which has
 * already matched the magic bytes. Not for use outside vision/. */
#ifndef VKSEEK_IMAGE_CODEC_H
#define VKSEEK_IMAGE_CODEC_H

#include "vision/image.h"

int image_decode_png(const char *name, const uint8_t *data, size_t n, image *out,
                     char *err, size_t errlen);
int image_decode_jpeg(const char *name, const uint8_t *data, size_t n, image *out,
                      char *err, size_t errlen);

#endif
