/* image_write.h: saves RGB8 pictures as PNG (with key/value text chunks: prompt, seed, cfg, ...)
 * or JPEG, chosen by the extension, and reads the PNG text back for the viewer. A file is
 * written under a temporary name in the same directory and renamed into place, so a failed or
 * interrupted save never leaves a partial picture behind. */
#ifndef VKSEEK_IMAGE_WRITE_H
#define VKSEEK_IMAGE_WRITE_H

#include <stddef.h>
#include "vision/image.h"

#define IMAGE_JPEG_QUALITY 92

typedef struct {
    const char *key;     /* 1-79 printable ASCII characters, no leading/trailing space */
    const char *value;   /* UTF-8; stored as tEXt if ASCII, else iTXt */
} image_meta;

typedef struct {
    int quality;                /* JPEG 1..100; 0 means IMAGE_JPEG_QUALITY */
    const image_meta *meta;     /* PNG only; JPEG files carry no metadata */
    int n_meta;
} image_write_opts;

/* Writes `im` to path (.png, .jpg or .jpeg, any case). opts may be NULL. 0 ok, -1 with err
 * set and no file created or replaced. */
int image_write(const char *path, const image *im, const image_write_opts *opts,
                char *err, size_t errlen);

typedef struct {
    int n;
    char **keys, **values;   /* owned */
} image_text;

/* The text chunks (tEXt, zTXt, iTXt) that precede the image data of a PNG file, which is
 * where image_write puts them. 0 ok (possibly n = 0), -1 with err set. */
int image_read_png_text(const char *path, image_text *out, char *err, size_t errlen);
void image_text_free(image_text *t);

#endif
