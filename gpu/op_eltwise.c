/* op_eltwise.c: element-wise ops (add/mul with broadcasting, activations, SwiGLU, scale)
 * and the strided copy that makes a view contiguous. */
#include "internal.h"

static int run(gpu_ctx *ctx, const char *op, const char *shader, gpu_bind *b, int nb,
               const void *pc, uint32_t pc_size, int64_t n)
{
    gpu_dispatch_desc d = {.op = op, .shader = shader, .binds = b, .n_binds = nb, .push = pc,
                           .push_size = pc_size, .loop_iters = 1};
    d.n_spec = gpu_spec_base(ctx, d.spec, ctx->wg);
    gpu_grid(ctx, gpu_div_up((uint64_t)n, ctx->wg), d.groups);
    return gpu_dispatch(ctx, &d);
}

static int check_f32(gpu_ctx *ctx, const char *op, const gpu_tensor *t)
{
    return gpu_check_type(ctx, op, t, GPU_F32) || gpu_check_contiguous(ctx, op, t);
}

static int binary(gpu_ctx *ctx, const char *op, gpu_tensor *y, gpu_tensor *a, gpu_tensor *b,
                  uint32_t code)
{
    if (ctx->failed) return -1;
    char sa[160], sb[160];
    if (check_f32(ctx, op, a) || check_f32(ctx, op, b) || check_f32(ctx, op, y) ||
        gpu_check_same_shape(ctx, op, y, a))
        return -1;
    for (int i = 0; i < 4; i++)
        if (b->ne[i] != a->ne[i] && b->ne[i] != 1)
            return gpu_fail(ctx, "%s: %s does not broadcast over %s", op,
                            gpu_shape_str(b, sb, sizeof sb), gpu_shape_str(a, sa, sizeof sa));
    gpu_bind bd[3];
    if (gpu_bind_tensor(ctx, &bd[0], a, 0, NULL) || gpu_bind_tensor(ctx, &bd[1], b, 0, NULL) ||
        gpu_bind_tensor(ctx, &bd[2], y, 1, NULL))
        return -1;
    struct { uint32_t ane[4], bne[4], n, op; } pc = {
        {(uint32_t)a->ne[0], (uint32_t)a->ne[1], (uint32_t)a->ne[2], (uint32_t)a->ne[3]},
        {(uint32_t)b->ne[0], (uint32_t)b->ne[1], (uint32_t)b->ne[2], (uint32_t)b->ne[3]},
        (uint32_t)gpu_nelem(a), code};
    return run(ctx, op, "binary", bd, 3, &pc, sizeof pc, gpu_nelem(a));
}

int gpu_binary(gpu_ctx *ctx, gpu_tensor *y, gpu_tensor *a, gpu_tensor *b, gpu_binop op)
{
    return binary(ctx, op == GPU_ADD ? "add" : "mul", y, a, b, op == GPU_ADD ? 0 : 1);
}
int gpu_add(gpu_ctx *ctx, gpu_tensor *y, gpu_tensor *a, gpu_tensor *b)
{
    return binary(ctx, "add", y, a, b, 0);
}
int gpu_mul(gpu_ctx *ctx, gpu_tensor *y, gpu_tensor *a, gpu_tensor *b)
{
    return binary(ctx, "mul", y, a, b, 1);
}

int gpu_swiglu(gpu_ctx *ctx, gpu_tensor *y, gpu_tensor *gate, gpu_tensor *up)
{
    if (ctx->failed) return -1;
    if (gpu_check_same_shape(ctx, "swiglu", gate, up)) return -1;
    return binary(ctx, "swiglu", y, gate, up, 2);
}

int gpu_unary(gpu_ctx *ctx, gpu_tensor *y, gpu_tensor *x, gpu_unop op, float s)
{
    static const char *names[] = {"silu", "gelu", "gelu_tanh", "scale"};
    if (ctx->failed) return -1;
    if ((unsigned)op > GPU_SCALE) return gpu_fail(ctx, "unary: unknown op %d", (int)op);
    const char *name = names[op];
    if (check_f32(ctx, name, x) || check_f32(ctx, name, y) ||
        gpu_check_same_shape(ctx, name, y, x))
        return -1;
    gpu_bind b[2];
    if (gpu_bind_tensor(ctx, &b[0], x, 0, NULL) || gpu_bind_tensor(ctx, &b[1], y, 1, NULL))
        return -1;
    struct { uint32_t n, op; float s; } pc = {(uint32_t)gpu_nelem(x), (uint32_t)op, s};
    return run(ctx, name, "unary", b, 2, &pc, sizeof pc, gpu_nelem(x));
}

int gpu_copy(gpu_ctx *ctx, gpu_tensor *y, gpu_tensor *x)
{
    if (ctx->failed) return -1;
    char sx[160], sy[160];
    if (gpu_check_type(ctx, "copy", y, GPU_F32) || gpu_check_same_shape(ctx, "copy", y, x) ||
        gpu_check_distinct(ctx, "copy", y, x))
        return -1;
    if ((x->type != GPU_F32 && x->type != GPU_F16) || y->nb[0] != 1 || x->nb[0] != 1)
        return gpu_fail(ctx, "copy: %s into %s: f32 or f16 rows into f32 rows only",
                        gpu_shape_str(x, sx, sizeof sx), gpu_shape_str(y, sy, sizeof sy));
    uint32_t xoff, yoff;
    gpu_bind b[2];
    if (gpu_bind_tensor(ctx, &b[0], x, 0, &xoff) || gpu_bind_tensor(ctx, &b[1], y, 1, &yoff))
        return -1;
    struct { uint32_t ne[4], xnb[4], ynb[4], n, xoff, yoff; } pc = {
        {(uint32_t)x->ne[0], (uint32_t)x->ne[1], (uint32_t)x->ne[2], (uint32_t)x->ne[3]},
        {1, (uint32_t)x->nb[1], (uint32_t)x->nb[2], (uint32_t)x->nb[3]},
        {1, (uint32_t)y->nb[1], (uint32_t)y->nb[2], (uint32_t)y->nb[3]},
        (uint32_t)gpu_nelem(x), xoff, yoff};
    return run(ctx, "copy", x->type == GPU_F16 ? "copy_f16" : "copy_f32", b, 2, &pc, sizeof pc,
               gpu_nelem(x));
}
