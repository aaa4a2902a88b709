/* op_conv.c: stride-1 2-D convolution and nearest 2x upsampling (the VQ decoder's ops). */
#include "internal.h"

#define CONV_COB 8   /* output channels per invocation in conv2d.comp */
#define CONV_PX 4    /* pixels per invocation */

int gpu_conv2d(gpu_ctx *ctx, gpu_tensor *y, gpu_tensor *x, gpu_tensor *w, gpu_tensor *bias, int k)
{
    if (ctx->failed) return -1;
    const char *op = "conv2d";
    char sx[160], sw[160], sy[160];
    if (gpu_check_type(ctx, op, x, GPU_F32) || gpu_check_type(ctx, op, y, GPU_F32) ||
        gpu_check_contiguous(ctx, op, x) || gpu_check_contiguous(ctx, op, y) ||
        gpu_check_contiguous(ctx, op, w) || (bias && gpu_check_type(ctx, op, bias, GPU_F32)) ||
        (bias && gpu_check_contiguous(ctx, op, bias)) || gpu_check_distinct(ctx, op, y, x) ||
        gpu_check_distinct(ctx, op, y, w) || gpu_check_distinct(ctx, op, y, bias))
        return -1;
    int64_t W = x->ne[0], H = x->ne[1], Cin = x->ne[2], B = x->ne[3];
    int64_t Cout = y->ne[2];
    if ((k != 1 && k != 3) || w->type > GPU_BF16 || gpu_nelem(w) != (int64_t)k * k * Cin * Cout ||
        y->ne[0] != W || y->ne[1] != H || y->ne[3] != B || (bias && gpu_nelem(bias) != Cout) ||
        B > 65535 || gpu_div_up((uint64_t)Cout, CONV_COB) > 65535)
        return gpu_fail(ctx, "conv2d: %dx%d kernel, weight %s, x %s, y %s do not fit", k, k,
                        gpu_shape_str(w, sw, sizeof sw), gpu_shape_str(x, sx, sizeof sx),
                        gpu_shape_str(y, sy, sizeof sy));
    gpu_bind b[4];
    if (gpu_bind_tensor(ctx, &b[0], x, 0, NULL) || gpu_bind_tensor(ctx, &b[1], w, 0, NULL) ||
        gpu_bind_tensor(ctx, &b[2], bias ? bias : x, 0, NULL) ||
        gpu_bind_tensor(ctx, &b[3], y, 1, NULL))
        return -1;
    static const char *shader[] = {"conv2d_f32", "conv2d_f16", "conv2d_bf16"};
    struct { uint32_t w, h, cin, cout, k, has_bias; } pc = {
        (uint32_t)W, (uint32_t)H, (uint32_t)Cin, (uint32_t)Cout, (uint32_t)k, bias != NULL};
    gpu_dispatch_desc d = {.op = op, .shader = shader[w->type], .binds = b, .n_binds = 4,
                           .push = &pc, .push_size = sizeof pc};
    d.n_spec = gpu_spec_base(ctx, d.spec, ctx->wg);
    d.groups[0] = gpu_div_up((uint64_t)(W * H), (uint64_t)ctx->wg * CONV_PX);
    d.groups[1] = gpu_div_up((uint64_t)Cout, CONV_COB);
    d.groups[2] = (uint32_t)B;
    d.loop_iters = (uint64_t)Cin * (k * k + 1) + 16;
    return gpu_dispatch(ctx, &d);
}

int gpu_upsample2x(gpu_ctx *ctx, gpu_tensor *y, gpu_tensor *x)
{
    if (ctx->failed) return -1;
    char sx[160], sy[160];
    if (gpu_check_type(ctx, "upsample", x, GPU_F32) || gpu_check_type(ctx, "upsample", y, GPU_F32) ||
        gpu_check_contiguous(ctx, "upsample", x) || gpu_check_contiguous(ctx, "upsample", y) ||
        gpu_check_distinct(ctx, "upsample", y, x))
        return -1;
    if (y->ne[0] != 2 * x->ne[0] || y->ne[1] != 2 * x->ne[1] || y->ne[2] != x->ne[2] ||
        y->ne[3] != x->ne[3])
        return gpu_fail(ctx, "upsample: %s is not twice %s", gpu_shape_str(y, sy, sizeof sy),
                        gpu_shape_str(x, sx, sizeof sx));
    gpu_bind b[2];
    if (gpu_bind_tensor(ctx, &b[0], x, 0, NULL) || gpu_bind_tensor(ctx, &b[1], y, 1, NULL))
        return -1;
    struct { uint32_t w, h, n; } pc = {(uint32_t)x->ne[0], (uint32_t)x->ne[1],
                                       (uint32_t)gpu_nelem(y)};
    gpu_dispatch_desc d = {.op = "upsample", .shader = "upsample", .binds = b, .n_binds = 2,
                           .push = &pc, .push_size = sizeof pc, .loop_iters = 1};
    d.n_spec = gpu_spec_base(ctx, d.spec, ctx->wg);
    gpu_grid(ctx, gpu_div_up((uint64_t)gpu_nelem(y), ctx->wg), d.groups);
    return gpu_dispatch(ctx, &d);
}
