/* test_device.c: the device layer: listing and choice, the central barrier tracker, weights
 * split over several bindings, a 1 GB embedding table, lavapipe's loop cap refused, clear
 * errors on bad shapes, and the device memory's peak. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "ref.h"

static void test_devices_listed(void)
{
    gpu_device_info d[8];
    int n = gpu_list_devices(d, 8);
    th_expect(n >= 1, "gpu_list_devices found %d devices: %s", n, gpu_errmsg());
    const gpu_device_info *cur = gpu_info(T);
    th_expect(cur->index >= 0 && cur->index < n && strcmp(d[cur->index].name, cur->name) == 0,
              "the open device is in the list");
    th_expect(cur->subgroup_size >= 1, "subgroup size known");
}

/* Independent ops share no barrier; a consumer waits for its producer. */
static void test_barriers_follow_dependencies(void)
{
    float *x = th_randv(1000, 1.0f);
    gpu_tensor *a = th_tensor(GPU_F32, 1000, 1, 1, 1, x), *b = th_out(1000, 1, 1, 1);
    gpu_tensor *c = th_out(1000, 1, 1, 1), *d = th_out(1000, 1, 1, 1);
    TH_OK(gpu_sync(T));
    gpu_stats s0 = gpu_get_stats(T);
    TH_OK(gpu_unary(T, b, a, GPU_SCALE, 2.0f));  /* b = 2a */
    TH_OK(gpu_unary(T, c, a, GPU_SCALE, 3.0f));  /* c = 3a: independent of b */
    gpu_stats s1 = gpu_get_stats(T);
    TH_OK(gpu_add(T, d, b, c));                  /* reads b and c: must wait */
    gpu_stats s2 = gpu_get_stats(T);
    TH_OK(gpu_unary(T, a, d, GPU_SCALE, 1.0f));  /* overwrites a, which b and c read */
    gpu_stats s3 = gpu_get_stats(T);
    th_expect(s1.barriers == s0.barriers, "no barrier between independent ops (%llu)",
              (unsigned long long)(s1.barriers - s0.barriers));
    th_expect(s2.barriers == s1.barriers + 1, "a barrier before a consumer");
    th_expect(s3.barriers == s2.barriers + 1, "a barrier before overwriting an input");
    TH_OK(gpu_sync(T));
    th_expect(gpu_get_stats(T).submits == s0.submits + 1, "one submit for the whole chain");
    float *got = th_read(a), *want = th_alloc(1000 * 4);
    for (int i = 0; i < 1000; i++) want[i] = 5 * x[i];
    th_check("dependent chain", want, got, 1000, 1e-6);
    free(x), free(got), free(want);
    gpu_free(T, a), gpu_free(T, b), gpu_free(T, c), gpu_free(T, d);
}

/* A table of 1 GiB (over lavapipe's 128 MiB binding limit) is bound in row ranges. */
static void test_one_gib_table(void)
{
    const int64_t D = 2048, V = 262144; /* f16: 1 GiB */
    uint16_t *h = th_alloc((size_t)(D * V) * 2);
    uint32_t z = 12345;
    for (int64_t i = 0; i < D * V; i++) { /* no pattern repeats with the row */
        z = z * 1664525u + 1013904223u;
        h[i] = gpu_f32_to_f16(((z >> 8) / 16777216.0f - 0.5f) * 2.0f);
    }
    gpu_tensor *tb = gpu_new(T, GPU_F16, D, V, 1, 1, "big_table");
    th_expect(tb != NULL, "1 GiB tensor: %s", gpu_errmsg());
    if (!tb) {
        free(h);
        return;
    }
    TH_OK(gpu_upload(T, tb, h, GPU_F16));
    float ids[5] = {0, 65535, 131072, 200001, (float)(V - 1)};
    gpu_tensor *I = th_tensor(GPU_I32, 5, 1, 1, 1, ids), *Y = th_out(D, 5, 1, 1);
    TH_OK(gpu_get_rows(T, Y, tb, I));
    float *got = th_read(Y), *want = th_alloc(5 * D * 4);
    for (int i = 0; i < 5; i++)
        for (int64_t d = 0; d < D; d++) want[i * D + d] = ref_half(h[(int64_t)ids[i] * D + d]);
    th_check("get_rows from a 1 GiB table", want, got, 5 * D, 0);
    /* and a product with it: y = table . x, every row from its own binding range */
    float *x = th_randv(D, 1.0f);
    gpu_tensor *X = th_tensor(GPU_F32, D, 1, 1, 1, x), *Yv = th_out(V, 1, 1, 1);
    TH_OK(gpu_matmul(T, Yv, tb, X));
    float *gv = th_read(Yv), *wv = th_alloc((size_t)V * 4), lut[65536];
    for (int i = 0; i < 65536; i++) lut[i] = ref_half((uint16_t)i);
    for (int64_t r = 0; r < V; r++) {
        float s = 0;
        for (int64_t d = 0; d < D; d++) s += lut[h[r * D + d]] * x[d];
        wv[r] = s;
    }
    th_check("matrix-vector product over a 1 GiB weight, every row", wv, gv, V, 1e-5);
    free(h), free(got), free(want), free(x), free(gv), free(wv);
    gpu_free(T, tb), gpu_free(T, I), gpu_free(T, Y), gpu_free(T, X), gpu_free(T, Yv);
}

static void test_errors_are_clear(void)
{
    gpu_tensor *W = gpu_new(T, GPU_F32, 64, 10, 1, 1, "W"), *x = gpu_new(T, GPU_F32, 32, 1, 1, 1, "x");
    gpu_tensor *y = gpu_new(T, GPU_F32, 10, 1, 1, 1, "y");
    th_expect(gpu_matmul(T, y, W, x) != 0 && strstr(gpu_errmsg(), "W[64,10,1,1]") &&
                  strstr(gpu_errmsg(), "x[32,1,1,1]"),
              "shape mismatch names both shapes: %s", gpu_errmsg());
    th_expect(gpu_sync(T) != 0, "the error is sticky until cleared");
    gpu_clear_error(T);
    th_expect(gpu_sync(T) == 0, "cleared");
    gpu_tensor *q = gpu_new(T, GPU_Q8_0, 40, 2, 1, 1, "q");
    th_expect(q == NULL && strstr(gpu_errmsg(), "multiple of 32"), "q8_0 row size: %s", gpu_errmsg());
    gpu_clear_error(T);
    gpu_free(T, W), gpu_free(T, x), gpu_free(T, y);
}

/* The peak follows the most memory held at once, and a reset starts it from what is held. */
static void test_memory_peak(void)
{
    gpu_memory_peak_reset(T);
    uint64_t base = gpu_memory_in_use(T);
    gpu_tensor *a = gpu_new(T, GPU_F32, 1 << 20, 1, 1, 1, "a"); /* 4 MiB */
    uint64_t with_a = gpu_memory_in_use(T);
    gpu_tensor *b = gpu_new(T, GPU_F32, 1 << 21, 1, 1, 1, "b"); /* 8 MiB */
    uint64_t with_ab = gpu_memory_in_use(T);
    gpu_free(T, b);
    th_expect(with_a - base >= (4u << 20) && with_ab - with_a >= (8u << 20) &&
                  gpu_memory_in_use(T) == with_a,
              "allocations are counted (%llu, %llu)", (unsigned long long)(with_a - base),
              (unsigned long long)(with_ab - with_a));
    th_expect(gpu_memory_peak(T) == with_ab, "the peak is the most held at once");
    gpu_memory_peak_reset(T);
    th_expect(gpu_memory_peak(T) == with_a, "a reset starts the peak from what is held");
    gpu_free(T, a);
    th_expect(gpu_memory_peak(T) == with_a && gpu_memory_in_use(T) == base, "freeing lowers no peak");
}

/* On lavapipe a dispatch whose invocations would loop past 65535 times is refused. */
static void test_loop_cap_refused(void)
{
    if (!strstr(gpu_info(T)->name, "llvmpipe")) return;
    const int64_t K = 1 << 20; /* 131072 matvec units for one row */
    gpu_tensor *W = gpu_new(T, GPU_F32, K, 1, 1, 1, "W"), *x = gpu_new(T, GPU_F32, K, 1, 1, 1, "x");
    gpu_tensor *y = gpu_new(T, GPU_F32, 1, 1, 1, 1, "y");
    th_expect(gpu_matmul(T, y, W, x) != 0 && strstr(gpu_errmsg(), "65535"),
              "loop cap refused: %s", gpu_errmsg());
    gpu_clear_error(T);
    gpu_free(T, W), gpu_free(T, x), gpu_free(T, y);
}

int main(void)
{
    th_init("test_device");
    test_devices_listed();
    test_barriers_follow_dependencies();
    test_errors_are_clear();
    test_loop_cap_refused();
    test_memory_peak();
    test_one_gib_table();
    return th_finish();
}
