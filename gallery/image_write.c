/* image_write.c: see image_write.h. libpng and libjpeg report errors by longjmp back to the
 * writer, which then removes its temporary file; the destination is only ever touched by
 * rename(2), which replaces it atomically. */
#include <errno.h>
#include <stdio.h>
#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "gallery/image_write.h"

enum { FMT_NONE, FMT_PNG, FMT_JPEG };

static int format_of(const char *path)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash)) return FMT_NONE;
    if (strcasecmp(dot, ".png") == 0) return FMT_PNG;
    if (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0) return FMT_JPEG;
    return FMT_NONE;
}

typedef struct {
    char msg[200];
} png_wctx;

static void png_on_error(png_structp png, png_const_charp msg)
{
    png_wctx *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg)
{
    (void)png; (void)msg;
}

static int valid_key(const char *k)
{
    size_t n = strlen(k);
    if (n < 1 || n > 79 || k[0] == ' ' || k[n - 1] == ' ') return 0;
    for (size_t i = 0; i < n; i++)
        if (k[i] < 32 || k[i] > 126) return 0;
    return 1;
}

static int is_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 128) return 0;
    return 1;
}

static int write_png(FILE *f, const char *path, const image *im, const image_write_opts *o,
                     char *err, size_t errlen)
{
    png_wctx c = {{0}};
    int n_meta = o ? o->n_meta : 0;
    for (int i = 0; i < n_meta; i++)
        if (!o->meta[i].key || !o->meta[i].value || !valid_key(o->meta[i].key)) {
            snprintf(err, errlen, "%s: metadata key '%s' is not 1-79 printable ASCII characters",
                     path, o->meta[i].key ? o->meta[i].key : "(null)");
            return -1;
        }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &c, png_on_error,
                                              png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    png_text *text = calloc(n_meta ? n_meta : 1, sizeof *text);
    png_bytep *rows = malloc(sizeof *rows * im->h);
    if (!info || !text || !rows) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    if (setjmp(png_jmpbuf(png))) {
        int e = errno; /* a failed write's (disk full...), still set at the longjmp */
        snprintf(err, errlen, "%s: PNG write failed: %s%s%s", path, c.msg,
                 ferror(f) ? ": " : "", ferror(f) ? strerror(e) : "");
        goto fail;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, im->w, im->h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    for (int i = 0; i < n_meta; i++) {
        text[i].key = (char *)o->meta[i].key;
        text[i].text = (char *)o->meta[i].value;
        text[i].compression = is_ascii(o->meta[i].value) ? PNG_TEXT_COMPRESSION_NONE
                                                         : PNG_ITXT_COMPRESSION_NONE;
    }
    if (n_meta) png_set_text(png, info, text, n_meta);
    png_write_info(png, info);
    for (int y = 0; y < im->h; y++) rows[y] = im->rgb + (size_t)y * im->w * 3;
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(text);
    free(rows);
    return 0;
fail:
    png_destroy_write_struct(&png, &info);
    free(text);
    free(rows);
    return -1;
}

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jmp;
} jpeg_werr;

static void jpeg_on_error(j_common_ptr cinfo)
{
    longjmp(((jpeg_werr *)cinfo->err)->jmp, 1);
}

static int write_jpeg(FILE *f, const char *path, const image *im, int quality,
                      char *err, size_t errlen)
{
    struct jpeg_compress_struct cinfo;
    jpeg_werr e;
    cinfo.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = jpeg_on_error;
    if (setjmp(e.jmp)) {
        int no = errno; /* as for PNG */
        char msg[JMSG_LENGTH_MAX];
        e.pub.format_message((j_common_ptr)&cinfo, msg);
        snprintf(err, errlen, "%s: JPEG write failed: %s%s%s", path, msg, ferror(f) ? ": " : "",
                 ferror(f) ? strerror(no) : "");
        jpeg_destroy_compress(&cinfo);
        return -1;
    }
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, f);
    cinfo.image_width = im->w;
    cinfo.image_height = im->h;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = im->rgb + (size_t)cinfo.next_scanline * im->w * 3;
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    return 0;
}

int image_write(const char *path, const image *im, const image_write_opts *opts,
                char *err, size_t errlen)
{
    int fmt = format_of(path);
    if (fmt == FMT_NONE) {
        snprintf(err, errlen, "%s: unknown picture type (use .png, .jpg or .jpeg)", path);
        return -1;
    }
    int quality = opts && opts->quality ? opts->quality : IMAGE_JPEG_QUALITY;
    if (quality < 1 || quality > 100) {
        snprintf(err, errlen, "%s: JPEG quality %d is outside 1..100", path, quality);
        return -1;
    }
    if (!im->rgb || image_check_size(path, im->w, im->h, err, errlen)) {
        if (!im->rgb) snprintf(err, errlen, "%s: no pixels to write", path);
        return -1;
    }
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    snprintf(tmp, n, "%s.tmp-XXXXXX", path);   /* same directory, so rename stays atomic */
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot create a temporary file: %s", path, strerror(errno));
        free(tmp);
        return -1;
    }
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        unlink(tmp);
        free(tmp);
        return -1;
    }
    fchmod(fd, 0644);   /* mkstemp makes 0600; pictures are for sharing */
    int rc = fmt == FMT_PNG ? write_png(f, path, im, opts, err, errlen)
                            : write_jpeg(f, path, im, quality, err, errlen);
    if (fflush(f) != 0 || fsync(fd) != 0) {
        if (rc == 0) snprintf(err, errlen, "%s: %s", path, strerror(errno));
        rc = -1;
    }
    if (fclose(f) != 0 && rc == 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        rc = -1;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: cannot rename the temporary file into place: %s", path,
                 strerror(errno));
        rc = -1;
    }
    if (rc) unlink(tmp);
    free(tmp);
    return rc;
}

void image_text_free(image_text *t)
{
    for (int i = 0; i < t->n; i++) {
        free(t->keys[i]);
        free(t->values[i]);
    }
    free(t->keys);
    free(t->values);
    memset(t, 0, sizeof *t);
}

static int copy_text(image_text *out, png_textp text, int n)
{
    out->keys = calloc(n ? n : 1, sizeof(char *));
    out->values = calloc(n ? n : 1, sizeof(char *));
    if (!out->keys || !out->values) return -1;
    for (int i = 0; i < n; i++) {
        out->keys[i] = strdup(text[i].key);
        out->values[i] = strdup(text[i].text ? text[i].text : "");
        out->n = i + 1;
        if (!out->keys[i] || !out->values[i]) return -1;
    }
    return 0;
}

int image_read_png_text(const char *path, image_text *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    unsigned char sig[8];
    if (fread(sig, 1, 8, f) != 8 || png_sig_cmp(sig, 0, 8) != 0) {
        snprintf(err, errlen, "%s: not a PNG file", path);
        fclose(f);
        return -1;
    }
    png_wctx c = {{0}};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &c, png_on_error,
                                             png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    int rc = -1;
    if (!info) {
        snprintf(err, errlen, "%s: out of memory", path);
    } else if (setjmp(png_jmpbuf(png))) {
        snprintf(err, errlen, "%s: corrupt PNG: %s", path, c.msg);
        image_text_free(out);
    } else {
        png_init_io(png, f);
        png_set_sig_bytes(png, 8);
        /* text chunks are bounded by libpng's chunk limit (8 MB by default) */
        png_read_info(png, info);
        png_textp text = NULL;
        int n = png_get_text(png, info, &text, NULL);
        if (copy_text(out, text, n)) {
            snprintf(err, errlen, "%s: out of memory", path);
            image_text_free(out);
        } else {
            rc = 0;
        }
    }
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    return rc;
}
