/* preprocess.c: see preprocess.h. The resampler follows Pillow's libImaging/Resample.c
 * arithmetic (written from its description, not its code): double-precision bicubic weights
 * (a = -0.5, support widened by the scale when shrinking) normalised per output pixel,
 * turned into 22-bit fixed point, horizontal pass then vertical, each rounded and clipped to
 * uint8. Any change to that order or rounding breaks bit-exactness with the goldens. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vision/preprocess.h"

#define PRECISION_BITS (32 - 8 - 2)

static double bicubic(double x)
{
    const double a = -0.5;
    x = fabs(x);
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
    return 0.0;
}

/* Per output pixel: first input index, tap count, and ksize fixed-point weights. */
typedef struct {
    int ksize;
    int *first, *count;
    int *k;          /* (out_size, ksize) */
} taps;

static void taps_free(taps *t)
{
    free(t->first);
    free(t->count);
    free(t->k);
}

static int taps_build(int in_size, int out_size, taps *t)
{
    double scale = (double)in_size / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 2.0 * filterscale;
    t->ksize = (int)ceil(support) * 2 + 1;
    t->first = malloc(sizeof(int) * out_size);
    t->count = malloc(sizeof(int) * out_size);
    t->k = calloc((size_t)out_size * t->ksize, sizeof(int));
    double *w = malloc(sizeof(double) * t->ksize);
    if (!t->first || !t->count || !t->k || !w) {
        free(w);
        taps_free(t);
        return -1;
    }
    for (int xx = 0; xx < out_size; xx++) {
        double center = (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5), xmax = (int)(center + support + 0.5);
        if (xmin < 0) xmin = 0;
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        for (int x = 0; x < xmax; x++) {
            w[x] = bicubic((x + xmin - center + 0.5) * ss);
            ww += w[x];
        }
        int *k = t->k + (size_t)xx * t->ksize;
        for (int x = 0; x < xmax; x++) {
            double v = ww != 0.0 ? w[x] / ww : w[x];
            /* round half away from zero, as a C cast of v*2^22 +- 0.5 does */
            k[x] = v < 0 ? (int)(-0.5 + v * (1 << PRECISION_BITS))
                         : (int)(0.5 + v * (1 << PRECISION_BITS));
        }
        t->first[xx] = xmin;
        t->count[xx] = xmax;
    }
    free(w);
    return 0;
}

static uint8_t clip8(int v)
{
    if (v >= (1 << PRECISION_BITS << 8)) return 255;
    if (v <= 0) return 0;
    return (uint8_t)(v >> PRECISION_BITS);
}

/* out (w_out x rows) from in rows [row0, row0+rows), resampled along x. */
static void pass_horizontal(const image *in, int row0, const taps *t, image *out)
{
    for (int y = 0; y < out->h; y++) {
        const uint8_t *src = in->rgb + (size_t)(y + row0) * in->w * 3;
        for (int xx = 0; xx < out->w; xx++) {
            const int *k = t->k + (size_t)xx * t->ksize;
            for (int c = 0; c < 3; c++) {
                int ss = 1 << (PRECISION_BITS - 1);
                for (int x = 0; x < t->count[xx]; x++) ss += src[(t->first[xx] + x) * 3 + c] * k[x];
                out->rgb[((size_t)y * out->w + xx) * 3 + c] = clip8(ss);
            }
        }
    }
}

/* out (w x h_out) resampled along y; t->first already relative to in's first row. */
static void pass_vertical(const image *in, const taps *t, image *out)
{
    for (int yy = 0; yy < out->h; yy++) {
        const int *k = t->k + (size_t)yy * t->ksize;
        for (int x = 0; x < out->w * 3; x++) {
            int ss = 1 << (PRECISION_BITS - 1);
            for (int y = 0; y < t->count[yy]; y++)
                ss += in->rgb[(size_t)(t->first[yy] + y) * in->w * 3 + x] * k[y];
            out->rgb[(size_t)yy * out->w * 3 + x] = clip8(ss);
        }
    }
}

int image_resize_bicubic(const image *in, int out_w, int out_h, image *out,
                         char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (image_check_size("resize target", out_w, out_h, err, errlen)) return -1;
    int need_h = out_w != in->w, need_v = out_h != in->h;
    if (!need_h && !need_v) {   /* Pillow returns a copy */
        if (image_alloc(out, in->w, in->h, err, errlen)) return -1;
        memcpy(out->rgb, in->rgb, (size_t)in->w * in->h * 3);
        return 0;
    }
    taps th = {0}, tv = {0};
    image tmp = {0};
    int rc = -1;
    if ((need_h && taps_build(in->w, out_w, &th)) || taps_build(in->h, out_h, &tv)) {
        snprintf(err, errlen, "out of memory resizing to %dx%d", out_w, out_h);
        goto done;
    }
    /* The horizontal pass only covers the rows the vertical pass will read. */
    int row0 = tv.first[0], row1 = tv.first[out_h - 1] + tv.count[out_h - 1];
    const image *src = in;
    if (need_h) {
        for (int i = 0; i < out_h; i++) tv.first[i] -= row0;
        if (image_alloc(&tmp, out_w, row1 - row0, err, errlen)) goto done;
        pass_horizontal(in, row0, &th, &tmp);
        src = &tmp;
    }
    if (need_v) {
        if (image_alloc(out, out_w, out_h, err, errlen)) goto done;
        pass_vertical(src, &tv, out);
    } else {
        *out = tmp;   /* row0 = 0 and row1 = h when the height is unchanged */
        tmp.rgb = NULL;
    }
    rc = 0;
done:
    image_free(&tmp);
    taps_free(&th);
    taps_free(&tv);
    return rc;
}

void janus_target_size(int w, int h, int S, int *out_w, int *out_h)
{
    double m = w > h ? w : h;
    int th = (int)((double)h / m * S), tw = (int)((double)w / m * S);
    *out_h = th > JANUS_MIN_SIDE ? th : JANUS_MIN_SIDE;
    *out_w = tw > JANUS_MIN_SIDE ? tw : JANUS_MIN_SIDE;
}

int janus_resize(const image *in, int S, image *out, char *err, size_t errlen)
{
    int w, h;
    janus_target_size(in->w, in->h, S, &w, &h);
    return image_resize_bicubic(in, w, h, out, err, errlen);
}

int janus_pad_square(const image *in, int S, image *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (in->w > S || in->h > S) {
        snprintf(err, errlen, "cannot pad a %dx%d image into %dx%d", in->w, in->h, S, S);
        return -1;
    }
    if (image_alloc(out, S, S, err, errlen)) return -1;
    memset(out->rgb, JANUS_BACKGROUND, (size_t)S * S * 3);
    int x0 = (S - in->w) / 2, y0 = (S - in->h) / 2;
    for (int y = 0; y < in->h; y++)
        memcpy(out->rgb + ((size_t)(y + y0) * S + x0) * 3, in->rgb + (size_t)y * in->w * 3,
               (size_t)in->w * 3);
    return 0;
}

void janus_normalize(const image *sq, float *pixel_values)
{
    size_t plane = (size_t)sq->w * sq->h;
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < 3; c++) {
            float v = (float)(sq->rgb[i * 3 + c] * (1.0 / 255.0));   /* rescale in float64 */
            pixel_values[c * plane + i] = (v - 0.5f) / 0.5f;
        }
}

int janus_preprocess(const image *in, int S, float *pixel_values, char *err, size_t errlen)
{
    image r, sq;
    if (janus_resize(in, S, &r, err, errlen)) return -1;
    int rc = janus_pad_square(&r, S, &sq, err, errlen);
    image_free(&r);
    if (rc) return -1;
    janus_normalize(&sq, pixel_values);
    image_free(&sq);
    return 0;
}
