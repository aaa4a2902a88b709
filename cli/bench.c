/* bench.c: `vkseek bench WHAT`: dispatches to the benchmarks in bench/. */
#include <string.h>
#include "bench/bench.h"
#include "cli/cli.h"

int cmd_bench(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "ops") == 0) return bench_ops(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "load") == 0) return bench_load(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "text") == 0) return bench_text(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "image") == 0) return bench_image(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "tokenizer") == 0) return bench_tokenizer(argc - 1, argv + 1);
    return cli_error("bench: say what to measure: ops, load, text, image or tokenizer");
}
