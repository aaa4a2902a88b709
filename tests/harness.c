/* harness.c: see harness.h. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "check.h"
#include "harness.h"

gpu_ctx *T;
static const char *test_name;
static uint64_t rng;

void th_init(const char *name)
{
    test_name = name;
    const char *s = getenv("VKSEEK_TEST_SEED");
    rng = s ? strtoull(s, NULL, 10) : (uint64_t)time(NULL) ^ ((uint64_t)clock() << 20);
    printf("%s: seed %llu (VKSEEK_TEST_SEED repeats it)\n", name, (unsigned long long)rng);
    T = gpu_open(-1);
    if (!T) {
        fprintf(stderr, "%s: cannot open a device: %s\n", name, gpu_errmsg());
        exit(1);
    }
    printf("%s: device %s\n", name, gpu_info(T)->name);
}

int th_finish(void)
{
    uint64_t v = gpu_validation_errors(T);
    th_expect(v == 0, "%llu validation messages", (unsigned long long)v);
    gpu_close(T);
    return check_finish(test_name);
}

static uint64_t next(void)
{
    /* splitmix64 */
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

float th_rand(void) { return (float)((next() >> 40) / 8388608.0 - 1.0); }
uint32_t th_randu(uint32_t n) { return (uint32_t)(next() % n); }

void *th_alloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "%s: out of memory\n", test_name);
        exit(1);
    }
    return p;
}

float *th_randv(int64_t n, float scale)
{
    float *p = th_alloc((size_t)n * sizeof *p);
    for (int64_t i = 0; i < n; i++) p[i] = scale * th_rand();
    return p;
}

gpu_tensor *th_tensor(gpu_type type, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3,
                      const float *data)
{
    gpu_tensor *t = gpu_new(T, type, ne0, ne1, ne2, ne3, "in");
    if (!t || (type == GPU_I32 ? 0 : gpu_upload(T, t, data, GPU_F32))) {
        fprintf(stderr, "%s: tensor setup failed: %s\n", test_name, gpu_errmsg());
        exit(1);
    }
    if (type == GPU_I32) {
        int64_t n = gpu_nelem(t);
        int32_t *ids = th_alloc((size_t)n * 4);
        for (int64_t i = 0; i < n; i++) ids[i] = (int32_t)data[i];
        if (gpu_upload(T, t, ids, GPU_I32)) {
            fprintf(stderr, "%s: tensor setup failed: %s\n", test_name, gpu_errmsg());
            exit(1);
        }
        free(ids);
    }
    return t;
}

gpu_tensor *th_out(int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3)
{
    gpu_tensor *t = gpu_new(T, GPU_F32, ne0, ne1, ne2, ne3, "out");
    if (!t || gpu_fill(T, t, 0x7fc00000u)) {
        fprintf(stderr, "%s: output setup failed: %s\n", test_name, gpu_errmsg());
        exit(1);
    }
    return t;
}

float *th_read(const gpu_tensor *t)
{
    float *p = th_alloc((size_t)gpu_nelem(t) * sizeof *p);
    if (gpu_read_f32(T, t, p)) {
        th_expect(0, "read back: %s", gpu_errmsg());
        for (int64_t i = 0; i < gpu_nelem(t); i++) p[i] = NAN;
    }
    return p;
}

int th_expect(int ok, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return check(ok, "%s: %s", test_name, msg);
}

int th_check(const char *what, const float *want, const float *got, int64_t n, double tol)
{
    double num = 0, den = 0, worst = -1;
    int64_t wi = 0, bad = -1;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(got[i]) && isfinite(want[i])) {
            bad = i;
            break;
        }
        double d = (double)got[i] - want[i];
        num += d * d;
        den += (double)want[i] * want[i];
        if (fabs(d) > worst) worst = fabs(d), wi = i;
    }
    if (bad >= 0)
        return th_expect(0, "%s: element %lld is %g, expected %g (not written or NaN)", what,
                         (long long)bad, got[bad], want[bad]);
    double rel = den > 0 ? sqrt(num / den) : sqrt(num);
    return th_expect(rel <= tol, "%s: relative error %.3g > %.3g; worst [%lld] expected %.9g got %.9g",
                     what, rel, tol, (long long)wi, n ? want[wi] : 0.0, n ? got[wi] : 0.0);
}

int th_check_abs(const char *what, const float *want, const float *got, int64_t n, double atol)
{
    double worst = 0;
    int64_t wi = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (!(d <= worst)) worst = d, wi = i; /* NaN lands here */
    }
    return th_expect(worst <= atol, "%s: max |diff| %.3g > %.3g at [%lld] (want %.6g got %.6g)",
                     what, worst, atol, (long long)wi, n ? want[wi] : 0.0, n ? got[wi] : 0.0);
}
