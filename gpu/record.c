/* record.c: the command stream. Every dispatch and transfer is recorded here, into one
 * command buffer per gpu_sync(), and this is the one place barriers come from: each access
 * is checked against the byte ranges read and written since the last barrier. lavapipe runs
 * dispatches serially, so a missing barrier would never show there: keep it central. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "internal.h"

#define SETS_PER_POOL 1024
#define MAX_QUERIES 8192

int gpu_stream_init(gpu_ctx *ctx)
{
    VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                   .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                   .queueFamilyIndex = ctx->qfam};
    VKC(ctx, vkCreateCommandPool(ctx->dev, &pci, NULL, &ctx->cmdpool));
    VkCommandBufferAllocateInfo cai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                       .commandPool = ctx->cmdpool,
                                       .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                       .commandBufferCount = 1};
    VKC(ctx, vkAllocateCommandBuffers(ctx->dev, &cai, &ctx->cmd));
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VKC(ctx, vkCreateFence(ctx->dev, &fci, NULL, &ctx->fence));
    if (ctx->profile) {
        VkQueryPoolCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                                     .queryType = VK_QUERY_TYPE_TIMESTAMP,
                                     .queryCount = MAX_QUERIES};
        VKC(ctx, vkCreateQueryPool(ctx->dev, &qci, NULL, &ctx->qpool));
        ctx->query_op = calloc(MAX_QUERIES / 2, sizeof *ctx->query_op);
        if (!ctx->query_op) return gpu_fail(ctx, "out of host memory");
    }
    return 0;
}

void gpu_stream_destroy(gpu_ctx *ctx)
{
    if (ctx->recording) gpu_sync(ctx);
    for (int i = 0; i < ctx->n_dpools; i++)
        vkDestroyDescriptorPool(ctx->dev, ctx->dpools[i], NULL);
    free(ctx->dpools);
    free(ctx->reads);
    free(ctx->writes);
    ctx->scratch_used = 0;
    for (int i = 0; i < ctx->n_scratch; i++) gpu_mem_unref(ctx, ctx->scratch[i]);
    free(ctx->scratch);
    for (int i = 0; i < ctx->n_temps; i++) free(ctx->temps[i]);
    free(ctx->temps);
    if (ctx->staging) gpu_mem_unref(ctx, ctx->staging);
    if (ctx->qpool) vkDestroyQueryPool(ctx->dev, ctx->qpool, NULL);
    free(ctx->query_op);
    free(ctx->prof);
    if (ctx->fence) vkDestroyFence(ctx->dev, ctx->fence, NULL);
    if (ctx->cmdpool) vkDestroyCommandPool(ctx->dev, ctx->cmdpool, NULL);
}

static int begin(gpu_ctx *ctx)
{
    if (ctx->failed) return -1;
    if (ctx->recording) return 0;
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    VKC(ctx, vkBeginCommandBuffer(ctx->cmd, &bi));
    if (ctx->profile) vkCmdResetQueryPool(ctx->cmd, ctx->qpool, 0, MAX_QUERIES);
    ctx->recording = 1;
    ctx->n_reads = ctx->n_writes = 0;
    ctx->n_queries = 0;
    return 0;
}

static void barrier(gpu_ctx *ctx, VkPipelineStageFlags dst_stage, VkAccessFlags dst_access)
{
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                          .dstAccessMask = dst_access};
    vkCmdPipelineBarrier(ctx->cmd,
                         VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                         dst_stage, 0, 1, &mb, 0, NULL, 0, NULL);
    ctx->n_reads = ctx->n_writes = 0;
    ctx->stats.barriers++;
}

static int overlaps(const gpu_range *set, int n, const gpu_bind *b)
{
    for (int i = 0; i < n; i++)
        if (set[i].mem == b->mem && set[i].lo < b->off + b->size && b->off < set[i].hi) return 1;
    return 0;
}

static int remember(gpu_ctx *ctx, gpu_range **set, int *n, int *cap, const gpu_bind *b)
{
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 64;
        gpu_range *p = realloc(*set, (size_t)nc * sizeof *p);
        if (!p) return gpu_fail(ctx, "out of host memory");
        *set = p, *cap = nc;
    }
    (*set)[(*n)++] = (gpu_range){b->mem, b->off, b->off + b->size};
    return 0;
}

/* Read-after-write, write-after-read and write-after-write all need a barrier between
 * the two accesses; independent ops run without one. */
static int track(gpu_ctx *ctx, const gpu_bind *b, int n)
{
    int need = 0;
    for (int i = 0; i < n && !need; i++)
        need = overlaps(ctx->writes, ctx->n_writes, &b[i]) ||
               (b[i].write && overlaps(ctx->reads, ctx->n_reads, &b[i]));
    if (need)
        barrier(ctx, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                    VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT);
    for (int i = 0; i < n; i++)
        if (remember(ctx, b[i].write ? &ctx->writes : &ctx->reads,
                     b[i].write ? &ctx->n_writes : &ctx->n_reads,
                     b[i].write ? &ctx->cap_writes : &ctx->cap_reads, &b[i]))
            return -1;
    return 0;
}

static VkDescriptorSet alloc_set(gpu_ctx *ctx, VkDescriptorSetLayout dsl)
{
    for (;;) {
        if (ctx->cur_dpool == ctx->n_dpools) {
            VkDescriptorPoolSize ps = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                       SETS_PER_POOL * GPU_MAX_BINDINGS};
            VkDescriptorPoolCreateInfo dci = {
                .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                .maxSets = SETS_PER_POOL,
                .poolSizeCount = 1,
                .pPoolSizes = &ps};
            VkDescriptorPool *p = realloc(ctx->dpools, (size_t)(ctx->n_dpools + 1) * sizeof *p);
            if (!p) {
                gpu_fail(ctx, "out of host memory");
                return VK_NULL_HANDLE;
            }
            ctx->dpools = p;
            VkResult r = vkCreateDescriptorPool(ctx->dev, &dci, NULL, &p[ctx->n_dpools]);
            if (r != VK_SUCCESS) {
                gpu_fail(ctx, "vkCreateDescriptorPool failed: %s", gpu_vkresult(r));
                return VK_NULL_HANDLE;
            }
            ctx->n_dpools++;
        }
        VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                          .descriptorPool = ctx->dpools[ctx->cur_dpool],
                                          .descriptorSetCount = 1,
                                          .pSetLayouts = &dsl};
        VkDescriptorSet set;
        VkResult r = vkAllocateDescriptorSets(ctx->dev, &ai, &set);
        if (r == VK_SUCCESS) return set;
        if (r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL) {
            gpu_fail(ctx, "vkAllocateDescriptorSets failed: %s", gpu_vkresult(r));
            return VK_NULL_HANDLE;
        }
        ctx->cur_dpool++; /* this pool is full: next one */
    }
}

static void prof_add(gpu_ctx *ctx, const char *op, double ms)
{
    for (int i = 0; i < ctx->n_prof; i++)
        if (strcmp(ctx->prof[i].op, op) == 0) {
            ctx->prof[i].count++;
            ctx->prof[i].ms += ms;
            return;
        }
    if (ctx->n_prof == ctx->cap_prof) {
        int nc = ctx->cap_prof ? ctx->cap_prof * 2 : 32;
        gpu_prof_row *p = realloc(ctx->prof, (size_t)nc * sizeof *p);
        if (!p) return;
        ctx->prof = p, ctx->cap_prof = nc;
    }
    gpu_prof_row *r = &ctx->prof[ctx->n_prof++];
    snprintf(r->op, sizeof r->op, "%s", op);
    r->count = 1;
    r->ms = ms;
}

int gpu_dispatch(gpu_ctx *ctx, const gpu_dispatch_desc *d)
{
    if (begin(ctx)) return -1;
    if (d->n_binds > GPU_MAX_BINDINGS || d->push_size > GPU_PUSH_MAX || d->n_spec > GPU_MAX_SPEC)
        return gpu_fail(ctx, "%s: dispatch descriptor out of limits", d->op);
    if (ctx->is_lavapipe && d->loop_iters > GPU_LAVAPIPE_LOOP_CAP)
        return gpu_fail(ctx, "%s: %llu loop iterations per invocation would pass lavapipe's "
                             "silent cap of %d", d->op, (unsigned long long)d->loop_iters,
                        GPU_LAVAPIPE_LOOP_CAP);
    const uint32_t *lim = ctx->props.limits.maxComputeWorkGroupCount;
    for (int i = 0; i < 3; i++)
        if (d->groups[i] == 0 || d->groups[i] > lim[i])
            return gpu_fail(ctx, "%s: %u workgroups in dimension %d (limit %u)", d->op,
                            d->groups[i], i, lim[i]);
    for (int i = 0; i < d->n_binds; i++)
        if (d->binds[i].size > ctx->max_range || d->binds[i].off % ctx->align)
            return gpu_fail(ctx, "%s: binding %d (%llu bytes at %llu) breaks the device's "
                                 "limits", d->op, i, (unsigned long long)d->binds[i].size,
                            (unsigned long long)d->binds[i].off);
    gpu_pipeline *p = gpu_pipeline_get(ctx, d->shader, d->spec, d->n_spec, d->n_binds,
                                       d->push_size);
    if (!p) return -1;
    VkDescriptorSet set = alloc_set(ctx, p->dsl);
    if (!set) return -1;
    VkDescriptorBufferInfo bi[GPU_MAX_BINDINGS];
    VkWriteDescriptorSet w[GPU_MAX_BINDINGS];
    for (int i = 0; i < d->n_binds; i++) {
        bi[i] = (VkDescriptorBufferInfo){d->binds[i].mem->buf, d->binds[i].off, d->binds[i].size};
        w[i] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                                      .dstSet = set,
                                      .dstBinding = (uint32_t)i,
                                      .descriptorCount = 1,
                                      .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                      .pBufferInfo = &bi[i]};
    }
    vkUpdateDescriptorSets(ctx->dev, (uint32_t)d->n_binds, w, 0, NULL);
    if (track(ctx, d->binds, d->n_binds)) return -1;

    int timed = ctx->profile && ctx->n_queries + 2 <= MAX_QUERIES;
    if (timed)
        vkCmdWriteTimestamp(ctx->cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, ctx->qpool,
                            ctx->n_queries);
    vkCmdBindPipeline(ctx->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p->pipe);
    vkCmdBindDescriptorSets(ctx->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p->layout, 0, 1, &set, 0,
                            NULL);
    if (d->push_size)
        vkCmdPushConstants(ctx->cmd, p->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, d->push_size,
                           d->push);
    vkCmdDispatch(ctx->cmd, d->groups[0], d->groups[1], d->groups[2]);
    if (timed) {
        vkCmdWriteTimestamp(ctx->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, ctx->qpool,
                            ctx->n_queries + 1);
        snprintf(ctx->query_op[ctx->n_queries / 2], 32, "%s", d->op);
        ctx->n_queries += 2;
    }
    ctx->stats.dispatches++;
    return 0;
}

int gpu_record_copy(gpu_ctx *ctx, struct gpu_mem *dst, uint64_t dst_off, struct gpu_mem *src,
                    uint64_t src_off, uint64_t size)
{
    if (begin(ctx)) return -1;
    gpu_bind b[2] = {{src, src_off, size, 0}, {dst, dst_off, size, 1}};
    if (track(ctx, b, 2)) return -1;
    VkBufferCopy region = {src_off, dst_off, size};
    vkCmdCopyBuffer(ctx->cmd, src->buf, dst->buf, 1, &region);
    return 0;
}

int gpu_record_fill(gpu_ctx *ctx, struct gpu_mem *dst, uint64_t off, uint64_t size,
                    uint32_t pattern)
{
    if (begin(ctx)) return -1;
    gpu_bind b = {dst, off, size, 1};
    if (track(ctx, &b, 1)) return -1;
    vkCmdFillBuffer(ctx->cmd, dst->buf, off, size, pattern);
    return 0;
}

int gpu_sync(gpu_ctx *ctx)
{
    if (ctx->failed) {
        /* Drop whatever was recorded: the stream restarts clean after an error. */
        if (ctx->recording) {
            ctx->recording = 0;
            /* The error already reported is the cause; these only restore the stream. */
            if (vkEndCommandBuffer(ctx->cmd) != VK_SUCCESS ||
                vkResetCommandBuffer(ctx->cmd, 0) != VK_SUCCESS)
                fprintf(stderr, "vkseek: could not reset the command stream after: %s\n",
                        gpu_errmsg());
        }
        return -1;
    }
    if (!ctx->recording) return 0;
    /* Make every write visible to the host before the fence signals. */
    barrier(ctx, VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
    ctx->recording = 0;
    VKC(ctx, vkEndCommandBuffer(ctx->cmd));
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                       .commandBufferCount = 1,
                       .pCommandBuffers = &ctx->cmd};
    VKC(ctx, vkQueueSubmit(ctx->queue, 1, &si, ctx->fence));
    VKC(ctx, vkWaitForFences(ctx->dev, 1, &ctx->fence, VK_TRUE, UINT64_MAX));
    VKC(ctx, vkResetFences(ctx->dev, 1, &ctx->fence));
    VKC(ctx, vkResetCommandBuffer(ctx->cmd, 0));
    for (int i = 0; i < ctx->n_dpools; i++)
        VKC(ctx, vkResetDescriptorPool(ctx->dev, ctx->dpools[i], 0));
    ctx->cur_dpool = 0;
    ctx->stats.submits++;
    gpu_scratch_reclaim(ctx);
    if (ctx->profile && ctx->n_queries) {
        uint64_t *ts = malloc(ctx->n_queries * sizeof *ts);
        if (!ts) return gpu_fail(ctx, "out of host memory");
        VkResult r = vkGetQueryPoolResults(ctx->dev, ctx->qpool, 0, ctx->n_queries,
                                           ctx->n_queries * sizeof *ts, ts, sizeof *ts,
                                           VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
        if (r == VK_SUCCESS)
            for (uint32_t i = 0; i < ctx->n_queries; i += 2)
                prof_add(ctx, ctx->query_op[i / 2],
                         (double)(ts[i + 1] - ts[i]) * ctx->props.limits.timestampPeriod * 1e-6);
        free(ts);
        VKC(ctx, r);
    }
    return 0;
}

static int by_ms(const void *a, const void *b)
{
    double x = ((const gpu_prof_row *)a)->ms, y = ((const gpu_prof_row *)b)->ms;
    return (x < y) - (x > y);
}

void gpu_profile_print(gpu_ctx *ctx)
{
    double total = 0;
    for (int i = 0; i < ctx->n_prof; i++) total += ctx->prof[i].ms;
    qsort(ctx->prof, (size_t)ctx->n_prof, sizeof *ctx->prof, by_ms);
    fprintf(stderr, "%-24s %10s %12s %7s\n", "op", "count", "total ms", "%");
    for (int i = 0; i < ctx->n_prof; i++)
        fprintf(stderr, "%-24s %10llu %12.3f %6.1f%%\n", ctx->prof[i].op,
                (unsigned long long)ctx->prof[i].count, ctx->prof[i].ms,
                total > 0 ? 100.0 * ctx->prof[i].ms / total : 0.0);
    fprintf(stderr, "%-24s %10s %12.3f\n", "total", "", total);
    ctx->n_prof = 0;
}

/* ---- helpers for ops ---- */

int gpu_bind_bytes(gpu_ctx *ctx, gpu_bind *b, const gpu_tensor *t, uint64_t off, uint64_t size,
                   int write, uint32_t *word_off)
{
    uint64_t base = off & ~(ctx->align - 1);
    if ((off - base) % 4)
        return gpu_fail(ctx, "tensor '%s': offset %llu is not 4-byte aligned", t->name,
                        (unsigned long long)off);
    if (!word_off && base != off)
        return gpu_fail(ctx, "tensor '%s': offset %llu is not %llu-byte aligned", t->name,
                        (unsigned long long)off, (unsigned long long)ctx->align);
    if (word_off) *word_off = (uint32_t)((off - base) / 4);
    b->mem = t->mem;
    b->off = base;
    b->size = (off - base + size + 3) & ~(uint64_t)3;
    if (b->off + b->size > t->mem->size) b->size = t->mem->size - b->off;
    b->write = write;
    if (b->size > ctx->max_range)
        return gpu_fail(ctx, "tensor '%s': %.1f MiB in one binding exceeds the device's %.0f "
                             "MiB limit", t->name, b->size / 1048576.0, ctx->max_range / 1048576.0);
    return 0;
}

int gpu_bind_tensor(gpu_ctx *ctx, gpu_bind *b, const gpu_tensor *t, int write,
                    uint32_t *elem_off)
{
    uint64_t esz = (t->type == GPU_F16 || t->type == GPU_BF16) ? 2 : 4;
    uint64_t span = gpu_nbytes(t);
    if (t->is_view) {
        int64_t last = (t->ne[0] - 1) + (t->ne[1] - 1) * t->nb[1] + (t->ne[2] - 1) * t->nb[2] +
                       (t->ne[3] - 1) * t->nb[3];
        span = (uint64_t)(last + 1) * esz;
    }
    /* A 16-bit view may start mid-word: bind from the word and count the extra element. */
    uint64_t start = t->offset & ~(uint64_t)3, extra = (t->offset - start) / esz;
    uint32_t words;
    if (gpu_bind_bytes(ctx, b, t, start, span + (t->offset - start), write,
                       elem_off ? &words : NULL))
        return -1;
    if (elem_off) *elem_off = words * (uint32_t)(4 / esz) + (uint32_t)extra;
    return 0;
}

uint32_t gpu_div_up(uint64_t a, uint64_t b) { return (uint32_t)((a + b - 1) / b); }

void gpu_grid(gpu_ctx *ctx, uint64_t n, uint32_t groups[3])
{
    uint64_t maxx = ctx->props.limits.maxComputeWorkGroupCount[0];
    if (n == 0) n = 1;
    groups[0] = (uint32_t)(n < maxx ? n : maxx);
    groups[1] = gpu_div_up(n, groups[0]);
    groups[2] = 1;
}

const char *gpu_shape_str(const gpu_tensor *t, char *buf, size_t n)
{
    snprintf(buf, n, "%s[%lld,%lld,%lld,%lld] %s", t->name, (long long)t->ne[0],
             (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3],
             gpu_type_name(t->type));
    return buf;
}

int gpu_check_type(gpu_ctx *ctx, const char *op, const gpu_tensor *t, gpu_type want)
{
    char s[160];
    if (t->type != want)
        return gpu_fail(ctx, "%s: %s must be %s", op, gpu_shape_str(t, s, sizeof s),
                        gpu_type_name(want));
    return 0;
}

int gpu_check_same_shape(gpu_ctx *ctx, const char *op, const gpu_tensor *a, const gpu_tensor *b)
{
    char sa[160], sb[160];
    for (int i = 0; i < 4; i++)
        if (a->ne[i] != b->ne[i])
            return gpu_fail(ctx, "%s: shapes differ: %s vs %s", op, gpu_shape_str(a, sa, sizeof sa),
                            gpu_shape_str(b, sb, sizeof sb));
    return 0;
}

int gpu_check_contiguous(gpu_ctx *ctx, const char *op, const gpu_tensor *t)
{
    char s[160];
    if (!gpu_is_contiguous(t))
        return gpu_fail(ctx, "%s: %s must be contiguous", op, gpu_shape_str(t, s, sizeof s));
    return 0;
}

void gpu_clear_error(gpu_ctx *ctx)
{
    gpu_sync(ctx);
    ctx->failed = 0;
}

int gpu_spec_base(const gpu_ctx *ctx, uint32_t *spec, uint32_t wg)
{
    (void)ctx;
    spec[0] = wg;
    return 1;
}

int gpu_check_distinct(gpu_ctx *ctx, const char *op, const gpu_tensor *out, const gpu_tensor *in)
{
    char so[160], si[160];
    if (in && gpu_overlap(out, in))
        return gpu_fail(ctx, "%s: output %s overlaps input %s", op, gpu_shape_str(out, so, sizeof so),
                        gpu_shape_str(in, si, sizeof si));
    return 0;
}
