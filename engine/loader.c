/* loader.c: see loader.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine/janus_names.h"
#include "engine/loader.h"

#define LOAD_CHUNK_BYTES (16u << 20)   /* f32 staging per chunk of rows */
#define FP8_BLOCK 128

int quant_from_name(const char *name, int *quant)
{
    gpu_type t;
    if (strcmp(name, "keep") == 0) {
        *quant = QUANT_KEEP;
        return 0;
    }
    if (gpu_type_from_name(name, &t) || t == GPU_F32 || t == GPU_I32) return -1;
    *quant = (int)t;
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static gpu_type keep_precision(tf_dtype d)
{
    return d == TF_F16 ? GPU_F16 : d == TF_F32 || d == TF_F64 ? GPU_F32 : GPU_BF16;
}

gpu_type load_format(const tf_tensor *t, int quant)
{
    /* Vectors (norms, biases), scalars, position tables and MoE routers (whose ranking
     * must not move) stay f32; convolution kernels keep their precision. */
    if (t->n_dims == 4) return keep_precision(t->dtype);
    if (t->n_dims != 2 || ends_with(t->name, ".mlp.gate.weight") ||
        tf_nelem(t) < 4096)
        return GPU_F32;
    if (quant == QUANT_KEEP) return keep_precision(t->dtype);
    if ((quant == GPU_Q8_0 || quant == GPU_Q4_0) && t->shape[1] % GPU_QBLOCK)
        return keep_precision(t->dtype); /* rows not made of whole blocks */
    return (gpu_type)quant;
}

uint64_t load_device_bytes(const tf_tensor *t, int quant)
{
    int64_t cols = t->n_dims ? t->shape[t->n_dims - 1] : 1;
    return gpu_type_bytes(load_format(t, quant), tf_nelem(t) / (cols ? cols : 1), cols);
}

static float fp8_e4m3(uint8_t b)
{
    int s = b >> 7, e = (b >> 3) & 15, m = b & 7;
    float v = e == 0 ? ldexpf((float)m, -9) : (e == 15 && m == 7) ? NAN : ldexpf(8.0f + m, e - 10);
    return s ? -v : v;
}

/* Element i of a checkpoint tensor as f32. */
static float elem(const tf_tensor *t, const uint8_t *p)
{
    uint16_t h;
    switch (t->dtype) {
    case TF_F32: { float f; memcpy(&f, p, 4); return f; }
    case TF_F64: { double d; memcpy(&d, p, 8); return (float)d; }
    case TF_F16: memcpy(&h, p, 2); return gpu_f16_to_f32(h);
    case TF_BF16: memcpy(&h, p, 2); return gpu_bf16_to_f32(h);
    case TF_F8_E4M3: return fp8_e4m3(*p);
    default: return NAN;
    }
}

/* Byte offset of flat (row-major) element index i under t's strides. */
static uint64_t offset_of(const tf_tensor *t, int64_t i)
{
    uint64_t off = 0;
    for (int d = t->n_dims - 1; d >= 0; d--) {
        off += (uint64_t)(i % t->shape[d]) * (uint64_t)t->strides[d];
        i /= t->shape[d];
    }
    return off * tf_dtype_size(t->dtype);
}

/* Rows [r0, r1) of t (rows = last dimension) as f32 into buf, FP8 scaled by scale_inv. */
static void rows_f32(const tf_tensor *t, const tf_tensor *scale, int64_t cols, int64_t r0,
                     int64_t r1, float *buf)
{
    int contiguous = tf_is_contiguous(t);
    size_t esz = tf_dtype_size(t->dtype);
    int64_t sb = scale ? (cols + FP8_BLOCK - 1) / FP8_BLOCK : 0;
    for (int64_t r = r0; r < r1; r++)
        for (int64_t c = 0; c < cols; c++) {
            int64_t i = r * cols + c;
            const uint8_t *p = t->data + (contiguous ? (uint64_t)i * esz : offset_of(t, i));
            float v = elem(t, p);
            if (scale) {
                float s;
                memcpy(&s, scale->data + 4 * (uint64_t)((r / FP8_BLOCK) * sb + c / FP8_BLOCK), 4);
                v *= s;
            }
            buf[(r - r0) * cols + c] = v;
        }
}

#define MAX_PARTS 4

const tf_tensor *load_find(const checkpoint *c, const char *name)
{
    const tf_tensor *t = ckpt_find(c, name);
    char alt[MAX_PARTS][JANUS_NAME_MAX];
    if (!t && janus_community_names(name, alt, MAX_PARTS) > 0) t = ckpt_find(c, alt[0]);
    return t;
}

/* The checkpoint tensors holding `name`: itself, or (Janus community checkpoints) its
 * renamed copy or the parts whose rows concatenate to it. Number found, 0 if missing. */
static int find_parts(const checkpoint *c, const char *name, const tf_tensor **parts,
                      char *err, size_t errlen)
{
    if ((parts[0] = ckpt_find(c, name))) return 1;
    char alt[MAX_PARTS][JANUS_NAME_MAX];
    int n = janus_community_names(name, alt, MAX_PARTS);
    for (int i = 0; i < n; i++)
        if (!(parts[i] = ckpt_find(c, alt[i]))) n = 0;
    if (n <= 0) {
        snprintf(err, errlen, "checkpoint: tensor '%s' is missing", name);
        return 0;
    }
    for (int i = 1; i < n; i++)
        if (parts[i]->dtype != parts[0]->dtype || parts[i]->n_dims != parts[0]->n_dims ||
            (parts[0]->n_dims == 2 && parts[i]->shape[1] != parts[0]->shape[1])) {
            snprintf(err, errlen, "checkpoint: the parts of '%s' ('%s', '%s') do not stack",
                     name, alt[0], alt[i]);
            return 0;
        }
    return n;
}

/* Uploads parts stacked along their first dimension (one part: the tensor itself). */
static gpu_tensor *upload_parts(gpu_ctx *ctx, const checkpoint *c, const char *name,
                                const tf_tensor **parts, int n_parts, gpu_type type,
                                char *err, size_t errlen);

gpu_tensor *load_tensor(gpu_ctx *ctx, const checkpoint *c, const char *name, gpu_type type,
                        char *err, size_t errlen)
{
    const tf_tensor *parts[MAX_PARTS];
    int n = find_parts(c, name, parts, err, errlen);
    return n ? upload_parts(ctx, c, name, parts, n, type, err, errlen) : NULL;
}

static gpu_tensor *upload_parts(gpu_ctx *ctx, const checkpoint *c, const char *name,
                                const tf_tensor **parts, int n_parts, gpu_type type,
                                char *err, size_t errlen)
{
    const tf_tensor *t = parts[0];
    if (t->dtype != TF_F32 && t->dtype != TF_F16 && t->dtype != TF_BF16 &&
        t->dtype != TF_F8_E4M3 && t->dtype != TF_F64) {
        snprintf(err, errlen, "checkpoint: tensor '%s' is %s, not a floating-point type", name,
                 tf_dtype_name(t->dtype));
        return NULL;
    }
    if (t->n_dims > 4) {
        snprintf(err, errlen, "checkpoint: tensor '%s' has %d dimensions (at most 4)", name,
                 t->n_dims);
        return NULL;
    }
    /* FP8 weights come with block scales: [ceil(rows/128), ceil(cols/128)] f32. */
    const tf_tensor *scale = NULL;
    int64_t cols = t->n_dims ? t->shape[t->n_dims - 1] : 1, rows = tf_nelem(t) / (cols ? cols : 1);
    if (t->dtype == TF_F8_E4M3) {
        char sname[512];
        snprintf(sname, sizeof sname, "%s_scale_inv", name);
        scale = ckpt_find(c, sname);
        if (!scale || t->n_dims != 2 || scale->dtype != TF_F32 || scale->n_dims != 2 ||
            scale->shape[0] != (rows + FP8_BLOCK - 1) / FP8_BLOCK ||
            scale->shape[1] != (cols + FP8_BLOCK - 1) / FP8_BLOCK || !tf_is_contiguous(scale)) {
            snprintf(err, errlen, "checkpoint: FP8 tensor '%s' needs an F32 '%s' of "
                                  "[%lld, %lld] block scales", name, sname,
                     (long long)((rows + FP8_BLOCK - 1) / FP8_BLOCK),
                     (long long)((cols + FP8_BLOCK - 1) / FP8_BLOCK));
            return NULL;
        }
    }
    int64_t ne[4] = {1, 1, 1, 1};
    for (int d = 0; d < t->n_dims; d++) ne[d] = t->shape[t->n_dims - 1 - d];
    if (n_parts > 1) {
        if (t->dtype == TF_F8_E4M3) {
            snprintf(err, errlen, "checkpoint: '%s' comes in FP8 parts: not supported", name);
            return NULL;
        }
        ne[t->n_dims - 1] = 0;
        for (int i = 0; i < n_parts; i++) ne[t->n_dims - 1] += parts[i]->shape[0];
    }
    gpu_tensor *g = gpu_new(ctx, type, ne[0], ne[1], ne[2], ne[3], name);
    if (!g) {
        snprintf(err, errlen, "%s", gpu_errmsg());
        gpu_clear_error(ctx);
        return NULL;
    }
    int direct = tf_is_contiguous(t) && (t->dtype == TF_F32 || t->dtype == TF_F16 ||
                                         t->dtype == TF_BF16);
    int rc = 0, all_parts = n_parts;
    if (direct) {
        /* the mapping converts straight into device layout, part after part */
        gpu_type src = t->dtype == TF_F32 ? GPU_F32 : t->dtype == TF_F16 ? GPU_F16 : GPU_BF16;
        int64_t r0 = 0;
        if (n_parts > 1 && t->n_dims == 1) {
            /* vectors (biases) in parts: one small concatenation */
            uint8_t *cat = malloc(gpu_nelem(g) * tf_dtype_size(t->dtype));
            uint64_t off = 0;
            for (int i = 0; i < n_parts && cat; i++) {
                memcpy(cat + off, parts[i]->data, parts[i]->nbytes);
                off += parts[i]->nbytes;
            }
            rc = cat ? gpu_upload(ctx, g, cat, src) : -1;
            free(cat);
            if (!cat) snprintf(err, errlen, "checkpoint: out of memory for '%s'", name);
            n_parts = 0; /* done */
        }
        for (int i = 0; i < n_parts && rc == 0; i++) {
            int64_t rows_i = tf_nelem(parts[i]) / (cols ? cols : 1);
            if (!tf_is_contiguous(parts[i])) {
                snprintf(err, errlen, "checkpoint: part '%s' of '%s' is not contiguous",
                         parts[i]->name, name);
                gpu_free(ctx, g);
                return NULL;
            }
            rc = gpu_upload_rows(ctx, g, r0, r0 + rows_i, parts[i]->data, src);
            r0 += rows_i;
        }
    } else if (n_parts > 1) {
        snprintf(err, errlen, "checkpoint: '%s' comes in parts that need conversion", name);
        gpu_free(ctx, g);
        return NULL;
    } else {
        int64_t chunk = (int64_t)(LOAD_CHUNK_BYTES / 4 / (uint64_t)(cols ? cols : 1));
        if (chunk < 1) chunk = 1;
        if (scale && chunk > FP8_BLOCK) chunk -= chunk % FP8_BLOCK;
        float *buf = malloc((size_t)(chunk * cols) * sizeof *buf);
        if (!buf) {
            snprintf(err, errlen, "checkpoint: out of memory converting '%s'", name);
            gpu_free(ctx, g);
            return NULL;
        }
        for (int64_t r0 = 0; r0 < rows && rc == 0; r0 += chunk) {
            int64_t r1 = r0 + chunk < rows ? r0 + chunk : rows;
            rows_f32(t, scale, cols, r0, r1, buf);
            rc = gpu_upload_rows(ctx, g, r0, r1, buf, GPU_F32);
        }
        free(buf);
    }
    if (rc) {
        snprintf(err, errlen, "uploading '%s': %s", name, gpu_errmsg());
        gpu_clear_error(ctx);
        gpu_free(ctx, g);
        return NULL;
    }
    /* a file truncated under its mapping read as zeros: refuse what was read */
    int intact = !scale || tf_intact(scale->data, err, errlen);
    for (int i = 0; i < all_parts && intact; i++) intact = tf_intact(parts[i]->data, err, errlen);
    if (!intact) {
        gpu_free(ctx, g);
        return NULL;
    }
    return g;
}

float *load_host_f32(const checkpoint *c, const char *name, int64_t *rows, int64_t *cols,
                     char *err, size_t errlen)
{
    const tf_tensor *t = ckpt_find(c, name);
    if (!t || t->n_dims != 2) {
        snprintf(err, errlen, "checkpoint: tensor '%s' is %s", name, t ? "not 2-D" : "missing");
        return NULL;
    }
    const tf_tensor *scale = NULL;
    if (t->dtype == TF_F8_E4M3) {
        char sname[512];
        snprintf(sname, sizeof sname, "%s_scale_inv", name);
        scale = ckpt_find(c, sname);
        if (!scale || scale->dtype != TF_F32 ||
            scale->shape[0] != (t->shape[0] + FP8_BLOCK - 1) / FP8_BLOCK ||
            scale->shape[1] != (t->shape[1] + FP8_BLOCK - 1) / FP8_BLOCK) {
            snprintf(err, errlen, "checkpoint: FP8 tensor '%s' lacks its block scales", name);
            return NULL;
        }
    } else if (t->dtype != TF_F32 && t->dtype != TF_F16 && t->dtype != TF_BF16) {
        snprintf(err, errlen, "checkpoint: tensor '%s' is %s, not floating point", name,
                 tf_dtype_name(t->dtype));
        return NULL;
    }
    *rows = t->shape[0], *cols = t->shape[1];
    float *out = malloc((size_t)(*rows * *cols) * sizeof *out);
    if (!out) {
        snprintf(err, errlen, "checkpoint: out of memory for '%s'", name);
        return NULL;
    }
    rows_f32(t, scale, *cols, 0, *rows, out);
    if (!tf_intact(t->data, err, errlen) || (scale && !tf_intact(scale->data, err, errlen))) {
        free(out);
        return NULL;
    }
    return out;
}
