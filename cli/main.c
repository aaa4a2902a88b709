/* main.c: vkseek's entry point: dispatches to the subcommands. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"

static const char usage[] =
    "usage: vkseek COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  run [--model DIR] -p PROMPT [-n N] [--temp T] [--top-p P] [--top-k K] [--min-p P]\n"
    "      [--repeat-penalty R] [--seed S] [--stop S] [--system S] [--raw] [--ctx N]\n"
    "      [--quant Q] [--template NAME] [--hide-reasoning]   answer a prompt\n"
    "      [--speculative mtp]   DeepSeek V3/R1: draft with the MTP layer, verify 2 at a time\n"
    "  chat [--model DIR] [same options]   an interactive chat (/reset, /exit)\n"
    "  ask [--model DIR] --image FILE [--image FILE...] \"question\" [run's options]\n"
    "                       answer about pictures (Janus)\n"
    "  generate [--model DIR] \"prompt\" -o out.png [-n N] [--seed S] [--cfg W] [--temp T]\n"
    "      [--top-k K] [--top-p P] [--quality Q] [--prompts FILE] [--preview]   draw images\n"
    "      (Janus; .png or .jpg; --preview shows them forming; see 'vkseek generate --help')\n"
    "  serve [--model DIR] [--host A] [--port N] [--api-key K] [--max-batch N] [--queue N]\n"
    "      [--gallery DIR]   the OpenAI-compatible HTTP API (see 'vkseek serve --help')\n"
    "  view FILE|DIR...     show pictures in a window (Right/Left move, Esc/Q close)\n"
    "  devices              list the Vulkan devices (the one used is marked *)\n"
    "  bench ops            memory bandwidth, matrix-vector and matrix-matrix rates\n"
    "  bench load --model DIR [--quant Q]     checkpoint open, read and upload rates\n"
    "  bench tokenizer --model DIR            tokenizer MB/s on 1 MB of mixed text\n"
    "  bench text --model DIR [--quant Q] [--prompt N] [--gen N] [--speculative mtp]\n"
    "                       prefill and decode tokens/s (MTP: acceptance and speed-up)\n"
    "  bench image --model DIR [--quant Q] [-n N]...   Janus seconds per image (n=1, 4)\n"
    "  inspect [DIR] [--quant Q] [--ctx N] [--seqs N] [--speculative mtp]\n"
    "                       a checkpoint's architecture, size and device memory\n"
    "  logits --model DIR --tokens \"ID ...\" [--all] -o FILE   raw f32 logits\n"
    "  tokenize [--model DIR] [--no-bos] TEXT   token ids of TEXT (\"-\": stdin)\n"
    "  detokenize [--model DIR] ID...           the text of token ids\n"
    "\n"
    "options:\n"
    "  --device N           use Vulkan device N (also $VKSEEK_DEVICE); default: the first\n"
    "                       discrete GPU, else integrated, else the CPU\n"
    "  --kv-cache f16|f32   the KV cache's format (default f16: half the memory; f32 is exact)\n"
    "  without --model (or DIR), commands use $VKSEEK_MODEL, else the built-in model\n"
    "  (models/vkseek-shapes: a small Janus on a DeepSeek-V3 stack, trained by tools/train)\n"
    "environment:\n"
    "  VKSEEK_PROFILE=1     print per-op GPU times at exit\n"
    "  VKSEEK_VALIDATE=1    enable the Khronos validation layer\n";

int cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("vkseek: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

void cli_loaded(const model *m)
{
    char plan[200];
    if (isatty(2))
        fprintf(stderr, "vkseek: %s on %s; device memory: %s\n", m->dir, gpu_info(m->ctx)->name,
                plan_str(&m->plan, plan, sizeof plan));
}

int cli_device_arg(int *argc, char **argv)
{
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--device") != 0) continue;
        if (i + 1 >= *argc) return -2;
        char *end;
        long v = strtol(argv[i + 1], &end, 10);
        if (*end || end == argv[i + 1] || v < 0 || v > 1000) return -2;
        memmove(&argv[i], &argv[i + 2], (size_t)(*argc - i - 2) * sizeof *argv);
        *argc -= 2;
        return (int)v;
    }
    return -1;
}

int cli_kv_cache_arg(int *argc, char **argv)
{
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--kv-cache") != 0) continue;
        if (i + 1 >= *argc || (strcmp(argv[i + 1], "f16") && strcmp(argv[i + 1], "f32"))) return -2;
        int f32 = !strcmp(argv[i + 1], "f32");
        memmove(&argv[i], &argv[i + 2], (size_t)(*argc - i - 2) * sizeof *argv);
        *argc -= 2;
        return f32;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    if (strcmp(argv[1], "devices") == 0) return cmd_devices(argc - 1, argv + 1);
    if (strcmp(argv[1], "bench") == 0) return cmd_bench(argc - 1, argv + 1);
    if (strcmp(argv[1], "inspect") == 0) return cmd_inspect(argc - 1, argv + 1);
    if (strcmp(argv[1], "logits") == 0) return cmd_logits(argc - 1, argv + 1);
    if (strcmp(argv[1], "run") == 0) return cmd_run(argc - 1, argv + 1);
    if (strcmp(argv[1], "chat") == 0) return cmd_chat(argc - 1, argv + 1);
    if (strcmp(argv[1], "ask") == 0) return cmd_ask(argc - 1, argv + 1);
    if (strcmp(argv[1], "generate") == 0) return cmd_generate(argc - 1, argv + 1);
    if (strcmp(argv[1], "serve") == 0) return cmd_serve(argc - 1, argv + 1);
    if (strcmp(argv[1], "view") == 0) return cmd_view(argc - 1, argv + 1);
    if (strcmp(argv[1], "tokenize") == 0) return cmd_tokenize(argc - 1, argv + 1);
    if (strcmp(argv[1], "detokenize") == 0) return cmd_detokenize(argc - 1, argv + 1);
    return cli_error("unknown command '%s' (see 'vkseek --help')", argv[1]);
}
