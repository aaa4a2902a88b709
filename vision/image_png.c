/* image_png.c: PNG -> 8-bit RGB with libpng. Every bit depth and colour type is expanded to
 * RGB; alpha and tRNS transparency are dropped (PIL's convert('RGB') does the same), 16-bit
 * samples keep their high byte. libpng reports errors by longjmp back here: never aborts. */
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vision/image_codec.h"

typedef struct {
    const char *name;
    const uint8_t *data;
    size_t n, pos;
    char msg[200];         /* libpng's error text */
    png_bytep *rows;       /* freed by the caller, success or not */
} png_src;

static void on_error(png_structp png, png_const_charp msg)
{
    png_src *s = png_get_error_ptr(png);
    snprintf(s->msg, sizeof s->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png; (void)msg;   /* e.g. unknown chunk CRCs in ancillary data: not fatal */
}

static void on_read(png_structp png, png_bytep out, size_t len)
{
    png_src *s = png_get_io_ptr(png);
    if (len > s->n - s->pos) png_error(png, "file is truncated");
    memcpy(out, s->data + s->pos, len);
    s->pos += len;
}

int image_decode_png(const char *name, const uint8_t *data, size_t n, image *out,
                     char *err, size_t errlen)
{
    /* The size policy runs on IHDR straight from the bytes, before libpng reads on. */
    if (n >= 24 && memcmp(data + 12, "IHDR", 4) == 0) {
        uint32_t w = (uint32_t)data[16] << 24 | data[17] << 16 | data[18] << 8 | data[19];
        uint32_t h = (uint32_t)data[20] << 24 | data[21] << 16 | data[22] << 8 | data[23];
        if (image_check_size(name, w, h, err, errlen)) return -1;
    }
    png_src src = {.name = name, .data = data, .n = n};
    png_src *s = &src;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, s, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        snprintf(err, errlen, "%s: out of memory", name);
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        snprintf(err, errlen, "%s: corrupt PNG: %s", name, s->msg);
        goto fail;
    }
    png_set_read_fn(png, s, on_read);
    /* Our own limits below give the clearer message; libpng's 1M default would fire first. */
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if (image_check_size(name, w, h, err, errlen)) goto fail;

    int type = png_get_color_type(png, info);
    if (png_get_bit_depth(png, info) == 16) png_set_strip_16(png);  /* high byte, like PIL */
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY || type == PNG_COLOR_TYPE_GRAY_ALPHA) {
        png_set_expand_gray_1_2_4_to_8(png);
        png_set_gray_to_rgb(png);
    }
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * 3) {
        snprintf(err, errlen, "%s: PNG colour type %d did not expand to RGB", name, type);
        goto fail;
    }
    if (image_alloc(out, (int)w, (int)h, err, errlen)) goto fail;
    s->rows = malloc(h * sizeof *s->rows);
    if (!s->rows) {
        snprintf(err, errlen, "%s: out of memory", name);
        goto fail;
    }
    for (png_uint_32 y = 0; y < h; y++) s->rows[y] = out->rgb + (size_t)y * w * 3;
    png_read_image(png, s->rows);
    png_read_end(png, NULL);   /* checks the remaining chunks up to IEND */
    free(s->rows);
    png_destroy_read_struct(&png, &info, NULL);
    return 0;
fail:
    free(s->rows);
    png_destroy_read_struct(&png, &info, NULL);
    image_free(out);
    return -1;
}
