/* convert.c: element types, their sizes, and host-side conversion into device layout
 * (f32/f16/bf16 sources into any type; quantisation to Q8_0 and Q4_0). */
#include <math.h>
#include <string.h>
#include "internal.h"

static const char *names[GPU_TYPE_COUNT] = {"f32", "f16", "bf16", "q8_0", "q4_0", "i32"};

const char *gpu_type_name(gpu_type t) { return t < GPU_TYPE_COUNT ? names[t] : "?"; }

int gpu_type_from_name(const char *name, gpu_type *out)
{
    for (int i = 0; i < GPU_TYPE_COUNT; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = (gpu_type)i;
            return 0;
        }
    return -1;
}

uint64_t gpu_type_bytes(gpu_type t, int64_t rows, int64_t cols)
{
    uint64_t n = (uint64_t)rows * (uint64_t)cols;
    switch (t) {
    case GPU_F32: case GPU_I32: return n * 4;
    case GPU_F16: case GPU_BF16: return n * 2;
    case GPU_Q8_0: return n + n / GPU_QBLOCK * 2;
    case GPU_Q4_0: return n / 2 + n / GPU_QBLOCK * 2;
    default: return 0;
    }
}

uint64_t gpu_qscale_offset(gpu_type type, int64_t rows, int64_t cols)
{
    uint64_t q = (uint64_t)rows * (uint64_t)cols / (type == GPU_Q4_0 ? 2 : 1);
    return (q + 255) & ~(uint64_t)255; /* the largest storage offset alignment devices ask */
}

float gpu_f16_to_f32(uint16_t h)
{
    uint32_t s = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, u;
    if (e == 0) {
        if (m == 0) {
            u = s;
        } else { /* subnormal: renormalise */
            e = 113;
            while (!(m & 0x400)) {
                m <<= 1;
                e--;
            }
            u = s | (e << 23) | ((m & 0x3ff) << 13);
        }
    } else if (e == 31) {
        u = s | 0x7f800000 | (m << 13);
    } else {
        u = s | ((e + 112) << 23) | (m << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t gpu_f32_to_f16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t s = (u >> 16) & 0x8000;
    int32_t e = (int32_t)((u >> 23) & 0xff) - 127 + 15;
    uint32_t m = u & 0x7fffff;
    if (((u >> 23) & 0xff) == 0xff) return (uint16_t)(s | 0x7c00 | (m ? 0x200 : 0));
    if (e >= 31) return (uint16_t)(s | 0x7c00);
    if (e <= 0) { /* subnormal or zero, round to nearest even */
        if (e < -10) return (uint16_t)s;
        m |= 0x800000;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = 1u << (shift - 1), rest = m & ((1u << shift) - 1);
        uint32_t v = m >> shift;
        if (rest > half || (rest == half && (v & 1))) v++;
        return (uint16_t)(s | v);
    }
    uint32_t v = ((uint32_t)e << 10) | (m >> 13), rest = m & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (v & 1))) v++; /* may carry into inf: correct */
    return (uint16_t)(s | v);
}

float gpu_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t gpu_f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffff) > 0x7f800000) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fff + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

/* Element i of src as f32. Checkpoint data need not be aligned: read with memcpy. */
static float load(const void *src, gpu_type t, uint64_t i)
{
    const uint8_t *p = src;
    uint16_t h;
    int32_t n;
    float f;
    switch (t) {
    case GPU_F16: memcpy(&h, p + 2 * i, 2); return gpu_f16_to_f32(h);
    case GPU_BF16: memcpy(&h, p + 2 * i, 2); return gpu_bf16_to_f32(h);
    case GPU_I32: memcpy(&n, p + 4 * i, 4); return (float)n;
    default: memcpy(&f, p + 4 * i, 4); return f;
    }
}

/* n elements of src from index first, as f32; the type switch outside the loop. */
static void to_f32(float *out, const void *src, gpu_type t, uint64_t first, uint64_t n)
{
    const uint8_t *p = src;
    uint16_t h;
    switch (t) {
    case GPU_F16:
        for (uint64_t i = 0; i < n; i++) memcpy(&h, p + 2 * (first + i), 2), out[i] = gpu_f16_to_f32(h);
        break;
    case GPU_BF16:
        for (uint64_t i = 0; i < n; i++) memcpy(&h, p + 2 * (first + i), 2), out[i] = gpu_bf16_to_f32(h);
        break;
    case GPU_I32:
        for (uint64_t i = 0; i < n; i++) out[i] = load(src, t, first + i);
        break;
    default: memcpy(out, p + 4 * first, 4 * n); break;
    }
}

/* Q8_0: d = max|x| / 127, q = round(x / d). */
static void quant_q8(int8_t *q, uint16_t *s, const float *x)
{
    float amax = 0;
    for (int i = 0; i < GPU_QBLOCK; i++) amax = fmaxf(amax, fabsf(x[i]));
    float d = amax / 127.0f, id = d ? 1.0f / d : 0.0f;
    for (int i = 0; i < GPU_QBLOCK; i++) { /* round half away from zero, as roundf, inline */
        float v = x[i] * id;
        q[i] = (int8_t)(v + (v >= 0 ? 0.5f : -0.5f));
    }
    *s = gpu_f32_to_f16(d);
}

/* Q4_0: d = m / -8 with m the value of largest magnitude, q = clamp(round(x/d) + 8, 0, 15);
 * byte j holds element j in its low nibble and element j + 16 in its high nibble. */
static void quant_q4(uint8_t *q, uint16_t *s, const float *x)
{
    float amax = 0, m = 0;
    for (int i = 0; i < GPU_QBLOCK; i++)
        if (fabsf(x[i]) > amax) {
            amax = fabsf(x[i]);
            m = x[i];
        }
    float d = m / -8.0f, id = d ? 1.0f / d : 0.0f;
    for (int j = 0; j < GPU_QBLOCK / 2; j++) {
        int lo = (int)(x[j] * id + 8.5f), hi = (int)(x[j + 16] * id + 8.5f);
        lo = lo < 0 ? 0 : lo > 15 ? 15 : lo;
        hi = hi < 0 ? 0 : hi > 15 ? 15 : hi;
        q[j] = (uint8_t)(lo | (hi << 4));
    }
    *s = gpu_f32_to_f16(d);
}

void gpu_convert_rows(gpu_type dst, void *q, void *s, const void *src, gpu_type src_type,
                      int64_t cols, int64_t r0, int64_t r1)
{
    uint64_t first = (uint64_t)r0 * (uint64_t)cols, n = (uint64_t)(r1 - r0) * (uint64_t)cols;
    if (dst == src_type && dst != GPU_Q8_0 && dst != GPU_Q4_0) {
        memcpy(q, (const uint8_t *)src + first * (dst == GPU_F16 || dst == GPU_BF16 ? 2 : 4),
               n * (dst == GPU_F16 || dst == GPU_BF16 ? 2 : 4));
        return;
    }
    /* Through a small f32 buffer: one type switch per 256 elements, not per element. */
    float x[256];
    for (uint64_t i = 0; i < n; i += 256) {
        uint64_t m = n - i < 256 ? n - i : 256;
        to_f32(x, src, src_type, first + i, m);
        for (uint64_t j = 0; j < m; j += (dst == GPU_Q8_0 || dst == GPU_Q4_0) ? GPU_QBLOCK : 1) {
            uint64_t k = i + j;
            switch (dst) {
            case GPU_F32: ((float *)q)[k] = x[j]; break;
            case GPU_I32: ((int32_t *)q)[k] = (int32_t)x[j]; break;
            case GPU_F16: ((uint16_t *)q)[k] = gpu_f32_to_f16(x[j]); break;
            case GPU_BF16: ((uint16_t *)q)[k] = gpu_f32_to_bf16(x[j]); break;
            case GPU_Q8_0: quant_q8((int8_t *)q + k, (uint16_t *)s + k / GPU_QBLOCK, x + j); break;
            case GPU_Q4_0: quant_q4((uint8_t *)q + k / 2, (uint16_t *)s + k / GPU_QBLOCK, x + j); break;
            default: break;
            }
        }
    }
}
