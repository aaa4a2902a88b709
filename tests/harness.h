/* harness.h: what every op test shares: a device with validation on, fresh random inputs
 * (the seed is printed; VKSEEK_TEST_SEED repeats a run), outputs poisoned with NaN before
 * the op runs, and comparison by relative L2 error where any NaN fails. */
#ifndef VKSEEK_TEST_HARNESS_H
#define VKSEEK_TEST_HARNESS_H

#include <stdint.h>
#include "gpu/gpu.h"

extern gpu_ctx *T;   /* the device under test */

void th_init(const char *name);
/* Prints "N passed, M failed", fails on any validation message; returns the exit code. */
int th_finish(void);

float th_rand(void);                          /* uniform in [-1, 1) */
uint32_t th_randu(uint32_t n);                /* uniform in [0, n) */
float *th_randv(int64_t n, float scale);      /* fresh array of scale * th_rand() */
void *th_alloc(size_t bytes);                 /* malloc that aborts the test on failure */

/* A device tensor holding data (converted from f32 to type). */
gpu_tensor *th_tensor(gpu_type type, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3,
                      const float *data);
/* An f32 output tensor filled with NaN, so an element the op forgets fails the check. */
gpu_tensor *th_out(int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3);
/* Reads t back as f32 (fresh array). */
float *th_read(const gpu_tensor *t);

/* Records one check: rel L2 error of got vs want under tol, no NaN/Inf in got.
 * On failure prints the worst element's index, expected and actual. Returns 1 if passed. */
int th_check(const char *what, const float *want, const float *got, int64_t n, double tol);
/* Records one check by the largest absolute difference (the goldens state absolute
 * tolerances); NaN fails. */
int th_check_abs(const char *what, const float *want, const float *got, int64_t n, double atol);
/* Records a plain condition. */
int th_expect(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Fails the test when a gpu call failed (prints gpu_errmsg). */
#define TH_OK(call)                                                  \
    do {                                                             \
        int th_ok_ = (call) == 0;                                    \
        th_expect(th_ok_, "%s: %s", #call, gpu_errmsg());            \
    } while (0)

#endif
