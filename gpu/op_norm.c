/* op_norm.c: RMSNorm and LayerNorm over rows, GroupNorm over NCHW channel groups. */
#include "internal.h"

/* x and y: contiguous f32 of one shape; w and b (may be NULL): f32. */
static int check_io(gpu_ctx *ctx, const char *op, gpu_tensor *y, gpu_tensor *x, gpu_tensor *w,
                    gpu_tensor *b)
{
    if (ctx->failed) return -1;
    return gpu_check_type(ctx, op, x, GPU_F32) || gpu_check_type(ctx, op, y, GPU_F32) ||
           gpu_check_type(ctx, op, w, GPU_F32) || (b && gpu_check_type(ctx, op, b, GPU_F32)) ||
           gpu_check_contiguous(ctx, op, w) || (b && gpu_check_contiguous(ctx, op, b)) ||
           gpu_check_contiguous(ctx, op, x) || gpu_check_same_shape(ctx, op, y, x) ||
           gpu_check_contiguous(ctx, op, y);
}

static int row_norm(gpu_ctx *ctx, const char *op, gpu_tensor *y, gpu_tensor *x, gpu_tensor *w,
                    gpu_tensor *b, float eps)
{
    char sx[160], sw[160];
    if (check_io(ctx, op, y, x, w, b)) return -1;
    if (gpu_nelem(w) != x->ne[0] || (b && gpu_nelem(b) != x->ne[0]))
        return gpu_fail(ctx, "%s: weight %s does not match rows of %s", op,
                        gpu_shape_str(b && gpu_nelem(b) != x->ne[0] ? b : w, sw, sizeof sw),
                        gpu_shape_str(x, sx, sizeof sx));
    int64_t rows = gpu_nelem(x) / x->ne[0];
    gpu_bind bd[4];
    if (gpu_bind_tensor(ctx, &bd[0], x, 0, NULL) || gpu_bind_tensor(ctx, &bd[1], w, 0, NULL) ||
        gpu_bind_tensor(ctx, &bd[2], b ? b : w, 0, NULL) || gpu_bind_tensor(ctx, &bd[3], y, 1, NULL))
        return -1;
    struct { uint32_t n, rows, has_bias; float eps; } pc = {(uint32_t)x->ne[0], (uint32_t)rows,
                                                           b != NULL, eps};
    gpu_dispatch_desc d = {.op = op, .shader = op, .binds = bd, .n_binds = 4, .push = &pc,
                           .push_size = sizeof pc};
    d.n_spec = gpu_spec_base(ctx, d.spec, ctx->wg);
    gpu_grid(ctx, (uint64_t)rows, d.groups);
    d.loop_iters = 3 * ((uint64_t)x->ne[0] / ctx->wg + 1) + 32;
    return gpu_dispatch(ctx, &d);
}

int gpu_rmsnorm(gpu_ctx *ctx, gpu_tensor *y, gpu_tensor *x, gpu_tensor *w, float eps)
{
    return row_norm(ctx, "rmsnorm", y, x, w, NULL, eps);
}

int gpu_layernorm(gpu_ctx *ctx, gpu_tensor *y, gpu_tensor *x, gpu_tensor *w, gpu_tensor *b,
                  float eps)
{
    return row_norm(ctx, "layernorm", y, x, w, b, eps);
}

int gpu_groupnorm(gpu_ctx *ctx, gpu_tensor *y, gpu_tensor *x, gpu_tensor *w, gpu_tensor *b,
                  int groups, float eps)
{
    char sx[160], sw[160];
    if (check_io(ctx, "groupnorm", y, x, w, b)) return -1;
    int64_t hw = x->ne[0] * x->ne[1], C = x->ne[2], B = x->ne[3];
    if (groups < 1 || C % groups || gpu_nelem(w) != C || (b && gpu_nelem(b) != C))
        return gpu_fail(ctx, "groupnorm: %d groups, weight %s, input %s do not fit", groups,
                        gpu_shape_str(w, sw, sizeof sw), gpu_shape_str(x, sx, sizeof sx));
    gpu_tensor stats;
    if (gpu_scratch(ctx, 2 * groups * B, &stats)) return -1;
    gpu_bind bd[5];
    if (gpu_bind_tensor(ctx, &bd[0], x, 0, NULL) || gpu_bind_tensor(ctx, &bd[1], &stats, 1, NULL) ||
        gpu_bind_tensor(ctx, &bd[2], w, 0, NULL) || gpu_bind_tensor(ctx, &bd[3], b ? b : w, 0, NULL) ||
        gpu_bind_tensor(ctx, &bd[4], y, 1, NULL))
        return -1;
    struct { uint32_t hw, c, groups, total, n_groups, has_bias; float eps; } pc = {
        (uint32_t)hw, (uint32_t)C, (uint32_t)groups, (uint32_t)gpu_nelem(x),
        (uint32_t)(groups * B), b != NULL, eps};
    /* Pass 1 writes the stats only; pass 2 reads them and writes y. */
    gpu_bind b1[5] = {bd[0], bd[1], bd[2], bd[3], bd[4]};
    b1[4].write = 0;
    gpu_dispatch_desc d = {.op = "groupnorm", .shader = "groupnorm_stats", .binds = b1,
                           .n_binds = 5, .push = &pc, .push_size = sizeof pc};
    d.n_spec = gpu_spec_base(ctx, d.spec, ctx->wg);
    gpu_grid(ctx, (uint64_t)(groups * B), d.groups);
    d.loop_iters = (uint64_t)(C / groups * hw) / ctx->wg + 16;
    if (gpu_dispatch(ctx, &d)) return -1;
    bd[1].write = 0;
    d.shader = "groupnorm_apply";
    d.binds = bd;
    gpu_grid(ctx, gpu_div_up((uint64_t)gpu_nelem(x), ctx->wg), d.groups);
    d.loop_iters = 1;
    return gpu_dispatch(ctx, &d);
}
