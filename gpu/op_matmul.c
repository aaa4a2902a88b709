/* op_matmul.c: weight products (matrix-vector and tiled matrix-matrix) and embedding row
 * gathers, for every weight type. Weights bigger than one storage-buffer binding are
 * processed in row ranges, each bound separately. */
#include <stdio.h>
#include "internal.h"

#define MATVEC_MAX_VECTORS 8
#define MATMUL_WG 256   /* matmul.comp's 16x16 invocations */

static const char *suffix(gpu_type t)
{
    static const char *s[] = {"f32", "f16", "bf16", "q8_0", "q4_0"};
    return s[t];
}

static int is_quant(gpu_type t) { return t == GPU_Q8_0 || t == GPU_Q4_0; }

/* Bytes per row in the quant (or data) region and in the scale region. */
static uint64_t qrow(const gpu_tensor *W)
{
    return is_quant(W->type) ? (uint64_t)W->ne[0] / (W->type == GPU_Q4_0 ? 2 : 1)
                             : gpu_type_bytes(W->type, 1, W->ne[0]);
}
static uint64_t srow(const gpu_tensor *W)
{
    return is_quant(W->type) ? (uint64_t)W->ne[0] / GPU_QBLOCK * 2 : 0;
}

/* Rows per dispatch so that each bound range fits the device's binding limit. An even row
 * count keeps every range start 4-byte aligned (scales are 2 bytes a block); a multiple of
 * 256 rows keeps them aligned for the device too, where the limit allows. */
static int64_t rows_per_chunk(const gpu_ctx *ctx, const gpu_tensor *W, int64_t rows)
{
    int64_t n = (int64_t)((ctx->max_range - 256) / qrow(W));
    if (n >= rows) return rows;
    n -= n >= 256 ? n % 256 : n % 2;
    return n > 2 ? n : 2;
}

/* Binds rows [r0, r1) of W: binding 0 the quants/data, binding 1 the scales (the data
 * again for float types, unused). */
static int bind_rows(gpu_ctx *ctx, gpu_bind *b, const gpu_tensor *W, int64_t r0, int64_t r1,
                     uint32_t *wq_off, uint32_t *ws_off)
{
    uint64_t q = qrow(W), s = srow(W);
    if (gpu_bind_bytes(ctx, &b[0], W, W->offset + (uint64_t)r0 * q, (uint64_t)(r1 - r0) * q, 0,
                       wq_off))
        return -1;
    if (!s) {
        b[1] = b[0];
        *ws_off = 0;
        return 0;
    }
    int64_t rows = W->ne[1] * W->ne[2] * W->ne[3];
    uint64_t soff = W->offset + gpu_qscale_offset(W->type, rows, W->ne[0]);
    return gpu_bind_bytes(ctx, &b[1], W, soff + (uint64_t)r0 * s, (uint64_t)(r1 - r0) * s, 0,
                          ws_off);
}

/* Float rows are read in groups of `multiple` elements; quantised ones in whole blocks. */
static int check_weight(gpu_ctx *ctx, const char *op, const gpu_tensor *W, int multiple)
{
    char s[160];
    if (W->type > GPU_Q4_0 || W->is_view)
        return gpu_fail(ctx, "%s: weight %s must be a whole f32/f16/bf16/q8_0/q4_0 tensor", op,
                        gpu_shape_str(W, s, sizeof s));
    if (is_quant(W->type)) multiple = GPU_QBLOCK;
    if (W->ne[0] % multiple)
        return gpu_fail(ctx, "%s: weight %s needs rows of a multiple of %d elements", op,
                        gpu_shape_str(W, s, sizeof s), multiple);
    return 0;
}

int gpu_matmul(gpu_ctx *ctx, gpu_tensor *y, gpu_tensor *W, gpu_tensor *x)
{
    if (ctx->failed) return -1;
    char sw[160], sx[160], sy[160];
    if (check_weight(ctx, "matmul", W, 8) || gpu_check_type(ctx, "matmul", x, GPU_F32) ||
        gpu_check_type(ctx, "matmul", y, GPU_F32) || gpu_check_contiguous(ctx, "matmul", x) ||
        gpu_check_contiguous(ctx, "matmul", y))
        return -1;
    /* A 3-D weight [K, N, B] is B matrices, each applied to its own [K, M] slice of x. */
    int64_t K = W->ne[0], N = W->ne[1], B = W->ne[2] * W->ne[3];
    int64_t M = gpu_nelem(x) / K / B;
    if (gpu_check_distinct(ctx, "matmul", y, x) || gpu_check_distinct(ctx, "matmul", y, W))
        return -1;
    if (x->ne[0] != K || gpu_nelem(x) != K * M * B || y->ne[0] != N || gpu_nelem(y) != N * M * B ||
        B > 65535)
        return gpu_fail(ctx, "matmul: shapes do not fit: W %s, x %s, y %s",
                        gpu_shape_str(W, sw, sizeof sw), gpu_shape_str(x, sx, sizeof sx),
                        gpu_shape_str(y, sy, sizeof sy));
    gpu_bind b[4];
    if (gpu_bind_tensor(ctx, &b[2], x, 0, NULL) || gpu_bind_tensor(ctx, &b[3], y, 1, NULL))
        return -1;
    int64_t chunk = rows_per_chunk(ctx, W, N * B);
    if (B > 1 && chunk < N * B)
        return gpu_fail(ctx, "matmul: batched weight %s exceeds one binding",
                        gpu_shape_str(W, sw, sizeof sw));
    if (B > 1) chunk = N;
    for (int64_t r0 = 0; r0 < N; r0 += chunk) {
        int64_t r1 = r0 + chunk < N ? r0 + chunk : N, n = r1 - r0;
        uint32_t wq, ws;
        /* a batch binds all its matrices: they are one chunk */
        if (bind_rows(ctx, b, W, r0, B > 1 ? N * B : r1, &wq, &ws)) return -1;
        gpu_dispatch_desc d = {.op = "matmul", .binds = b, .n_binds = 4};
        char shader[32];
        if (M <= (int64_t)ctx->matvec_max_m) {
            /* passes of up to 8 vectors, each reading the weights once */
            uint32_t rt = ctx->matvec_rt, unit = is_quant(W->type) ? 32 : 16;
            snprintf(shader, sizeof shader, "matvec_%s", suffix(W->type));
            d.op = "matvec";
            d.shader = shader;
            for (int64_t m0 = 0; m0 < M; m0 += MATVEC_MAX_VECTORS) {
                int64_t nv = M - m0 < MATVEC_MAX_VECTORS ? M - m0 : MATVEC_MAX_VECTORS;
                d.n_spec = gpu_spec_base(ctx, d.spec, ctx->wg);
                d.spec[d.n_spec++] = rt;
                d.spec[d.n_spec++] = (uint32_t)nv;
                d.spec[d.n_spec++] = ctx->matvec_rows;
                struct { uint32_t K, N, ldy, row0, wq_off, ws_off, x_off4, y_off, xb4, yb; } pc = {
                    (uint32_t)K, (uint32_t)n, (uint32_t)N, (uint32_t)r0, wq, ws,
                    (uint32_t)(m0 * K / 4), (uint32_t)(m0 * N), (uint32_t)(M * K / 4),
                    (uint32_t)(M * N)};
                d.push = &pc, d.push_size = sizeof pc;
                gpu_grid(ctx, gpu_div_up((uint64_t)n, ctx->wg / rt * ctx->matvec_rows), d.groups);
                d.groups[2] = (uint32_t)B;
                /* the vector, row and x loops are unrolled (test_matmul's K=18432 cases prove it) */
                d.loop_iters = (uint64_t)K / unit / rt + 8;
                if (gpu_dispatch(ctx, &d)) return -1;
            }
        } else {
            if (ctx->props.limits.maxComputeWorkGroupInvocations < MATMUL_WG)
                return gpu_fail(ctx, "matmul: device allows %u invocations per workgroup, "
                                     "the tiled product needs %d",
                                ctx->props.limits.maxComputeWorkGroupInvocations, MATMUL_WG);
            snprintf(shader, sizeof shader, "matmul_%s", suffix(W->type));
            d.n_spec = gpu_spec_base(ctx, d.spec, MATMUL_WG);
            d.spec[d.n_spec++] = ctx->matmul_rows;
            struct { uint32_t K, N, M, ldy, row0, wq_off, ws_off, xb4, yb; } pc = {
                (uint32_t)K, (uint32_t)n, (uint32_t)M, (uint32_t)N, (uint32_t)r0, wq, ws,
                (uint32_t)(M * K / 4), (uint32_t)(M * N)};
            d.push = &pc, d.push_size = sizeof pc;
            d.groups[0] = gpu_div_up((uint64_t)n, 16 * ctx->matmul_rows);
            d.groups[1] = gpu_div_up((uint64_t)M, 128);
            d.groups[2] = (uint32_t)B;
            d.loop_iters = (uint64_t)K / 16 + 16;
            d.shader = shader;
            if (gpu_dispatch(ctx, &d)) return -1;
        }
    }
    return 0;
}

int gpu_get_rows(gpu_ctx *ctx, gpu_tensor *y, gpu_tensor *table, gpu_tensor *ids)
{
    if (ctx->failed) return -1;
    char st[160], si[160], sy[160];
    if (check_weight(ctx, "get_rows", table, 4) || gpu_check_type(ctx, "get_rows", ids, GPU_I32) ||
        gpu_check_type(ctx, "get_rows", y, GPU_F32) || gpu_check_contiguous(ctx, "get_rows", y) ||
        gpu_check_contiguous(ctx, "get_rows", ids))
        return -1;
    if (gpu_check_distinct(ctx, "get_rows", y, table) || gpu_check_distinct(ctx, "get_rows", y, ids))
        return -1;
    int64_t D = table->ne[0], V = table->ne[1] * table->ne[2] * table->ne[3], n = gpu_nelem(ids);
    if (y->ne[0] != D || gpu_nelem(y) != D * n || n > 65535)
        return gpu_fail(ctx, "get_rows: shapes do not fit: table %s, ids %s, y %s",
                        gpu_shape_str(table, st, sizeof st), gpu_shape_str(ids, si, sizeof si),
                        gpu_shape_str(y, sy, sizeof sy));
    gpu_bind b[4];
    uint32_t ids_off;
    if (gpu_bind_tensor(ctx, &b[2], ids, 0, &ids_off) || gpu_bind_tensor(ctx, &b[3], y, 1, NULL))
        return -1;
    char shader[32];
    snprintf(shader, sizeof shader, "get_rows_%s", suffix(table->type));
    int64_t chunk = rows_per_chunk(ctx, table, V);
    for (int64_t r0 = 0; r0 < V; r0 += chunk) {
        int64_t r1 = r0 + chunk < V ? r0 + chunk : V;
        uint32_t wq, ws;
        if (bind_rows(ctx, b, table, r0, r1, &wq, &ws)) return -1;
        struct { uint32_t D, n, r0, r1, V, zero_oob, wq_off, ws_off, ids_off; } pc = {
            (uint32_t)D, (uint32_t)n, (uint32_t)r0, (uint32_t)r1, (uint32_t)V, r0 == 0, wq, ws,
            ids_off};
        gpu_dispatch_desc d = {.op = "get_rows", .shader = shader, .binds = b, .n_binds = 4,
                               .push = &pc, .push_size = sizeof pc, .loop_iters = 4};
        d.n_spec = gpu_spec_base(ctx, d.spec, ctx->wg);
        d.groups[0] = gpu_div_up((uint64_t)D / 4, ctx->wg);
        d.groups[1] = (uint32_t)n;
        d.groups[2] = 1;
        if (gpu_dispatch(ctx, &d)) return -1;
    }
    return 0;
}

/* y[:, ids[i]] = (set ? 0 : y[:, ids[i]] + w[i] *) src[:, i]: gpu_add_rows and gpu_set_rows. */
static int scatter_rows(gpu_ctx *ctx, const char *op, gpu_tensor *y, gpu_tensor *src,
                        gpu_tensor *ids, gpu_tensor *w)
{
    if (ctx->failed) return -1;
    char sy[160], ss[160], si[160];
    int f16 = !w && y->type == GPU_F16; /* an f16 cache */
    if ((!f16 && gpu_check_type(ctx, op, y, GPU_F32)) || gpu_check_type(ctx, op, src, GPU_F32) ||
        gpu_check_type(ctx, op, ids, GPU_I32) || (w && gpu_check_type(ctx, op, w, GPU_F32)) ||
        gpu_check_contiguous(ctx, op, src) || gpu_check_contiguous(ctx, op, ids) ||
        (w && gpu_check_contiguous(ctx, op, w)) || gpu_check_distinct(ctx, op, y, src))
        return -1;
    /* y: rows of ne0 elements, nb1 apart (a 2-D view or a contiguous tensor) */
    int64_t D = y->ne[0], R = gpu_nelem(y) / D, n = gpu_nelem(ids);
    int flat = gpu_is_contiguous(y) || (y->ne[2] == 1 && y->ne[3] == 1 && y->nb[0] == 1);
    if (!flat || src->ne[0] != D || gpu_nelem(src) != D * n || (w && gpu_nelem(w) != n) ||
        n > 65535 || (y->ne[1] > 1 && y->nb[1] < D) ||
        (f16 && (D % 2 || (y->ne[1] > 1 && y->nb[1] % 2))))
        return gpu_fail(ctx, "%s: shapes do not fit: y %s, src %s, ids %s", op,
                        gpu_shape_str(y, sy, sizeof sy), gpu_shape_str(src, ss, sizeof ss),
                        gpu_shape_str(ids, si, sizeof si));
    uint32_t y_off, ids_off, w_off = 0;
    gpu_bind b[4];
    if (gpu_bind_tensor(ctx, &b[0], y, 1, &y_off) || gpu_bind_tensor(ctx, &b[1], src, 0, NULL) ||
        gpu_bind_tensor(ctx, &b[2], ids, 0, &ids_off) ||
        gpu_bind_tensor(ctx, &b[3], w ? w : src, 0, w ? &w_off : NULL)) /* src: unread stand-in */
        return -1;
    if (f16 && y_off % 2)
        return gpu_fail(ctx, "%s: an f16 y %s must start at an even element", op,
                        gpu_shape_str(y, sy, sizeof sy));
    int64_t nb1 = gpu_is_contiguous(y) ? D : y->nb[1];
    struct { uint32_t D, n, rows, ids_off, w_off, y_off, y_nb1, set; } pc = {
        (uint32_t)D, (uint32_t)n, (uint32_t)R, ids_off, w_off, y_off, (uint32_t)nb1, w == NULL};
    gpu_dispatch_desc d = {.op = op, .shader = f16 ? "set_rows_f16" : "add_rows", .binds = b,
                           .n_binds = 4, .push = &pc, .push_size = sizeof pc, .loop_iters = 1};
    d.n_spec = gpu_spec_base(ctx, d.spec, ctx->wg);
    d.groups[0] = gpu_div_up((uint64_t)(f16 ? D / 2 : D), ctx->wg);
    d.groups[1] = (uint32_t)n, d.groups[2] = 1;
    return gpu_dispatch(ctx, &d);
}

int gpu_add_rows(gpu_ctx *ctx, gpu_tensor *y, gpu_tensor *src, gpu_tensor *ids, gpu_tensor *w)
{
    if (!w) return gpu_fail(ctx, "add_rows: no weights");
    return scatter_rows(ctx, "add_rows", y, src, ids, w);
}

int gpu_set_rows(gpu_ctx *ctx, gpu_tensor *y, gpu_tensor *src, gpu_tensor *ids)
{
    return scatter_rows(ctx, "set_rows", y, src, ids, NULL);
}
