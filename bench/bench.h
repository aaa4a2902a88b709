/* bench.h: benchmark programs run by `vkseek bench WHAT`. Each takes the arguments after
 * WHAT (argv[0] is WHAT) and returns the exit code. */
#ifndef VKSEEK_BENCH_H
#define VKSEEK_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include "engine/model.h"
#include "gpu/gpu.h"

int bench_ops(int argc, char **argv);
int bench_load(int argc, char **argv);
int bench_text(int argc, char **argv);
int bench_image(int argc, char **argv);
int bench_tokenizer(int argc, char **argv);

/* Seconds on a monotonic clock. */
double bench_now(void);
/* GB/s read by the best of `tries` memcpy of `bytes` (the host's memory bandwidth). */
double bench_copy_gbs(size_t bytes, int tries);
/* Prints the device memory a run took: `held` (weights, caches and the reserved scratch,
 * allocated before the run and kept), and the peak since gpu_memory_peak_reset, whose
 * excess over held is what the activations and staging buffers took; then m's plan and
 * whether the peak kept to it. */
void bench_print_memory(const model *m, uint64_t held);

#endif
