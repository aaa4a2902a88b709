/* op_softmax.c: row softmax with a scale applied first. */
#include "internal.h"

int gpu_softmax(gpu_ctx *ctx, gpu_tensor *y, gpu_tensor *x, float scale)
{
    if (ctx->failed) return -1;
    if (gpu_check_type(ctx, "softmax", x, GPU_F32) || gpu_check_type(ctx, "softmax", y, GPU_F32) ||
        gpu_check_contiguous(ctx, "softmax", x) || gpu_check_same_shape(ctx, "softmax", y, x) ||
        gpu_check_contiguous(ctx, "softmax", y))
        return -1;
    int64_t rows = gpu_nelem(x) / x->ne[0];
    gpu_bind b[2];
    if (gpu_bind_tensor(ctx, &b[0], x, 0, NULL) || gpu_bind_tensor(ctx, &b[1], y, 1, NULL))
        return -1;
    struct { uint32_t n, rows; float scale; } pc = {(uint32_t)x->ne[0], (uint32_t)rows, scale};
    gpu_dispatch_desc d = {.op = "softmax", .shader = "softmax", .binds = b, .n_binds = 2,
                           .push = &pc, .push_size = sizeof pc};
    d.n_spec = gpu_spec_base(ctx, d.spec, ctx->wg);
    gpu_grid(ctx, (uint64_t)rows, d.groups);
    d.loop_iters = 3 * ((uint64_t)x->ne[0] / ctx->wg + 1) + 32;
    return gpu_dispatch(ctx, &d);
}
