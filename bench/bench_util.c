/* bench_util.c: what the benchmarks share: a monotonic clock, the host's copy rate (the
 * memory bandwidth their bounds are measured against) and the device memory a run took. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bench/bench.h"

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double bench_copy_gbs(size_t bytes, int tries)
{
    char *a = malloc(bytes), *b = malloc(bytes);
    double best = 1e30;
    if (!a || !b) {
        free(a), free(b);
        return 0;
    }
    memset(a, 1, bytes), memset(b, 2, bytes);
    for (int i = 0; i < tries; i++) {
        double t = bench_now();
        memcpy(b, a, bytes);
        t = bench_now() - t;
        if (t < best) best = t;
        a[i] = b[bytes - 1 - i]; /* keep the copies observable */
    }
    free(a), free(b);
    return bytes / best / 1e9;
}

void bench_print_memory(const model *m, uint64_t held)
{
    uint64_t peak = gpu_memory_peak(m->ctx), plan = plan_total(&m->plan);
    char str[160];
    printf("device memory         %8.1f MB weights and caches, peak %.1f MB: %.1f MB for "
           "activations, scratch and staging\n", held / 1e6, peak / 1e6, (peak - held) / 1e6);
    printf("planned memory        %8.1f MB (%s), the peak %s it%s\n", plan / 1e6,
           plan_str(&m->plan, str, sizeof str), peak <= plan ? "within" : "OVER",
           gpu_scratch_peak(m->ctx) > m->plan.scratch ? " (a stream outgrew the planned scratch)"
                                                      : "");
}
