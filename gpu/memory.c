/* memory.c: device allocations and tensors, uploads and read-backs.
 * On shared-memory devices (lavapipe, integrated GPUs) tensors live in host-visible device
 * memory written in place; elsewhere transfers go through one staging buffer, in chunks,
 * so host memory stays bounded whatever the tensor's size. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "internal.h"

#define STAGING_BYTES (64u << 20)

struct gpu_mem *gpu_mem_new(gpu_ctx *ctx, uint64_t size, int host_visible)
{
    struct gpu_mem *m = calloc(1, sizeof *m);
    if (!m) {
        gpu_fail(ctx, "out of host memory");
        return NULL;
    }
    size = (size + 15) & ~(uint64_t)15;
    if (size == 0) size = 16;
    m->size = size;
    m->refs = 1;
    VkBufferCreateInfo bci = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = size,
        .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                 VK_BUFFER_USAGE_TRANSFER_DST_BIT,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    VkResult r = vkCreateBuffer(ctx->dev, &bci, NULL, &m->buf);
    if (r != VK_SUCCESS) {
        gpu_fail(ctx, "vkCreateBuffer(%llu bytes) failed: %s", (unsigned long long)size,
                 gpu_vkresult(r));
        free(m);
        return NULL;
    }
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(ctx->dev, m->buf, &req);
    /* Tensors: shared memory on UMA devices, device-local elsewhere; staging buffers:
     * host-visible and coherent. */
    int mapped = ctx->uma || host_visible;
    VkMemoryPropertyFlags want =
        ctx->uma ? GPU_MEM_SHARED
        : host_visible ? VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
                       : VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
    int type = gpu_memory_type(ctx, req.memoryTypeBits, want);
    if (type < 0) {
        gpu_fail(ctx, "no suitable memory type for a %llu-byte buffer", (unsigned long long)size);
        vkDestroyBuffer(ctx->dev, m->buf, NULL);
        free(m);
        return NULL;
    }
    VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                .allocationSize = req.size,
                                .memoryTypeIndex = (uint32_t)type};
    /* $VKSEEK_DEVICE_MEMORY makes the device smaller than it is, so the out-of-memory
     * paths can be tested (and a run can be held to a budget) */
    r = ctx->mem_limit && req.size > ctx->mem_limit - ctx->mem_in_use
            ? VK_ERROR_OUT_OF_DEVICE_MEMORY
            : vkAllocateMemory(ctx->dev, &mai, NULL, &m->mem);
    if (r != VK_SUCCESS) {
        gpu_fail(ctx, "device memory: allocating %.1f MiB (with %.1f MiB in use) failed: %s",
                 req.size / 1048576.0, ctx->mem_in_use / 1048576.0, gpu_vkresult(r));
        vkDestroyBuffer(ctx->dev, m->buf, NULL);
        free(m);
        return NULL;
    }
    m->bytes = req.size;
    ctx->mem_in_use += m->bytes;
    if (ctx->mem_in_use > ctx->mem_peak) ctx->mem_peak = ctx->mem_in_use;
    r = vkBindBufferMemory(ctx->dev, m->buf, m->mem, 0);
    if (r == VK_SUCCESS && mapped) r = vkMapMemory(ctx->dev, m->mem, 0, VK_WHOLE_SIZE, 0,
                                                   (void **)&m->map);
    if (r != VK_SUCCESS) {
        gpu_fail(ctx, "binding/mapping a %llu-byte buffer failed: %s",
                 (unsigned long long)size, gpu_vkresult(r));
        gpu_mem_unref(ctx, m);
        return NULL;
    }
    return m;
}

void gpu_mem_unref(gpu_ctx *ctx, struct gpu_mem *m)
{
    if (!m || --m->refs > 0) return;
    if (ctx->recording) gpu_sync(ctx); /* the stream may still use it */
    if (m->map) vkUnmapMemory(ctx->dev, m->mem);
    if (m->buf) vkDestroyBuffer(ctx->dev, m->buf, NULL);
    if (m->mem) vkFreeMemory(ctx->dev, m->mem, NULL);
    ctx->mem_in_use -= m->bytes;
    free(m);
}

static int is_quant(gpu_type t) { return t == GPU_Q8_0 || t == GPU_Q4_0; }

/* Host conversion of rows [r0, r1) into device layout, split over the CPU's cores when big
 * (quantising a checkpoint is compute-bound; first touches of fresh pages too). q and s point
 * at row r0's quants and scales; src at row r0's elements. */
typedef struct {
    gpu_type dst, src_type;
    uint8_t *q, *s;
    const void *src;
    int64_t cols, r0, r1;
    uint64_t qrow, srow;
} convert_job;

static void *convert_part(void *arg)
{
    convert_job *j = arg;
    gpu_convert_rows(j->dst, j->q + (uint64_t)j->r0 * j->qrow, j->s + (uint64_t)j->r0 * j->srow,
                     j->src, j->src_type, j->cols, j->r0, j->r1);
    return NULL;
}

static void convert(gpu_type dst, uint8_t *q, uint8_t *s, const void *src, gpu_type src_type,
                    int64_t cols, int64_t rows, uint64_t qrow, uint64_t srow)
{
    enum { MAX_THREADS = 8 };
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int n = cpus < 1 ? 1 : cpus > MAX_THREADS ? MAX_THREADS : (int)cpus;
    if ((uint64_t)rows * (uint64_t)cols < (1u << 20) || rows < n) n = 1;
    pthread_t th[MAX_THREADS];
    convert_job job[MAX_THREADS];
    int started = 0;
    for (int i = 0; i < n; i++) {
        job[i] = (convert_job){dst, src_type, q, s, src, cols, rows * i / n, rows * (i + 1) / n,
                               qrow, srow};
        if (i + 1 < n && pthread_create(&th[i], NULL, convert_part, &job[i]) == 0) started |= 1 << i;
        else convert_part(&job[i]); /* the last part, or a thread that could not start */
    }
    for (int i = 0; i < n; i++)
        if (started & (1 << i)) pthread_join(th[i], NULL);
}

static uint64_t tensor_alloc_bytes(const gpu_tensor *t)
{
    int64_t rows = t->ne[1] * t->ne[2] * t->ne[3];
    if (is_quant(t->type))
        return gpu_qscale_offset(t->type, rows, t->ne[0]) +
               (uint64_t)rows * (uint64_t)(t->ne[0] / GPU_QBLOCK) * 2;
    return gpu_type_bytes(t->type, rows, t->ne[0]);
}

gpu_tensor *gpu_new(gpu_ctx *ctx, gpu_type type, int64_t ne0, int64_t ne1, int64_t ne2,
                    int64_t ne3, const char *name)
{
    if (ctx->failed) return NULL;
    if (type >= GPU_TYPE_COUNT || ne0 < 1 || ne1 < 1 || ne2 < 1 || ne3 < 1) {
        gpu_fail(ctx, "tensor '%s': bad shape [%lld,%lld,%lld,%lld]", name ? name : "",
                 (long long)ne0, (long long)ne1, (long long)ne2, (long long)ne3);
        return NULL;
    }
    if (is_quant(type) && ne0 % GPU_QBLOCK) {
        gpu_fail(ctx, "tensor '%s': %s rows need a multiple of %d elements, not %lld",
                 name ? name : "", gpu_type_name(type), GPU_QBLOCK, (long long)ne0);
        return NULL;
    }
    gpu_tensor *t = calloc(1, sizeof *t);
    if (!t) {
        gpu_fail(ctx, "out of host memory");
        return NULL;
    }
    t->type = type;
    t->ne[0] = ne0, t->ne[1] = ne1, t->ne[2] = ne2, t->ne[3] = ne3;
    t->nb[0] = 1, t->nb[1] = ne0, t->nb[2] = ne0 * ne1, t->nb[3] = ne0 * ne1 * ne2;
    snprintf(t->name, sizeof t->name, "%s", name ? name : "");
    t->mem = gpu_mem_new(ctx, tensor_alloc_bytes(t), 0);
    if (!t->mem) {
        char msg[600];
        snprintf(msg, sizeof msg, "tensor '%s': %s", t->name, gpu_errmsg());
        ctx->failed = 0; /* re-raise with the tensor's name */
        gpu_fail(ctx, "%s", msg);
        free(t);
        return NULL;
    }
    return t;
}

gpu_tensor *gpu_view(gpu_ctx *ctx, gpu_tensor *t, int64_t ne0, int64_t ne1, int64_t ne2,
                     int64_t ne3, int64_t nb1, int64_t nb2, int64_t nb3, int64_t offset)
{
    if (ctx->failed) return NULL;
    if (is_quant(t->type)) {
        gpu_fail(ctx, "view of '%s': quantised tensors cannot be viewed", t->name);
        return NULL;
    }
    int64_t last = offset + (ne0 - 1) + (ne1 - 1) * nb1 + (ne2 - 1) * nb2 + (ne3 - 1) * nb3;
    uint64_t esz = gpu_type_bytes(t->type, 1, 1);
    if (offset < 0 || ne0 < 1 || ne1 < 1 || ne2 < 1 || ne3 < 1 || nb1 < 0 || nb2 < 0 ||
        nb3 < 0 || t->offset + (uint64_t)(last + 1) * esz > t->mem->size) {
        gpu_fail(ctx, "view of '%s': [%lld,%lld,%lld,%lld] at %lld falls outside it", t->name,
                 (long long)ne0, (long long)ne1, (long long)ne2, (long long)ne3,
                 (long long)offset);
        return NULL;
    }
    gpu_tensor *v = calloc(1, sizeof *v);
    if (!v) {
        gpu_fail(ctx, "out of host memory");
        return NULL;
    }
    *v = *t;
    v->ne[0] = ne0, v->ne[1] = ne1, v->ne[2] = ne2, v->ne[3] = ne3;
    v->nb[0] = 1, v->nb[1] = nb1, v->nb[2] = nb2, v->nb[3] = nb3;
    v->offset = t->offset + (uint64_t)offset * esz;
    v->is_view = 1;
    snprintf(v->name, sizeof v->name, "%.58s.view", t->name);
    v->mem->refs++;
    return v;
}

void gpu_free(gpu_ctx *ctx, gpu_tensor *t)
{
    if (!t) return;
    gpu_mem_unref(ctx, t->mem);
    free(t);
}

int64_t gpu_nelem(const gpu_tensor *t) { return t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]; }

uint64_t gpu_nbytes(const gpu_tensor *t)
{
    return is_quant(t->type) ? tensor_alloc_bytes(t)
                             : gpu_type_bytes(t->type, gpu_nelem(t) / t->ne[0], t->ne[0]);
}

int gpu_is_contiguous(const gpu_tensor *t)
{
    return t->nb[0] == 1 && t->nb[1] == t->ne[0] && t->nb[2] == t->ne[0] * t->ne[1] &&
           t->nb[3] == t->ne[0] * t->ne[1] * t->ne[2];
}

static int ensure_staging(gpu_ctx *ctx)
{
    if (!ctx->staging) ctx->staging = gpu_mem_new(ctx, STAGING_BYTES, 1);
    return ctx->staging ? 0 : -1;
}

/* Row bytes in the device's quant region, and in its scale region. */
static uint64_t qrow_bytes(const gpu_tensor *t)
{
    return is_quant(t->type) ? (uint64_t)t->ne[0] / (t->type == GPU_Q4_0 ? 2 : 1)
                             : gpu_type_bytes(t->type, 1, t->ne[0]);
}

int gpu_upload_rows(gpu_ctx *ctx, gpu_tensor *t, int64_t r0, int64_t r1, const void *src,
                    gpu_type src_type)
{
    if (ctx->failed) return -1;
    if (t->is_view || !gpu_is_contiguous(t))
        return gpu_fail(ctx, "upload to '%s': not a whole tensor", t->name);
    if (src_type != GPU_F32 && src_type != GPU_F16 && src_type != GPU_BF16 &&
        src_type != GPU_I32)
        return gpu_fail(ctx, "upload to '%s': source type %s unsupported", t->name,
                        gpu_type_name(src_type));
    if ((t->type == GPU_I32) != (src_type == GPU_I32))
        return gpu_fail(ctx, "upload to '%s': %s data into a %s tensor", t->name,
                        gpu_type_name(src_type), gpu_type_name(t->type));
    int64_t rows = gpu_nelem(t) / t->ne[0], cols = t->ne[0];
    if (r0 < 0 || r1 > rows || r0 > r1)
        return gpu_fail(ctx, "upload to '%s': rows [%lld, %lld) outside its %lld rows", t->name,
                        (long long)r0, (long long)r1, (long long)rows);
    uint64_t qrow = qrow_bytes(t), srow = is_quant(t->type) ? (uint64_t)cols / GPU_QBLOCK * 2 : 0;
    uint64_t soff = is_quant(t->type) ? gpu_qscale_offset(t->type, rows, cols) : 0;
    if (ctx->uma) {
        /* Earlier work may still read this tensor. */
        if (ctx->recording && gpu_sync(ctx)) return -1;
        uint8_t *base = t->mem->map + t->offset;
        convert(t->type, base + (uint64_t)r0 * qrow, base + soff + (uint64_t)r0 * srow, src,
                src_type, cols, r1 - r0, qrow, srow);
        return 0;
    }
    if (ensure_staging(ctx)) return -1;
    int64_t chunk = (int64_t)(STAGING_BYTES / (qrow + srow));
    if (chunk < 1)
        return gpu_fail(ctx, "upload to '%s': a row exceeds the staging buffer", t->name);
    for (int64_t a = r0; a < r1; a += chunk) {
        int64_t b = a + chunk < r1 ? a + chunk : r1;
        uint64_t nq = (uint64_t)(b - a) * qrow;
        if (gpu_sync(ctx)) return -1; /* the staging buffer is free again */
        const uint8_t *from = (const uint8_t *)src +
                              (uint64_t)(a - r0) * (uint64_t)cols * gpu_type_bytes(src_type, 1, 1);
        convert(t->type, ctx->staging->map, ctx->staging->map + nq, from, src_type, cols, b - a,
                qrow, srow);
        if (gpu_record_copy(ctx, t->mem, t->offset + (uint64_t)a * qrow, ctx->staging, 0, nq))
            return -1;
        if (srow && gpu_record_copy(ctx, t->mem, t->offset + soff + (uint64_t)a * srow,
                                    ctx->staging, nq, (uint64_t)(b - a) * srow))
            return -1;
    }
    return gpu_sync(ctx);
}

int gpu_upload(gpu_ctx *ctx, gpu_tensor *t, const void *src, gpu_type src_type)
{
    return gpu_upload_rows(ctx, t, 0, gpu_nelem(t) / t->ne[0], src, src_type);
}

int gpu_read(gpu_ctx *ctx, const gpu_tensor *t, void *dst)
{
    if (gpu_sync(ctx)) return -1;
    if (!gpu_is_contiguous(t))
        return gpu_fail(ctx, "read of '%s': not contiguous", t->name);
    uint64_t n = gpu_nbytes(t);
    if (ctx->uma) {
        memcpy(dst, t->mem->map + t->offset, n);
        return 0;
    }
    if (ensure_staging(ctx)) return -1;
    for (uint64_t o = 0; o < n; o += STAGING_BYTES) {
        uint64_t len = n - o < STAGING_BYTES ? n - o : STAGING_BYTES;
        if (gpu_record_copy(ctx, ctx->staging, 0, t->mem, t->offset + o, len) || gpu_sync(ctx))
            return -1;
        memcpy((uint8_t *)dst + o, ctx->staging->map, len);
    }
    return 0;
}

int gpu_read_f32(gpu_ctx *ctx, const gpu_tensor *t, float *dst)
{
    if (is_quant(t->type))
        return gpu_fail(ctx, "read of '%s': %s is not readable as f32", t->name,
                        gpu_type_name(t->type));
    if (gpu_read(ctx, t, dst)) return -1;
    /* Widen in place from the back so 2-byte sources are not overwritten before use. */
    int64_t n = gpu_nelem(t);
    if (t->type == GPU_F16 || t->type == GPU_BF16) {
        const uint16_t *h = (const uint16_t *)dst;
        for (int64_t i = n - 1; i >= 0; i--)
            dst[i] = t->type == GPU_F16 ? gpu_f16_to_f32(h[i]) : gpu_bf16_to_f32(h[i]);
    } else if (t->type == GPU_I32) {
        for (int64_t i = 0; i < n; i++) {
            int32_t v;
            memcpy(&v, &dst[i], 4);
            dst[i] = (float)v;
        }
    }
    return 0;
}

int gpu_fill(gpu_ctx *ctx, gpu_tensor *t, uint32_t pattern)
{
    if (ctx->failed) return -1;
    if (!gpu_is_contiguous(t)) return gpu_fail(ctx, "fill of '%s': not contiguous", t->name);
    uint64_t off = t->offset, n = (gpu_nbytes(t) + 3) & ~(uint64_t)3;
    if (off % 4) return gpu_fail(ctx, "fill of '%s': unaligned", t->name);
    return gpu_record_fill(ctx, t->mem, off, n, pattern);
}

int gpu_copy_bytes(gpu_ctx *ctx, gpu_tensor *dst, gpu_tensor *src)
{
    if (ctx->failed) return -1;
    if (gpu_nbytes(dst) != gpu_nbytes(src) || !gpu_is_contiguous(dst) || !gpu_is_contiguous(src))
        return gpu_fail(ctx, "copy: '%s' and '%s' must be contiguous and of one size", dst->name,
                        src->name);
    if (gpu_overlap(dst, src))
        return gpu_fail(ctx, "copy: '%s' and '%s' overlap", dst->name, src->name);
    return gpu_record_copy(ctx, dst->mem, dst->offset, src->mem, src->offset, gpu_nbytes(src));
}

uint64_t gpu_temp_bytes(const gpu_ctx *ctx, int64_t n)
{
    return ((uint64_t)n * 4 + ctx->align - 1) & ~(ctx->align - 1);
}

uint64_t gpu_tensor_bytes(gpu_type type, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3)
{
    gpu_tensor t = {.type = type, .ne = {ne0, ne1, ne2, ne3}};
    return (tensor_alloc_bytes(&t) + 255) & ~(uint64_t)255;
}

uint64_t gpu_staging_bytes(const gpu_ctx *ctx) { return ctx->uma ? 0 : STAGING_BYTES; }

/* A new newest scratch block of size bytes; the old ones stay alive until the stream has
 * run. */
static struct gpu_mem *scratch_block(gpu_ctx *ctx, uint64_t size)
{
    struct gpu_mem **p = realloc(ctx->scratch, (size_t)(ctx->n_scratch + 1) * sizeof *p);
    if (!p) return gpu_fail(ctx, "out of host memory"), NULL;
    ctx->scratch = p;
    struct gpu_mem *m = gpu_mem_new(ctx, size, 0);
    if (!m) return NULL;
    ctx->scratch[ctx->n_scratch++] = m;
    ctx->scratch_used = 0;
    return m;
}

int gpu_scratch(gpu_ctx *ctx, int64_t n, gpu_tensor *out)
{
    uint64_t bytes = gpu_temp_bytes(ctx, n);
    struct gpu_mem *cur = ctx->n_scratch ? ctx->scratch[ctx->n_scratch - 1] : NULL;
    if (!cur || ctx->scratch_used + bytes > cur->size) {
        uint64_t size = cur ? cur->size * 2 : (16u << 20);
        while (size < bytes) size *= 2;
        if (!(cur = scratch_block(ctx, size))) return -1;
    }
    memset(out, 0, sizeof *out);
    out->type = GPU_F32;
    out->ne[0] = n, out->ne[1] = out->ne[2] = out->ne[3] = 1;
    out->nb[0] = 1, out->nb[1] = out->nb[2] = out->nb[3] = n;
    out->mem = cur;
    out->offset = ctx->scratch_used;
    out->is_view = 1;
    snprintf(out->name, sizeof out->name, "scratch");
    ctx->scratch_used += bytes;
    ctx->scratch_stream += bytes;
    if (ctx->scratch_stream > ctx->scratch_peak) ctx->scratch_peak = ctx->scratch_stream;
    return 0;
}

int gpu_scratch_reserve(gpu_ctx *ctx, uint64_t bytes)
{
    if (ctx->failed) return -1;
    bytes = (bytes + ctx->align - 1) & ~(ctx->align - 1);
    if (ctx->n_scratch && ctx->scratch[ctx->n_scratch - 1]->size >= bytes) return 0;
    if (ctx->recording && gpu_sync(ctx)) return -1; /* reclaims all but the newest block */
    if (ctx->n_scratch) gpu_mem_unref(ctx, ctx->scratch[0]), ctx->n_scratch = 0;
    return bytes && !scratch_block(ctx, bytes) ? -1 : 0;
}

uint64_t gpu_scratch_peak(const gpu_ctx *ctx) { return ctx->scratch_peak; }

gpu_tensor *gpu_new_temp(gpu_ctx *ctx, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3,
                         const char *name)
{
    if (ctx->failed) return NULL;
    if (ne0 < 1 || ne1 < 1 || ne2 < 1 || ne3 < 1) {
        gpu_fail(ctx, "temporary '%s': bad shape", name ? name : "");
        return NULL;
    }
    if (ctx->n_temps == ctx->cap_temps) {
        int nc = ctx->cap_temps ? ctx->cap_temps * 2 : 64;
        gpu_tensor **p = realloc(ctx->temps, (size_t)nc * sizeof *p);
        if (!p) {
            gpu_fail(ctx, "out of host memory");
            return NULL;
        }
        ctx->temps = p, ctx->cap_temps = nc;
    }
    gpu_tensor *t = malloc(sizeof *t);
    if (!t || gpu_scratch(ctx, ne0 * ne1 * ne2 * ne3, t)) {
        free(t);
        return NULL;
    }
    t->ne[0] = ne0, t->ne[1] = ne1, t->ne[2] = ne2, t->ne[3] = ne3;
    t->nb[0] = 1, t->nb[1] = ne0, t->nb[2] = ne0 * ne1, t->nb[3] = ne0 * ne1 * ne2;
    snprintf(t->name, sizeof t->name, "%s", name ? name : "temp");
    ctx->temps[ctx->n_temps++] = t;
    return t;
}

/* After a sync: keep only the newest (largest) block. */
void gpu_scratch_reclaim(gpu_ctx *ctx)
{
    for (int i = 0; i < ctx->n_temps; i++) free(ctx->temps[i]);
    ctx->n_temps = 0;
    for (int i = 0; i + 1 < ctx->n_scratch; i++) gpu_mem_unref(ctx, ctx->scratch[i]);
    if (ctx->n_scratch > 1) {
        ctx->scratch[0] = ctx->scratch[ctx->n_scratch - 1];
        ctx->n_scratch = 1;
    }
    ctx->scratch_used = ctx->scratch_stream = 0;
}

int gpu_overlap(const gpu_tensor *a, const gpu_tensor *b)
{
    return a->mem == b->mem && a->offset < b->offset + gpu_nbytes(b) &&
           b->offset < a->offset + gpu_nbytes(a);
}

int gpu_reshape(gpu_ctx *ctx, gpu_tensor *t, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3)
{
    char s[160];
    if (ctx->failed) return -1;
    if (t->is_view || !gpu_is_contiguous(t) || ne0 < 1 || ne1 < 1 || ne2 < 1 || ne3 < 1 ||
        ne0 * ne1 * ne2 * ne3 != gpu_nelem(t) ||
        (is_quant(t->type) && (ne0 % GPU_QBLOCK || ne0 != t->ne[0])))
        return gpu_fail(ctx, "reshape: %s cannot become [%lld,%lld,%lld,%lld]",
                        gpu_shape_str(t, s, sizeof s), (long long)ne0, (long long)ne1,
                        (long long)ne2, (long long)ne3);
    t->ne[0] = ne0, t->ne[1] = ne1, t->ne[2] = ne2, t->ne[3] = ne3;
    t->nb[0] = 1, t->nb[1] = ne0, t->nb[2] = ne0 * ne1, t->nb[3] = ne0 * ne1 * ne2;
    return 0;
}

uint64_t gpu_memory_in_use(const gpu_ctx *ctx) { return ctx->mem_in_use; }
uint64_t gpu_memory_peak(const gpu_ctx *ctx) { return ctx->mem_peak; }
void gpu_memory_peak_reset(gpu_ctx *ctx)
{
    ctx->mem_peak = ctx->mem_in_use;
    ctx->scratch_peak = ctx->scratch_stream;
}
