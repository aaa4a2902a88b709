/* bench.h: benchmark programs run by `vkseek bench WHAT`. Each takes the arguments after
 * WHAT (argv[0] is WHAT) and returns the exit code. */
#ifndef VKSEEK_BENCH_H
#define VKSEEK_BENCH_H

int bench_ops(int argc, char **argv);
int bench_load(int argc, char **argv);
int bench_text(int argc, char **argv);
int bench_image(int argc, char **argv);
int bench_tokenizer(int argc, char **argv);

#endif
