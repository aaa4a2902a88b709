/* op_select.c: argmax and top-k per row. Long rows (a vocabulary) are cut into chunks whose
 * candidates a second dispatch selects from, so no invocation loops for long. */
#include "internal.h"

#define SELECT_CHUNK 4096
#define TOPK_MAX 64

static int select_pass(gpu_ctx *ctx, const char *op, gpu_tensor *x, gpu_tensor *ids_in,
                       gpu_tensor *vals, gpu_tensor *ids, int64_t n, int64_t rows,
                       uint32_t chunk, uint32_t k)
{
    uint32_t n_chunks = gpu_div_up((uint64_t)n, chunk);
    gpu_bind b[4];
    if (gpu_bind_tensor(ctx, &b[0], x, 0, NULL) ||
        gpu_bind_tensor(ctx, &b[1], ids_in ? ids_in : x, 0, NULL) ||
        gpu_bind_tensor(ctx, &b[2], vals, 1, NULL) || gpu_bind_tensor(ctx, &b[3], ids, 1, NULL))
        return -1;
    struct { uint32_t n, chunk, n_chunks, k, ids_in; } pc = {(uint32_t)n, chunk, n_chunks, k,
                                                            ids_in != NULL};
    gpu_dispatch_desc d = {.op = op, .shader = "select", .binds = b, .n_binds = 4, .push = &pc,
                           .push_size = sizeof pc};
    d.n_spec = gpu_spec_base(ctx, d.spec, ctx->wg);
    d.groups[0] = n_chunks, d.groups[1] = (uint32_t)rows, d.groups[2] = 1;
    d.loop_iters = (uint64_t)k * (chunk / ctx->wg + 1 + 8) + 8;
    return gpu_dispatch(ctx, &d);
}

/* Scratch viewed as I32 (the select shader writes ids as raw 32-bit integers). */
static int scratch_i32(gpu_ctx *ctx, int64_t n, gpu_tensor *t)
{
    if (gpu_scratch(ctx, n, t)) return -1;
    t->type = GPU_I32;
    return 0;
}

int gpu_topk(gpu_ctx *ctx, gpu_tensor *vals, gpu_tensor *ids, gpu_tensor *x, int k)
{
    if (ctx->failed) return -1;
    char sx[160], sv[160];
    if (gpu_check_type(ctx, "topk", x, GPU_F32) || gpu_check_contiguous(ctx, "topk", x) ||
        gpu_check_type(ctx, "topk", vals, GPU_F32) || gpu_check_type(ctx, "topk", ids, GPU_I32) ||
        gpu_check_contiguous(ctx, "topk", vals) || gpu_check_contiguous(ctx, "topk", ids))
        return -1;
    if (gpu_check_distinct(ctx, "topk", vals, x) || gpu_check_distinct(ctx, "topk", ids, x))
        return -1;
    int64_t n = x->ne[0], rows = gpu_nelem(x) / n;
    if (k < 1 || k > TOPK_MAX || k > n || gpu_nelem(vals) != k * rows ||
        gpu_nelem(ids) != k * rows || rows > 65535)
        return gpu_fail(ctx, "topk: k=%d from %s into %s does not fit (k <= %d)", k,
                        gpu_shape_str(x, sx, sizeof sx), gpu_shape_str(vals, sv, sizeof sv),
                        TOPK_MAX);
    if (n <= SELECT_CHUNK)
        return select_pass(ctx, "topk", x, NULL, vals, ids, n, rows, SELECT_CHUNK, (uint32_t)k);
    /* Candidates: each chunk's top k; the answer is among them. */
    int64_t nc = (int64_t)gpu_div_up((uint64_t)n, SELECT_CHUNK) * k;
    gpu_tensor cv, ci;
    if (gpu_scratch(ctx, nc * rows, &cv) || scratch_i32(ctx, nc * rows, &ci)) return -1;
    if (select_pass(ctx, "topk", x, NULL, &cv, &ci, n, rows, SELECT_CHUNK, (uint32_t)k))
        return -1;
    if (nc > SELECT_CHUNK)
        return gpu_fail(ctx, "topk: %lld candidates per row exceed %d", (long long)nc,
                        SELECT_CHUNK);
    return select_pass(ctx, "topk", &cv, &ci, vals, ids, nc, rows, SELECT_CHUNK, (uint32_t)k);
}

int gpu_argmax(gpu_ctx *ctx, gpu_tensor *ids, gpu_tensor *x)
{
    if (ctx->failed) return -1;
    gpu_tensor vals;
    if (gpu_scratch(ctx, gpu_nelem(x) / x->ne[0], &vals)) return -1;
    return gpu_topk(ctx, &vals, ids, x, 1);
}
