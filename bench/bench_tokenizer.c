/* bench_tokenizer.c: `vkseek bench tokenizer --model DIR [--mb N]`: encoding and decoding
 * speed on a generated mixed-language corpus (bench/text_corpus.c), in MB/s of UTF-8
 * text. The first encode starts with an empty pre-token cache; later ones reuse it, as a
 * long-running server would. A program, not a test: it prints figures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bench/bench.h"
#include "bench/text_corpus.h"
#include "cli/cli.h"
#include "text/tokenizer.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int bench_tokenizer(int argc, char **argv)
{
    const char *model = NULL;
    double mb = 1.0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) model = argv[++i];
        else if (strcmp(argv[i], "--mb") == 0 && i + 1 < argc) {
            char *end;
            mb = strtod(argv[++i], &end);
            if (*end || !(mb >= 0.01 && mb <= 1024)) return cli_error("bench tokenizer: --mb takes 0.01 to 1024");
        } else
            return cli_error("bench tokenizer: unexpected argument '%s' (usage: --model DIR [--mb N])", argv[i]);
    }
    if (!model) return cli_error("bench tokenizer: --model DIR is required (the directory with tokenizer.json)");

    char err[512];
    double t0 = now();
    tokenizer *t = tok_load(model, err, sizeof err);
    if (!t) return cli_error("%s", err);
    double load = now() - t0;
    size_t len;
    char *text = text_corpus((size_t)(mb * 1e6), 12345, &len);
    if (!text) {
        tok_free(t);
        return cli_error("bench tokenizer: out of memory");
    }
    printf("tokenizer: %s (vocabulary %d), loaded in %.0f ms\n", model, tok_vocab_size(t), load * 1e3);

    int32_t *ids = NULL;
    size_t n = 0;
    double cold = 0, warm = 1e30;
    for (int rep = 0; rep < 4; rep++) {
        free(ids);
        t0 = now();
        if (tok_encode(t, text, len, 0, &ids, &n, err, sizeof err)) {
            free(text);
            tok_free(t);
            return cli_error("bench tokenizer: %s", err);
        }
        double dt = now() - t0;
        if (rep == 0) cold = dt;
        else if (dt < warm) warm = dt;
    }
    char *back;
    size_t back_len;
    t0 = now();
    int rc = tok_decode(t, ids, n, &back, &back_len, err, sizeof err);
    double dec = now() - t0;
    if (rc == 0 && (back_len != len || memcmp(back, text, len) != 0))
        rc = -1, snprintf(err, sizeof err, "decode(encode(corpus)) differs from the corpus");
    if (rc == 0) free(back);
    free(ids);
    free(text);
    tok_free(t);
    if (rc) return cli_error("bench tokenizer: %s", err);

    printf("corpus: %.2f MB of prose, code, Chinese, Japanese, emoji; %zu tokens (%.2f bytes/token)\n",
           len / 1e6, n, (double)len / (double)n);
    printf("encode, empty cache: %7.2f MB/s\n", len / cold / 1e6);
    printf("encode, warm cache:  %7.2f MB/s (best of 3)\n", len / warm / 1e6);
    printf("decode:              %7.2f MB/s\n", len / dec / 1e6);
    return 0;
}
