/* bench_ops.c: `vkseek bench ops`: the rates the op library reaches on this device, beside
 * the limits they are measured against: host memcpy, the device's own buffer copy, the
 * weight-streaming rate of the matrix-vector product per weight type, and the tiled
 * matrix product's GFLOP/s. A program, not a test: it prints figures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bench/bench.h"
#include "cli/cli.h"
#include "gpu/gpu.h"

static float *random_floats(int64_t n, unsigned seed)
{
    float *p = malloc((size_t)n * sizeof *p);
    if (!p) return NULL;
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = ((seed >> 8) / 16777216.0f - 0.5f) * 0.2f;
    }
    return p;
}

/* Seconds per repetition of what record() puts in the stream, best of `tries`. */
typedef int (*record_fn)(gpu_ctx *ctx, void *arg);
static double time_op(gpu_ctx *ctx, record_fn record, void *arg, int reps, int tries)
{
    if (record(ctx, arg) || gpu_sync(ctx)) return -1; /* warm-up: shader compile */
    double best = 1e30;
    for (int t = 0; t < tries; t++) {
        double t0 = bench_now();
        for (int r = 0; r < reps; r++)
            if (record(ctx, arg)) return -1;
        if (gpu_sync(ctx)) return -1;
        double dt = (bench_now() - t0) / reps;
        if (dt < best) best = dt;
    }
    return best;
}

struct mm { gpu_tensor *y, *W, *x; };
static int rec_matmul(gpu_ctx *ctx, void *arg)
{
    struct mm *m = arg;
    return gpu_matmul(ctx, m->y, m->W, m->x);
}
struct att { gpu_tensor *o, *q, *k, *v; int n; };
static int rec_attention(gpu_ctx *ctx, void *arg)
{
    struct att *a = arg;
    return gpu_attention(ctx, a->o, a->q, a->k, a->v, a->n, 0, NULL, NULL, 0.088f, 1);
}
struct cp { gpu_tensor *dst, *src; };
static int rec_copy(gpu_ctx *ctx, void *arg)
{
    struct cp *c = arg;
    return gpu_copy_bytes(ctx, c->dst, c->src);
}

int bench_ops(int argc, char **argv)
{
    int dev = cli_device_arg(&argc, argv);
    if (dev == -2) return cli_error("--device needs a device index");
    if (argc > 1) return cli_error("bench ops: unexpected argument '%s'", argv[1]);
    gpu_ctx *ctx = gpu_open(dev);
    if (!ctx) return cli_error("%s", gpu_errmsg());
    float *w = NULL, *xv = NULL;
    const gpu_device_info *info = gpu_info(ctx);
    printf("device: %s (%s, %s)\n\n", info->name, info->vendor, info->type);

    size_t cbytes = 128u << 20;
    double host = bench_copy_gbs(256u << 20, 5);
    gpu_tensor *a = gpu_new(ctx, GPU_F32, (int64_t)(cbytes / 4), 1, 1, 1, "copy_src");
    gpu_tensor *b = gpu_new(ctx, GPU_F32, (int64_t)(cbytes / 4), 1, 1, 1, "copy_dst");
    if (!a || !b || gpu_fill(ctx, a, 0x3f800000) || gpu_fill(ctx, b, 0)) goto fail;
    struct cp c = {b, a};
    double tcopy = time_op(ctx, rec_copy, &c, 4, 5);
    if (tcopy < 0) goto fail;
    double dev_read = cbytes / tcopy / 1e9;
    gpu_free(ctx, a);
    gpu_free(ctx, b);
    printf("%-34s %8.2f GB/s read (memcpy of 256 MiB)\n", "host memory bandwidth", host);
    printf("%-34s %8.2f GB/s read (vkCmdCopyBuffer of 128 MiB)\n\n", "device copy", dev_read);

    const int64_t N = 5632, K = 2048;
    w = random_floats(N * K, 1), xv = random_floats(K * 512, 2);
    if (!w || !xv) {
        free(w);
        free(xv);
        gpu_close(ctx);
        return cli_error("out of memory");
    }
    printf("matrix-vector %lldx%lld (one token):\n", (long long)N, (long long)K);
    printf("  %-6s %9s %10s %12s %13s\n", "type", "ms", "GB/s", "vs copy", "ns per row");
    static const gpu_type types[] = {GPU_F32, GPU_F16, GPU_BF16, GPU_Q8_0, GPU_Q4_0};
    for (int i = 0; i < 5; i++) {
        struct mm m = {gpu_new(ctx, GPU_F32, N, 1, 1, 1, "y"), gpu_new(ctx, types[i], K, N, 1, 1, "W"),
                       gpu_new(ctx, GPU_F32, K, 1, 1, 1, "x")};
        if (!m.y || !m.W || !m.x || gpu_upload(ctx, m.W, w, GPU_F32) ||
            gpu_upload(ctx, m.x, xv, GPU_F32))
            goto fail;
        double t = time_op(ctx, rec_matmul, &m, 20, 5);
        if (t < 0) goto fail;
        double bytes = (double)gpu_type_bytes(types[i], N, K);
        printf("  %-6s %9.3f %10.2f %11.0f%% %13.1f\n", gpu_type_name(types[i]), t * 1e3,
               bytes / t / 1e9, 100 * bytes / t / 1e9 / dev_read, t * 1e9 / N);
        gpu_free(ctx, m.y), gpu_free(ctx, m.W), gpu_free(ctx, m.x);
    }

    /* the decode kernel with 8 vectors (CFG rows, small batches): weights read once for 8 */
    printf("\nmatrix-vector %lldx%lld with 8 vectors:\n", (long long)N, (long long)K);
    printf("  %-6s %9s %10s\n", "type", "ms", "GFLOP/s");
    for (int i = 0; i < 5; i++) {
        struct mm m = {gpu_new(ctx, GPU_F32, N, 8, 1, 1, "y"), gpu_new(ctx, types[i], K, N, 1, 1, "W"),
                       gpu_new(ctx, GPU_F32, K, 8, 1, 1, "x")};
        if (!m.y || !m.W || !m.x || gpu_upload(ctx, m.W, w, GPU_F32) ||
            gpu_upload(ctx, m.x, xv, GPU_F32))
            goto fail;
        double t = time_op(ctx, rec_matmul, &m, 10, 3);
        if (t < 0) goto fail;
        printf("  %-6s %9.3f %10.2f\n", gpu_type_name(types[i]), t * 1e3, 2.0 * 8 * N * K / t / 1e9);
        gpu_free(ctx, m.y), gpu_free(ctx, m.W), gpu_free(ctx, m.x);
    }

    const int64_t M = 512, KK = 2048, NN = 2048;
    printf("\nmatrix-matrix %lldx%lld by %lldx%lld (a 512-token prompt):\n", (long long)M,
           (long long)KK, (long long)KK, (long long)NN);
    printf("  %-6s %9s %10s\n", "type", "ms", "GFLOP/s");
    for (int i = 0; i < 5; i++) {
        struct mm m = {gpu_new(ctx, GPU_F32, NN, M, 1, 1, "y"),
                       gpu_new(ctx, types[i], KK, NN, 1, 1, "W"),
                       gpu_new(ctx, GPU_F32, KK, M, 1, 1, "x")};
        if (!m.y || !m.W || !m.x || gpu_upload(ctx, m.W, w, GPU_F32) ||
            gpu_upload(ctx, m.x, xv, GPU_F32))
            goto fail;
        double t = time_op(ctx, rec_matmul, &m, 2, 3);
        if (t < 0) goto fail;
        printf("  %-6s %9.1f %10.2f\n", gpu_type_name(types[i]), t * 1e3,
               2.0 * M * KK * NN / t / 1e9);
        gpu_free(ctx, m.y), gpu_free(ctx, m.W), gpu_free(ctx, m.x);
    }

    /* causal self-attention of a 512-token prompt, Janus-Pro-1B's heads: 2 FMAs (q.k and
     * p*v) per head, query, visible position and dimension */
    const int64_t T = 512, H = 16, D = 128;
    printf("\nprefill attention, %lld tokens, %lld heads of %lld (causal):\n", (long long)T,
           (long long)H, (long long)D);
    printf("  %-6s %9s %10s\n", "cache", "ms", "GFLOP/s");
    static const gpu_type caches[] = {GPU_F32, GPU_F16};
    for (int i = 0; i < 2; i++) {
        struct att a = {gpu_new(ctx, GPU_F32, D, H, T, 1, "o"), gpu_new(ctx, GPU_F32, D, H, T, 1, "q"),
                        gpu_new(ctx, caches[i], D, H, T, 1, "k"),
                        gpu_new(ctx, caches[i], D, H, T, 1, "v"), (int)T};
        if (!a.o || !a.q || !a.k || !a.v || gpu_upload(ctx, a.q, xv, GPU_F32) ||
            gpu_upload(ctx, a.k, w, GPU_F32) || gpu_upload(ctx, a.v, w + D * H * T, GPU_F32))
            goto fail;
        double t = time_op(ctx, rec_attention, &a, 1, 3);
        if (t < 0) goto fail;
        printf("  %-6s %9.1f %10.2f\n", gpu_type_name(caches[i]), t * 1e3,
               4.0 * H * D * (T * (T + 1) / 2) / t / 1e9);
        gpu_free(ctx, a.o), gpu_free(ctx, a.q), gpu_free(ctx, a.k), gpu_free(ctx, a.v);
    }
    free(w);
    free(xv);
    gpu_close(ctx);
    return 0;
fail:
    cli_error("bench: %s", gpu_errmsg());
    free(w);
    free(xv);
    gpu_close(ctx);
    return 1;
}
