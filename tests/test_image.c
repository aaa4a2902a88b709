/* test_image.c: picture input and output without a GPU. PNG and JPEG variants are written here
 * with libpng/libjpeg and must decode to the pixels they were made from; EXIF orientations
 * must put the corners where the EXIF spec says; the Janus preprocessing must reproduce the
 * official goldens (golden/janus/image_preprocess); hostile input and failed writes must give
 * one-line errors and leave no file behind. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <jpeglib.h>
#include <math.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "gallery/image_write.h"
#include "npy.h"
#include "vision/image.h"
#include "vision/preprocess.h"

static char dir[256];     /* fresh scratch directory */
static char err[512];
static uint32_t rng = 12345;

static uint8_t rnd8(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return (uint8_t)(rng >> 11);
}

static const char *tmp_path(const char *name)
{
    static char p[4][512];
    static int i;
    i = (i + 1) % 4;
    snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
    return p[i];
}

static int count_files(const char *d)
{
    DIR *dp = opendir(d);
    int n = 0;
    for (struct dirent *e; dp && (e = readdir(dp));) n += e->d_name[0] != '.';
    if (dp) closedir(dp);
    return n;
}

static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(p, 1, n, f);
        fclose(f);
    }
}

static uint8_t *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*n + 1);
    if (b && fread(b, 1, *n, f) != *n) *n = 0;
    fclose(f);
    return b;
}

/* ---- PNG writer for the variants: rows of raw samples as the colour type lays them out ---- */
static void make_png(const char *path, int w, int h, int depth, int type, const uint8_t *raw,
                     const png_color *pal, int n_pal, const uint8_t *trns, int n_trns, int interlace)
{
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        check(0, "test PNG writer failed for %s", path);
        png_destroy_write_struct(&png, &info);
        fclose(f);
        return;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, w, h, depth, type, interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (pal) png_set_PLTE(png, info, pal, n_pal);
    if (trns) png_set_tRNS(png, info, trns, n_trns, NULL);
    png_write_info(png, info);
    size_t rb = png_get_rowbytes(png, info);
    png_bytep *rows = malloc(sizeof *rows * h);
    for (int y = 0; y < h; y++) rows[y] = (png_bytep)raw + (size_t)y * rb;
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    fclose(f);
}

/* Decodes path and compares with want (w x h RGB); tol = largest allowed |difference|. */
static void expect_pixels(const char *what, const char *path, const uint8_t *want, int w, int h,
                          int tol)
{
    image im;
    if (!check(image_load(path, &im, err, sizeof err) == 0, "%s: decode failed: %s", what, err))
        return;
    if (check(im.w == w && im.h == h, "%s: size %dx%d, want %dx%d", what, im.w, im.h, w, h)) {
        int worst = 0;
        size_t at = 0;
        for (size_t i = 0; i < (size_t)w * h * 3; i++) {
            int d = abs(im.rgb[i] - want[i]);
            if (d > worst) worst = d, at = i;
        }
        check(worst <= tol, "%s: worst |diff| %d > %d at pixel %zu channel %zu (want %d, got %d)",
              what, worst, tol, at / 3, at % 3, want[at], im.rgb[at]);
    }
    image_free(&im);
}

static void test_png_variants(void)
{
    enum { W = 13, H = 7 };   /* odd sizes exercise row padding and Adam7 passes */
    uint8_t rgb[W * H * 3], raw[W * H * 8], want[W * H * 3];
    for (int i = 0; i < W * H * 3; i++) rgb[i] = rnd8();

    make_png(tmp_path("rgb8.png"), W, H, 8, PNG_COLOR_TYPE_RGB, rgb, NULL, 0, NULL, 0, 0);
    expect_pixels("PNG RGB 8-bit", tmp_path("rgb8.png"), rgb, W, H, 0);
    make_png(tmp_path("adam7.png"), W, H, 8, PNG_COLOR_TYPE_RGB, rgb, NULL, 0, NULL, 0, 1);
    expect_pixels("PNG RGB interlaced", tmp_path("adam7.png"), rgb, W, H, 0);

    for (int i = 0; i < W * H; i++) {   /* RGBA: alpha dropped, colour kept as stored */
        memcpy(raw + i * 4, rgb + i * 3, 3);
        raw[i * 4 + 3] = rnd8();
    }
    make_png(tmp_path("rgba8.png"), W, H, 8, PNG_COLOR_TYPE_RGBA, raw, NULL, 0, NULL, 0, 0);
    expect_pixels("PNG RGBA 8-bit", tmp_path("rgba8.png"), rgb, W, H, 0);

    for (int i = 0; i < W * H * 3; i++) {   /* 16-bit RGB big-endian: the high byte survives */
        raw[i * 2] = rgb[i];
        raw[i * 2 + 1] = rnd8();
    }
    make_png(tmp_path("rgb16.png"), W, H, 16, PNG_COLOR_TYPE_RGB, raw, NULL, 0, NULL, 0, 0);
    expect_pixels("PNG RGB 16-bit", tmp_path("rgb16.png"), rgb, W, H, 0);

    for (int i = 0; i < W * H; i++) {
        raw[i] = rgb[i * 3];
        memset(want + i * 3, rgb[i * 3], 3);
    }
    make_png(tmp_path("gray8.png"), W, H, 8, PNG_COLOR_TYPE_GRAY, raw, NULL, 0, NULL, 0, 0);
    expect_pixels("PNG gray 8-bit", tmp_path("gray8.png"), want, W, H, 0);
    for (int i = 0; i < W * H; i++) {
        raw[i * 2] = rgb[i * 3];
        raw[i * 2 + 1] = rnd8();
    }
    make_png(tmp_path("ga8.png"), W, H, 8, PNG_COLOR_TYPE_GRAY_ALPHA, raw, NULL, 0, NULL, 0, 0);
    expect_pixels("PNG gray+alpha 8-bit", tmp_path("ga8.png"), want, W, H, 0);
    make_png(tmp_path("gray16.png"), W, H, 16, PNG_COLOR_TYPE_GRAY, raw, NULL, 0, NULL, 0, 0);
    expect_pixels("PNG gray 16-bit", tmp_path("gray16.png"), want, W, H, 0);

    /* 1-bit gray: 0 -> black, 1 -> white */
    int rb1 = (W + 7) / 8;
    memset(raw, 0, sizeof raw);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int bit = (x + y) & 1;
            raw[y * rb1 + x / 8] |= (uint8_t)(bit << (7 - x % 8));
            memset(want + (y * W + x) * 3, bit ? 255 : 0, 3);
        }
    make_png(tmp_path("gray1.png"), W, H, 1, PNG_COLOR_TYPE_GRAY, raw, NULL, 0, NULL, 0, 0);
    expect_pixels("PNG gray 1-bit", tmp_path("gray1.png"), want, W, H, 0);

    /* palettes, 8-bit with tRNS and 4-bit packed */
    png_color pal[16];
    uint8_t trns[16];
    for (int i = 0; i < 16; i++) {
        pal[i] = (png_color){rnd8(), rnd8(), rnd8()};
        trns[i] = (uint8_t)(i * 17);
    }
    for (int i = 0; i < W * H; i++) {
        raw[i] = (uint8_t)(rnd8() % 16);
        want[i * 3] = pal[raw[i]].red, want[i * 3 + 1] = pal[raw[i]].green;
        want[i * 3 + 2] = pal[raw[i]].blue;
    }
    make_png(tmp_path("pal8.png"), W, H, 8, PNG_COLOR_TYPE_PALETTE, raw, pal, 16, trns, 16, 0);
    expect_pixels("PNG palette 8-bit + tRNS", tmp_path("pal8.png"), want, W, H, 0);
    uint8_t packed[H * ((W + 1) / 2)];
    memset(packed, 0, sizeof packed);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            packed[y * ((W + 1) / 2) + x / 2] |= (uint8_t)(raw[y * W + x] << (x % 2 ? 0 : 4));
    make_png(tmp_path("pal4.png"), W, H, 4, PNG_COLOR_TYPE_PALETTE, packed, pal, 16, NULL, 0, 0);
    expect_pixels("PNG palette 4-bit", tmp_path("pal4.png"), want, W, H, 0);
}

/* ---- JPEG writer for the variants ---- */
static void make_jpeg(const char *path, int w, int h, int comps, J_COLOR_SPACE cs, const uint8_t *px,
                      int quality, int progressive, int orientation)
{
    FILE *f = fopen(path, "wb");
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = w;
    c.image_height = h;
    c.input_components = comps;
    c.in_color_space = cs;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    if (progressive) jpeg_simple_progression(&c);
    for (int i = 0; i < c.num_components; i++)   /* 4:4:4 so colour blocks stay sharp */
        c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
    jpeg_start_compress(&c, TRUE);
    if (orientation) {   /* APP1: "Exif\0\0", big-endian TIFF header, IFD0 with one entry */
        uint8_t app1[] = {'E', 'x', 'i', 'f', 0, 0, 'M', 'M', 0, 42, 0, 0, 0, 8,
                          0, 1,                       /* one entry */
                          0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, (uint8_t)orientation, 0, 0,
                          0, 0, 0, 0};                /* no next IFD */
        jpeg_write_marker(&c, JPEG_APP0 + 1, app1, sizeof app1);
    }
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)px + (size_t)c.next_scanline * w * comps;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(f);
}

static void test_jpeg_variants(void)
{
    enum { W = 40, H = 24 };
    uint8_t rgb[W * H * 3], gray[W * H], want[W * H * 3];
    for (int y = 0; y < H; y++)   /* smooth gradients: JPEG keeps them within a few levels */
        for (int x = 0; x < W; x++) {
            uint8_t *p = rgb + (y * W + x) * 3;
            p[0] = (uint8_t)(x * 6), p[1] = (uint8_t)(y * 10), p[2] = (uint8_t)(200 - x * 2 - y * 3);
            gray[y * W + x] = (uint8_t)(x * 3 + y * 4);
            memset(want + (y * W + x) * 3, gray[y * W + x], 3);
        }
    make_jpeg(tmp_path("base.jpg"), W, H, 3, JCS_RGB, rgb, 95, 0, 0);
    expect_pixels("JPEG baseline", tmp_path("base.jpg"), rgb, W, H, 8);
    make_jpeg(tmp_path("prog.jpg"), W, H, 3, JCS_RGB, rgb, 95, 1, 0);
    expect_pixels("JPEG progressive", tmp_path("prog.jpg"), rgb, W, H, 8);
    make_jpeg(tmp_path("gray.jpg"), W, H, 1, JCS_GRAYSCALE, gray, 95, 0, 0);
    expect_pixels("JPEG grayscale", tmp_path("gray.jpg"), want, W, H, 4);

    /* CMYK, Adobe-inverted (stored = 255 - ink): flat 8x8-aligned blocks of known colour */
    enum { CW = 32, CH = 16 };
    uint8_t cmyk[CW * CH * 4], cwant[CW * CH * 3];
    const uint8_t ink[4][4] = {{0, 255, 255, 0},     /* red */
                               {0, 0, 0, 0},         /* white */
                               {0, 0, 0, 255},       /* black */
                               {255, 0, 255, 128}};  /* dark green */
    const uint8_t rgb_of[4][3] = {{255, 0, 0}, {255, 255, 255}, {0, 0, 0}, {0, 127, 0}};
    for (int y = 0; y < CH; y++)
        for (int x = 0; x < CW; x++) {
            int b = x / 8;
            for (int k = 0; k < 4; k++) cmyk[(y * CW + x) * 4 + k] = (uint8_t)(255 - ink[b][k]);
            memcpy(cwant + (y * CW + x) * 3, rgb_of[b], 3);
        }
    make_jpeg(tmp_path("cmyk.jpg"), CW, CH, 4, JCS_CMYK, cmyk, 100, 0, 0);
    expect_pixels("JPEG CMYK (Adobe inverted)", tmp_path("cmyk.jpg"), cwant, CW, CH, 3);
}

/* Six 16x16 blocks (3 wide, 2 high) of distinct colours; after orientation o the source's
 * top-left and top-right blocks must sit in the output corners the EXIF spec names. */
static void test_exif_orientation(void)
{
    enum { B = 16, W = 3 * B, H = 2 * B };
    const uint8_t col[6][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255},
                               {255, 255, 0}, {0, 255, 255}, {255, 0, 255}};
    uint8_t px[W * H * 3];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) memcpy(px + (y * W + x) * 3, col[(y / B) * 3 + x / B], 3);
    /* corner of the output that holds the source's TL and TR block: 0 TL, 1 TR, 2 BL, 3 BR */
    const int tl_at[9] = {0, 0, 1, 3, 2, 0, 1, 3, 2}, tr_at[9] = {0, 1, 0, 2, 3, 2, 3, 1, 0};
    for (int o = 1; o <= 8; o++) {
        char name[32];
        snprintf(name, sizeof name, "exif%d.jpg", o);
        make_jpeg(tmp_path(name), W, H, 3, JCS_RGB, px, 100, 0, o);
        image im;
        if (!check(image_load(tmp_path(name), &im, err, sizeof err) == 0, "EXIF %d: %s", o, err))
            continue;
        int ow = o >= 5 ? H : W, oh = o >= 5 ? W : H;
        if (check(im.w == ow && im.h == oh, "EXIF %d: size %dx%d, want %dx%d", o, im.w, im.h, ow, oh)) {
            for (int which = 0; which < 2; which++) {
                int corner = which ? tr_at[o] : tl_at[o];
                int x = corner & 1 ? ow - 4 : 3, y = corner & 2 ? oh - 4 : 3;
                const uint8_t *p = im.rgb + ((size_t)y * ow + x) * 3, *c = col[which ? 2 : 0];
                check(abs(p[0] - c[0]) < 16 && abs(p[1] - c[1]) < 16 && abs(p[2] - c[2]) < 16,
                      "EXIF %d: source %s block not at output corner %d (got %d,%d,%d)", o,
                      which ? "top-right" : "top-left", corner, p[0], p[1], p[2]);
            }
        }
        image_free(&im);
    }
}

/* Compares im (h, w, 3) with a u1 golden; exact unless tol > 0. */
static void expect_golden_u8(const char *what, const image *im, const char *path)
{
    npy a;
    if (!check(npy_load(path, &a) == 0, "%s: cannot read %s", what, path)) return;
    if (check(a.n_dims == 3 && a.shape[0] == im->h && a.shape[1] == im->w && a.shape[2] == 3,
              "%s: golden shape (%lld, %lld, %lld) vs image %dx%d", what, (long long)a.shape[0],
              (long long)a.shape[1], (long long)a.shape[2], im->w, im->h)) {
        int worst = 0;
        int64_t at = 0;
        for (int64_t i = 0; i < a.n; i++) {
            int d = abs(im->rgb[i] - (int)a.f[i]);
            if (d > worst) worst = d, at = i;
        }
        check(worst == 0, "%s: not exact: worst |diff| %d at y=%lld x=%lld c=%lld (want %d, got %d)",
              what, worst, (long long)(at / 3 / im->w), (long long)(at / 3 % im->w),
              (long long)(at % 3), (int)a.f[at], im->rgb[at]);
    }
    npy_free(&a);
}

static void test_janus_preprocess_matches_official_goldens(void)
{
    const char *names[] = {"landscape_100x60", "portrait_60x100", "small_24x20", "square_64x64"};
    enum { S = 64 };
    for (int i = 0; i < 4; i++) {
        char p[256], what[128];
        const char *g = "golden/janus/image_preprocess/";
        image in, r, sq;
        snprintf(p, sizeof p, "%s%s.png", g, names[i]);
        if (!check(image_load(p, &in, err, sizeof err) == 0, "%s", err)) continue;
        snprintf(what, sizeof what, "%s input", names[i]);
        snprintf(p, sizeof p, "%s%s_input_uint8.npy", g, names[i]);
        expect_golden_u8(what, &in, p);
        if (check(janus_resize(&in, S, &r, err, sizeof err) == 0, "%s", err)) {
            snprintf(what, sizeof what, "%s resized (Pillow BICUBIC)", names[i]);
            snprintf(p, sizeof p, "%s%s_resized_uint8.npy", g, names[i]);
            expect_golden_u8(what, &r, p);
            if (check(janus_pad_square(&r, S, &sq, err, sizeof err) == 0, "%s", err)) {
                snprintf(what, sizeof what, "%s padded", names[i]);
                snprintf(p, sizeof p, "%s%s_padded_uint8.npy", g, names[i]);
                expect_golden_u8(what, &sq, p);
                image_free(&sq);
            }
            image_free(&r);
        }
        float pv[3 * S * S];
        npy a;
        snprintf(p, sizeof p, "%s%s_pixel_values.npy", g, names[i]);
        if (check(janus_preprocess(&in, S, pv, err, sizeof err) == 0, "%s", err) &&
            check(npy_load(p, &a) == 0 && a.n == 3 * S * S, "%s: bad golden", p)) {
            double worst = 0;
            int at = 0;
            for (int k = 0; k < 3 * S * S; k++)
                if (fabsf(pv[k] - a.f[k]) > worst) worst = fabsf(pv[k] - a.f[k]), at = k;
            check(worst <= 1e-6, "%s pixel_values: worst |diff| %g at %d (want %.8f, got %.8f)",
                  names[i], worst, at, a.f[at], pv[at]);
            npy_free(&a);
        }
        image_free(&in);
    }
    int w, h;   /* the real size: int() truncation and the 14-pixel floor */
    janus_target_size(1000, 600, 384, &w, &h);
    check(w == 384 && h == 230, "1000x600 -> %dx%d, want 384x230", w, h);
    janus_target_size(2000, 10, 384, &w, &h);
    check(w == 384 && h == 14, "2000x10 -> %dx%d, want 384x14", w, h);
}

static void test_write_round_trips(void)
{
    image im;
    if (image_alloc(&im, 37, 21, err, sizeof err)) return;
    for (int y = 0; y < im.h; y++)
        for (int x = 0; x < im.w; x++) {
            uint8_t *p = im.rgb + (y * im.w + x) * 3;
            p[0] = (uint8_t)(x * 7), p[1] = (uint8_t)(y * 12), p[2] = (uint8_t)(x * 3 + y * 5);
        }
    const image_meta meta[] = {{"prompt", "a red fox in snow, \"watercolour\" — 雪"},
                               {"seed", "42"}, {"cfg", "5"}, {"temperature", "1.0"},
                               {"model", "Janus-Pro-1B"}};
    image_write_opts o = {.meta = meta, .n_meta = 5};
    const char *png = tmp_path("out.png");
    if (check(image_write(png, &im, &o, err, sizeof err) == 0, "PNG write: %s", err)) {
        expect_pixels("PNG round trip", png, im.rgb, im.w, im.h, 0);
        image_text t;
        if (check(image_read_png_text(png, &t, err, sizeof err) == 0, "PNG text: %s", err)) {
            int found = 0;
            for (int i = 0; i < 5; i++)
                for (int k = 0; k < t.n; k++)
                    found += !strcmp(t.keys[k], meta[i].key) && !strcmp(t.values[k], meta[i].value);
            check(t.n == 5 && found == 5, "PNG text: %d chunks, %d of 5 key/values match", t.n, found);
            image_text_free(&t);
        }
        check(image_write(png, &im, NULL, err, sizeof err) == 0, "PNG overwrite: %s", err);
    }
    const char *jpg = tmp_path("out.JPEG");
    if (check(image_write(jpg, &im, NULL, err, sizeof err) == 0, "JPEG write: %s", err))
        expect_pixels("JPEG round trip (quality 92)", jpg, im.rgb, im.w, im.h, 24);
    image_write_opts q = {.quality = 100};
    if (check(image_write(tmp_path("q100.jpg"), &im, &q, err, sizeof err) == 0, "JPEG q100: %s", err))
        expect_pixels("JPEG round trip (quality 100)", tmp_path("q100.jpg"), im.rgb, im.w, im.h, 12);
    check(count_files(dir) > 0 && access(tmp_path("out.png"), F_OK) == 0, "written files exist");

    /* failures: an error naming the file, and no file (final or temporary) left behind */
    char sub[300];
    snprintf(sub, sizeof sub, "%s/w", dir);
    mkdir(sub, 0755);
    char p[400];
    snprintf(p, sizeof p, "%s/picture.bmp", sub);
    check(image_write(p, &im, NULL, err, sizeof err) == -1 && strstr(err, "picture.bmp"),
          "unknown extension refused (%s)", err);
    snprintf(p, sizeof p, "%s/missing/picture.png", sub);
    check(image_write(p, &im, NULL, err, sizeof err) == -1 && strstr(err, "picture.png"),
          "missing directory refused (%s)", err);
    q.quality = 101;
    snprintf(p, sizeof p, "%s/picture.jpg", sub);
    check(image_write(p, &im, &q, err, sizeof err) == -1, "JPEG quality 101 refused");
    const image_meta bad = {"bad\nkey", "x"};
    image_write_opts ob = {.meta = &bad, .n_meta = 1};
    snprintf(p, sizeof p, "%s/picture.png", sub);
    check(image_write(p, &im, &ob, err, sizeof err) == -1, "bad tEXt keyword refused");
    if (geteuid() != 0) {   /* root ignores directory permissions */
        chmod(sub, 0555);
        check(image_write(p, &im, NULL, err, sizeof err) == -1, "read-only directory refused");
        chmod(sub, 0755);
    }
    /* A write that fails half-way: the file size limit cuts the PNG off mid-stream. */
    image big;
    if (image_alloc(&big, 256, 256, err, sizeof err) == 0) {
        for (size_t i = 0; i < (size_t)256 * 256 * 3; i++) big.rgb[i] = rnd8();
        struct rlimit old, lim;
        getrlimit(RLIMIT_FSIZE, &old);
        lim = old;
        lim.rlim_cur = 4096;
        signal(SIGXFSZ, SIG_IGN);
        if (setrlimit(RLIMIT_FSIZE, &lim) == 0) {
            int rc = image_write(p, &big, NULL, err, sizeof err);
            setrlimit(RLIMIT_FSIZE, &old);
            check(rc == -1 && strstr(err, "picture.png"), "write cut off by the size limit fails (%s)",
                  rc ? err : "succeeded");
            snprintf(p, sizeof p, "%s/picture.jpg", sub);
            setrlimit(RLIMIT_FSIZE, &lim);
            rc = image_write(p, &big, NULL, err, sizeof err);
            setrlimit(RLIMIT_FSIZE, &old);
            check(rc == -1, "JPEG write cut off by the size limit fails");
        }
        image_free(&big);
    }
    check(count_files(sub) == 0, "failed writes left %d files behind", count_files(sub));
    rmdir(sub);
    image_free(&im);
}

static uint32_t crc32_png(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return ~c;
}

static void expect_refused(const char *what, const uint8_t *data, size_t n, const char *needle)
{
    image im;
    int rc = image_decode("upload.bin", data, n, &im, err, sizeof err);
    check(rc == -1 && im.rgb == NULL && strstr(err, "upload.bin") && (!needle || strstr(err, needle)),
          "%s: rc %d, error '%s' (want it to mention '%s')", what, rc, err, needle ? needle : "");
}

static void test_bad_input(void)
{
    expect_refused("empty", NULL, 0, "empty");
    uint8_t junk[300];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = rnd8();
    junk[0] = 'x';
    expect_refused("random bytes", junk, sizeof junk, "not a PNG or JPEG");
    write_bytes(tmp_path("empty.png"), "", 0);
    image im;
    check(image_load(tmp_path("empty.png"), &im, err, sizeof err) == -1 && strstr(err, "empty.png"),
          "empty file refused (%s)", err);
    check(image_load(tmp_path("nope.png"), &im, err, sizeof err) == -1, "missing file refused");

    size_t n;
    uint8_t *b = read_bytes(tmp_path("rgb8.png"), &n);
    if (b) {
        expect_refused("truncated PNG", b, n / 2, "PNG");
        expect_refused("PNG without IEND", b, n - 12, "PNG");
        b[n / 2] ^= 0x55;   /* CRC mismatch in image data */
        expect_refused("corrupt PNG", b, n, "PNG");
        free(b);
    }
    b = read_bytes(tmp_path("prog.jpg"), &n);
    if (b) {
        expect_refused("truncated progressive JPEG", b, n * 2 / 3, "JPEG");
        expect_refused("JPEG header only", b, 40, "JPEG");
        free(b);
    }
    b = read_bytes(tmp_path("base.jpg"), &n);
    if (b) {
        expect_refused("truncated baseline JPEG", b, n - 40, "JPEG");
        free(b);
    }

    /* IHDR claiming 100000x100000 (valid CRC): refused from the header alone */
    uint8_t hdr[8 + 25] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
    const uint32_t side[] = {100000, 100000};
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 4; k++) hdr[16 + i * 4 + k] = (uint8_t)(side[i] >> (24 - 8 * k));
    hdr[24] = 8, hdr[25] = 2;   /* 8-bit RGB */
    uint32_t crc = crc32_png(hdr + 12, 17);
    for (int k = 0; k < 4; k++) hdr[29 + k] = (uint8_t)(crc >> (24 - 8 * k));
    expect_refused("PNG header claiming 100000x100000", hdr, sizeof hdr, "100000x100000");
    hdr[16 + 3] = 0, hdr[16 + 2] = 0, hdr[16 + 1] = 0;   /* width 0 */
    crc = crc32_png(hdr + 12, 17);
    for (int k = 0; k < 4; k++) hdr[29 + k] = (uint8_t)(crc >> (24 - 8 * k));
    expect_refused("PNG header claiming width 0", hdr, sizeof hdr, "no pixels");
    check(image_check_size("x", 16384, 6103, err, sizeof err) == 0, "16384x6103 allowed");
    check(image_check_size("x", 16385, 1, err, sizeof err) == -1, "16385 wide refused");
    check(image_check_size("x", 12000, 9000, err, sizeof err) == -1, "108 megapixels refused");
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_image.XXXXXX");
    if (!mkdtemp(dir)) {
        printf("test_image: cannot create a scratch directory: %s\n", strerror(errno));
        return 1;
    }
    test_png_variants();
    test_jpeg_variants();
    test_exif_orientation();
    test_janus_preprocess_matches_official_goldens();
    test_write_round_trips();
    test_bad_input();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("test_image: could not remove %s\n", dir);
    return check_finish("test_image");
}
