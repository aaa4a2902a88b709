/* test_matmul.c: matrix-vector and tiled matrix products and embedding gathers, for every
 * weight type, against the reference on the weights as stored (so the only error is f32
 * accumulation); and quantisation error against the original f32 weights. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "harness.h"
#include "ref.h"

static const gpu_type types[] = {GPU_F32, GPU_F16, GPU_BF16, GPU_Q8_0, GPU_Q4_0};

static float *stored_weights(gpu_tensor *W, int64_t rows, int64_t K)
{
    void *raw = th_alloc(gpu_nbytes(W));
    float *w = th_alloc((size_t)(rows * K) * sizeof *w);
    TH_OK(gpu_read(T, W, raw));
    ref_dequant(W->type, raw, rows, K, w);
    free(raw);
    return w;
}

static void test_matmul_shape(gpu_type type, int64_t K, int64_t N, int64_t M)
{
    float *w = th_randv(N * K, 0.5f), *x = th_randv(K * M, 1.0f);
    gpu_tensor *W = th_tensor(type, K, N, 1, 1, w), *X = th_tensor(GPU_F32, K, M, 1, 1, x);
    gpu_tensor *Y = th_out(N, M, 1, 1);
    TH_OK(gpu_matmul(T, Y, W, X));
    float *got = th_read(Y), *ws = stored_weights(W, N, K), *want = th_alloc((size_t)(N * M) * 4);
    ref_matmul(want, ws, x, N, K, M);
    char what[96];
    snprintf(what, sizeof what, "matmul %s K=%lld N=%lld M=%lld", gpu_type_name(type),
             (long long)K, (long long)N, (long long)M);
    th_check(what, want, got, N * M, 2e-6 * sqrt((double)K));
    if (M == 1) {
        /* The stored weights are the original ones up to the format's rounding. */
        static const double qtol[] = {0, 1e-3, 8e-3, 1e-2, 0.12};
        snprintf(what, sizeof what, "stored %s weights vs f32", gpu_type_name(type));
        th_check(what, w, ws, N * K, qtol[type] > 0 ? qtol[type] : 1e-7);
    }
    free(w), free(x), free(got), free(ws), free(want);
    gpu_free(T, W), gpu_free(T, X), gpu_free(T, Y);
}

static void test_get_rows(gpu_type type, int64_t D, int64_t V, int64_t n)
{
    float *table = th_randv(D * V, 1.0f), *ids = th_alloc((size_t)n * 4);
    for (int64_t i = 0; i < n; i++) ids[i] = (float)th_randu((uint32_t)V);
    ids[0] = (float)(V - 1);
    if (n > 2) ids[1] = -1.0f, ids[2] = (float)V; /* out of range: zero rows */
    gpu_tensor *Tb = th_tensor(type, D, V, 1, 1, table), *I = th_tensor(GPU_I32, n, 1, 1, 1, ids);
    gpu_tensor *Y = th_out(D, n, 1, 1);
    TH_OK(gpu_get_rows(T, Y, Tb, I));
    float *got = th_read(Y), *ts = stored_weights(Tb, V, D), *want = th_alloc((size_t)(D * n) * 4);
    for (int64_t i = 0; i < n; i++)
        for (int64_t d = 0; d < D; d++) {
            int64_t r = (int64_t)ids[i];
            want[i * D + d] = r >= 0 && r < V ? ts[r * D + d] : 0.0f;
        }
    char what[96];
    snprintf(what, sizeof what, "get_rows %s D=%lld V=%lld n=%lld", gpu_type_name(type),
             (long long)D, (long long)V, (long long)n);
    th_check(what, want, got, D * n, 0);
    free(table), free(ids), free(got), free(ts), free(want);
    gpu_free(T, Tb), gpu_free(T, I), gpu_free(T, Y);
}

/* B matrices [K, N] applied to their own slices of x [K, M, B]. */
static void test_batched(gpu_type type, int64_t K, int64_t N, int64_t M, int64_t B)
{
    float *w = th_randv(N * K * B, 0.5f), *x = th_randv(K * M * B, 1.0f);
    gpu_tensor *W = th_tensor(type, K, N, B, 1, w), *X = th_tensor(GPU_F32, K, M, B, 1, x);
    gpu_tensor *Y = th_out(N, M, B, 1);
    TH_OK(gpu_matmul(T, Y, W, X));
    float *got = th_read(Y), *ws = stored_weights(W, N * B, K), *want = th_alloc((size_t)(N * M * B) * 4);
    for (int64_t b = 0; b < B; b++) ref_matmul(want + b * N * M, ws + b * N * K, x + b * K * M, N, K, M);
    char what[96];
    snprintf(what, sizeof what, "batched matmul %s K=%lld N=%lld M=%lld B=%lld", gpu_type_name(type),
             (long long)K, (long long)N, (long long)M, (long long)B);
    th_check(what, want, got, N * M * B, 2e-6 * sqrt((double)K));
    free(w), free(x), free(got), free(ws), free(want);
    gpu_free(T, W), gpu_free(T, X), gpu_free(T, Y);
}

/* y[ids[i]] += w[i] * src[i], ids and w read through views at an offset. */
static void test_add_rows(int64_t D, int64_t R, int64_t n)
{
    float *y0 = th_randv(D * R, 1.0f), *src = th_randv(D * n, 1.0f), *w = th_randv(n + 3, 1.0f);
    float *ids = th_alloc((size_t)(n + 3) * 4);
    for (int64_t i = 0; i < n + 3; i++) ids[i] = (float)((i * 7) % R); /* distinct: 7 coprime with R */
    ids[3 + n - 1] = (float)R; /* out of range: skipped */
    gpu_tensor *Y = th_tensor(GPU_F32, D, R, 1, 1, y0), *S = th_tensor(GPU_F32, D, n, 1, 1, src);
    gpu_tensor *I = th_tensor(GPU_I32, n + 3, 1, 1, 1, ids), *Wt = th_tensor(GPU_F32, n + 3, 1, 1, 1, w);
    gpu_tensor *Iv = gpu_view(T, I, n, 1, 1, 1, n, n, n, 3), *Wv = gpu_view(T, Wt, n, 1, 1, 1, n, n, n, 3);
    TH_OK(gpu_add_rows(T, Y, S, Iv, Wv));
    float *got = th_read(Y);
    for (int64_t i = 0; i < n; i++) {
        int64_t r = (int64_t)ids[3 + i];
        if (r >= R) continue;
        for (int64_t d = 0; d < D; d++) y0[r * D + d] += w[3 + i] * src[i * D + d];
    }
    th_check("add_rows through views", y0, got, D * R, 1e-6);
    free(y0), free(src), free(w), free(ids), free(got);
    gpu_free(T, Iv), gpu_free(T, Wv), gpu_free(T, Y), gpu_free(T, S), gpu_free(T, I), gpu_free(T, Wt);
}

/* y[:, ids[i]] = src[:, i] into columns [col, col+D) of rows W wide (a cache view, f32 or
 * f16): the other columns and rows keep their values; an out-of-range id is skipped. */
static void test_set_rows(gpu_type type, int64_t W, int64_t col, int64_t D, int64_t R, int64_t n)
{
    float *y0 = th_randv(W * R, 1.0f), *src = th_randv(D * n, 1.0f);
    float *ids = th_alloc((size_t)n * 4);
    for (int64_t i = 0; i < n; i++) ids[i] = (float)((i * 5 + 2) % R); /* distinct: 5 coprime */
    ids[n - 1] = (float)(R + 3);
    gpu_tensor *Y = th_tensor(type, W, R, 1, 1, y0), *S = th_tensor(GPU_F32, D, n, 1, 1, src);
    gpu_tensor *I = th_tensor(GPU_I32, n, 1, 1, 1, ids);
    gpu_tensor *Yv = gpu_view(T, Y, D, R, 1, 1, W, W * R, W * R, col);
    TH_OK(gpu_set_rows(T, Yv, S, I));
    float *got = th_read(Y);
    for (int64_t i = 0; i < n; i++) {
        int64_t r = (int64_t)ids[i];
        if (r >= R) continue;
        for (int64_t d = 0; d < D; d++) y0[r * W + col + d] = src[i * D + d];
    }
    if (type == GPU_F16) /* what the cache holds: every value rounded to f16 */
        for (int64_t i = 0; i < W * R; i++) y0[i] = ref_half(gpu_f32_to_f16(y0[i]));
    char what[64];
    snprintf(what, sizeof what, "set_rows into a strided %s view", gpu_type_name(type));
    th_check(what, y0, got, W * R, 0);
    free(y0), free(src), free(ids), free(got);
    gpu_free(T, Yv), gpu_free(T, Y), gpu_free(T, S), gpu_free(T, I);
}

int main(void)
{
    th_init("test_matmul");
    for (int i = 0; i < 5; i++) {
        int q = types[i] == GPU_Q8_0 || types[i] == GPU_Q4_0;
        /* Sizes that are not multiples of the workgroup, tile or block counts. */
        test_matmul_shape(types[i], q ? 288 : 264, 67, 1);
        test_matmul_shape(types[i], q ? 96 : 40, 300, 3);
        test_matmul_shape(types[i], 1024, 129, 8);
        test_matmul_shape(types[i], q ? 256 : 136, 200, 9);
        test_matmul_shape(types[i], q ? 544 : 520, 257, 130);
        test_get_rows(types[i], q ? 96 : 12, 333, 7);
        /* many rows: under test_matmul_splitbind these span several binding ranges */
        test_matmul_shape(types[i], 256, 3000, 1);
        test_matmul_shape(types[i], 256, 3000, 20);
        test_get_rows(types[i], 256, 3000, 9);
    }
    /* DeepSeek-V3's widest K with several vectors: the per-invocation loop count stays
     * inside lavapipe's cap only because the row and vector loops are unrolled. */
    for (int i = 0; i < 5; i++) {
        test_batched(types[i], 64, 40, 3, 5);   /* the matrix-vector path */
        test_batched(types[i], 128, 33, 20, 3); /* the tiled path */
    }
    test_add_rows(70, 11, 9);
    for (int f16 = 0; f16 < 2; f16++) {
        gpu_type t = f16 ? GPU_F16 : GPU_F32;
        test_set_rows(t, 576, 512, 64, 13, 6); /* MLA: the rope tail of each cache row */
        test_set_rows(t, 300, 0, 300, 7, 7);   /* whole rows */
    }
    test_matmul_shape(GPU_F16, 18432, 37, 8);
    test_matmul_shape(GPU_Q4_0, 18432, 21, 5);
    return th_finish();
}
