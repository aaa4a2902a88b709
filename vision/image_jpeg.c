/* image_jpeg.c: JPEG -> 8-bit RGB with libjpeg-turbo: baseline, progressive, grayscale and
 * CMYK/YCCK (taken as Adobe-inverted, as PIL assumes), then the EXIF orientation applied.
 * Fatal libjpeg errors longjmp back here; a truncated stream is an error, not grey padding. */
#include <stdio.h>
#include <jpeglib.h>
#include <jerror.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include "vision/image_codec.h"

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jmp;
    int truncated;          /* libjpeg hit the end of data and would have padded with grey */
    uint8_t *raw;           /* decoded scanlines before CMYK conversion / orientation */
} jpeg_err;

static void on_error_exit(j_common_ptr cinfo)
{
    longjmp(((jpeg_err *)cinfo->err)->jmp, 1);
}

static void on_message(j_common_ptr cinfo, int level)
{
    jpeg_err *e = (jpeg_err *)cinfo->err;
    /* Warnings (level -1) are silent; only running out of data makes the picture wrong. */
    if (level < 0 && (e->pub.msg_code == JWRN_JPEG_EOF || e->pub.msg_code == JWRN_HIT_MARKER))
        e->truncated = 1;
}

/* EXIF orientation (TIFF tag 0x0112) from an APP1 "Exif\0\0" payload, 1 if absent or bad. */
static int exif_orientation(const uint8_t *p, size_t n)
{
    if (n < 14 || memcmp(p, "Exif\0\0", 6) != 0) return 1;
    p += 6;
    n -= 6;
    int le = p[0] == 'I' && p[1] == 'I';
    if (!le && !(p[0] == 'M' && p[1] == 'M')) return 1;
#define U16(o) (le ? p[o] | p[(o) + 1] << 8 : p[o] << 8 | p[(o) + 1])
#define U32(o) (le ? (uint32_t)U16(o) | (uint32_t)U16((o) + 2) << 16 \
                   : (uint32_t)U16(o) << 16 | (uint32_t)U16((o) + 2))
    uint32_t ifd = U32(4);
    if (ifd > n - 2) return 1;
    unsigned count = U16(ifd);
    for (unsigned i = 0; i < count; i++) {
        size_t e = (size_t)ifd + 2 + (size_t)i * 12;
        if (e + 12 > n) return 1;
        if (U16(e) == 0x0112 && U16(e + 2) == 3) {   /* SHORT, value inline */
            int o = U16(e + 8);
            return o >= 1 && o <= 8 ? o : 1;
        }
    }
#undef U16
#undef U32
    return 1;
}

/* Copies src (w x h) into out so that the picture appears upright for EXIF orientation o. */
static void apply_orientation(const uint8_t *src, int w, int h, int o, image *out)
{
    for (int oy = 0; oy < out->h; oy++)
        for (int ox = 0; ox < out->w; ox++) {
            int sx, sy;
            switch (o) {
            case 2: sx = w - 1 - ox; sy = oy; break;              /* mirror horizontal */
            case 3: sx = w - 1 - ox; sy = h - 1 - oy; break;      /* rotate 180 */
            case 4: sx = ox; sy = h - 1 - oy; break;              /* mirror vertical */
            case 5: sx = oy; sy = ox; break;                      /* transpose */
            case 6: sx = oy; sy = h - 1 - ox; break;              /* rotate 90 clockwise */
            case 7: sx = w - 1 - oy; sy = h - 1 - ox; break;      /* transverse */
            case 8: sx = w - 1 - oy; sy = ox; break;              /* rotate 90 anticlockwise */
            default: sx = ox; sy = oy; break;
            }
            memcpy(out->rgb + ((size_t)oy * out->w + ox) * 3, src + ((size_t)sy * w + sx) * 3, 3);
        }
}

/* a*b/255 rounded, as PIL's MULDIV255. */
static int muldiv255(int a, int b)
{
    int t = a * b + 128;
    return ((t >> 8) + t) >> 8;
}

int image_decode_jpeg(const char *name, const uint8_t *data, size_t n, image *out,
                      char *err, size_t errlen)
{
    struct jpeg_decompress_struct cinfo;
    jpeg_err e;
    memset(&e, 0, sizeof e);
    cinfo.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = on_error_exit;
    e.pub.emit_message = on_message;
    if (setjmp(e.jmp)) {
        char msg[JMSG_LENGTH_MAX];
        e.pub.format_message((j_common_ptr)&cinfo, msg);
        snprintf(err, errlen, "%s: corrupt JPEG: %s", name, msg);
        goto fail;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)n);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xffff);
    jpeg_read_header(&cinfo, TRUE);
    if (image_check_size(name, cinfo.image_width, cinfo.image_height, err, errlen)) goto fail;
    int orient = 1;
    for (jpeg_saved_marker_ptr m = cinfo.marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && (orient = exif_orientation(m->data, m->data_length)) != 1)
            break;
    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    if (!cmyk && cinfo.num_components != 1 && cinfo.num_components != 3) {
        snprintf(err, errlen, "%s: JPEG with %d colour components is not supported", name,
                 cinfo.num_components);
        goto fail;
    }
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    int w = (int)cinfo.output_width, h = (int)cinfo.output_height, c = cinfo.output_components;
    if (image_check_size(name, w, h, err, errlen)) goto fail;
    e.raw = malloc((size_t)w * h * c);
    if (!e.raw) {
        snprintf(err, errlen, "%s: out of memory", name);
        goto fail;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = e.raw + (size_t)cinfo.output_scanline * w * c;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    if (e.truncated) {
        snprintf(err, errlen, "%s: JPEG data is truncated", name);
        goto fail;
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    if (cmyk) {   /* inverted CMYK: stored = 255 - ink; R = (255-C)(255-K)/255 as PIL rounds it */
        for (size_t i = 0; i < (size_t)w * h; i++) {
            const uint8_t *p = e.raw + i * 4;
            int nk = p[3];
            for (int k = 0; k < 3; k++) e.raw[i * 3 + k] = (uint8_t)(nk - muldiv255(255 - p[k], nk));
        }
    }
    int sw = orient >= 5 ? h : w, sh = orient >= 5 ? w : h;
    if (image_alloc(out, sw, sh, err, errlen)) {
        free(e.raw);
        return -1;
    }
    apply_orientation(e.raw, w, h, orient, out);
    free(e.raw);
    return 0;
fail:
    jpeg_destroy_decompress(&cinfo);
    free(e.raw);
    image_free(out);
    return -1;
}
