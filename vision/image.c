/* image.c: format detection by magic bytes, file reading and the size policy shared by the
 * PNG and JPEG decoders (image_png.c, image_jpeg.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vision/image_codec.h"

int image_check_size(const char *name, long long w, long long h, char *err, size_t errlen)
{
    if (w <= 0 || h <= 0) {
        snprintf(err, errlen, "%s: image has no pixels (%lldx%lld)", name, w, h);
        return -1;
    }
    if (w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE || w * h > IMAGE_MAX_PIXELS) {
        snprintf(err, errlen, "%s: image is %lldx%lld pixels; the limit is %d per side and "
                 "%lld megapixels", name, w, h, IMAGE_MAX_SIDE, IMAGE_MAX_PIXELS / 1000000);
        return -1;
    }
    return 0;
}

int image_alloc(image *im, int w, int h, char *err, size_t errlen)
{
    memset(im, 0, sizeof *im);
    if (image_check_size("image", w, h, err, errlen)) return -1;
    im->rgb = calloc((size_t)w * (size_t)h, 3);
    if (!im->rgb) {
        snprintf(err, errlen, "out of memory for a %dx%d image", w, h);
        return -1;
    }
    im->w = w;
    im->h = h;
    return 0;
}

void image_free(image *im)
{
    free(im->rgb);
    memset(im, 0, sizeof *im);
}

int image_decode(const char *name, const uint8_t *data, size_t n, image *out,
                 char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n >= 8 && memcmp(data, png_magic, 8) == 0)
        return image_decode_png(name, data, n, out, err, errlen);
    if (n >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff)
        return image_decode_jpeg(name, data, n, out, err, errlen);
    if (n == 0) snprintf(err, errlen, "%s: empty file", name);
    else snprintf(err, errlen, "%s: not a PNG or JPEG file", name);
    return -1;
}

int image_load(const char *path, image *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
        snprintf(err, errlen, "%s: cannot determine the file size", path);
        fclose(f);
        return -1;
    }
    if ((unsigned long)size > IMAGE_MAX_FILE_BYTES) {
        snprintf(err, errlen, "%s: file is %ld bytes; image files are limited to %u MiB",
                 path, size, IMAGE_MAX_FILE_BYTES >> 20);
        fclose(f);
        return -1;
    }
    uint8_t *buf = malloc(size ? (size_t)size : 1);
    int ok = buf && fread(buf, 1, (size_t)size, f) == (size_t)size;
    fclose(f);
    if (!ok) {
        snprintf(err, errlen, "%s: %s", path, buf ? "read error" : "out of memory");
        free(buf);
        return -1;
    }
    int rc = image_decode(path, buf, (size_t)size, out, err, errlen);
    free(buf);
    return rc;
}
