/* image.h: decodes PNG and JPEG files (or bytes, e.g. a base64-decoded upload) into 8-bit RGB,
 * rows top to bottom, 3 bytes a pixel (HWC). The type comes from the magic bytes, never the
 * name. Sizes are checked against IMAGE_MAX_SIDE / IMAGE_MAX_PIXELS before any pixel buffer is
 * allocated; corrupt or truncated input is an error, never an abort or a grey-filled picture. */
#ifndef VKSEEK_IMAGE_H
#define VKSEEK_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#define IMAGE_MAX_SIDE 16384
#define IMAGE_MAX_PIXELS 100000000LL           /* 100 megapixels */
#define IMAGE_MAX_FILE_BYTES (256u << 20)      /* files bigger than this are refused */

typedef struct {
    int w, h;        /* pixels; both >= 1 once loaded */
    uint8_t *rgb;    /* (h, w, 3) row-major, owned */
} image;

/* 0 if w x h is a size this program will allocate, else -1 with a message naming `name`. */
int image_check_size(const char *name, long long w, long long h, char *err, size_t errlen);

/* Decodes n bytes of PNG or JPEG. `name` only labels error messages ("upload", a path).
 * Alpha is dropped, not composited (as PIL's convert('RGB') does); 16-bit samples keep their
 * high byte; JPEG EXIF orientation (APP1) is applied (Janus' own loader, PIL Image.open, does
 * not, so rotated phone photos reach the model upright here). 0 ok, -1 with err and *out empty. */
int image_decode(const char *name, const uint8_t *data, size_t n, image *out,
                 char *err, size_t errlen);

/* Reads and decodes a file (at most IMAGE_MAX_FILE_BYTES). */
int image_load(const char *path, image *out, char *err, size_t errlen);

/* 0 ok, -1 (err set) if out of memory or the size is refused. Pixels are zeroed. */
int image_alloc(image *im, int w, int h, char *err, size_t errlen);
void image_free(image *im);

#endif
