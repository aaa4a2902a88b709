/* tokenize.c: `vkseek tokenize` and `vkseek detokenize`: text to token ids and back with
 * a model's tokenizer.json, for checking prompts and debugging. Prints results on stdout,
 * one-line errors on stderr (exit code 1). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "text/tokenizer.h"

/* Reads all of stdin (for TEXT "-"). NULL on failure. */
static char *read_stdin(size_t *len)
{
    size_t cap = 4096, n = 0;
    char *p = malloc(cap);
    while (p) {
        n += fread(p + n, 1, cap - n, stdin);
        if (n < cap) break;
        char *q = cap < ((size_t)1 << 31) ? realloc(p, cap * 2) : NULL;
        if (!q) {
            free(p);
            return NULL;
        }
        p = q;
        cap *= 2;
    }
    if (p && ferror(stdin)) {
        free(p);
        return NULL;
    }
    *len = n;
    return p;
}

/* Takes --model DIR (and --no-bos when no_bos is non-NULL) out of argv, leaving the
 * positional arguments in argv[1..*argc). Returns the model directory (the built-in one
 * without --model) or NULL. */
static const char *model_arg(const char *cmd, int *argc, char **argv, int *no_bos)
{
    const char *model = NULL;
    int out = 1, options = 1;
    for (int i = 1; i < *argc; i++) {
        if (options && strcmp(argv[i], "--") == 0) {
            options = 0;
        } else if (options && strcmp(argv[i], "--model") == 0) {
            if (i + 1 >= *argc) {
                cli_error("%s: --model needs a directory", cmd);
                return NULL;
            }
            model = argv[++i];
        } else if (options && no_bos && strcmp(argv[i], "--no-bos") == 0) {
            *no_bos = 1;
        } else if (options && argv[i][0] == '-' && argv[i][1] == '-') {
            cli_error("%s: unknown option '%s'", cmd, argv[i]);
            return NULL;
        } else
            argv[out++] = argv[i];
    }
    *argc = out;
    static char builtin[4096];
    return cli_model_dir(model, builtin, sizeof builtin);
}

int cmd_tokenize(int argc, char **argv)
{
    int no_bos = 0;
    const char *model = model_arg("tokenize", &argc, argv, &no_bos);
    if (!model) return 1;
    if (argc != 2) return cli_error("tokenize: give exactly one TEXT argument (\"-\" reads stdin)");
    char err[512];
    tokenizer *t = tok_load(model, err, sizeof err);
    if (!t) return cli_error("%s", err);
    size_t len = strlen(argv[1]);
    char *text = argv[1];
    if (strcmp(argv[1], "-") == 0 && !(text = read_stdin(&len))) {
        tok_free(t);
        return cli_error("tokenize: reading stdin: %s", strerror(errno));
    }
    int32_t *ids;
    size_t n;
    int rc = tok_encode(t, text, len, tok_add_bos(t) && !no_bos, &ids, &n, err, sizeof err);
    if (text != argv[1]) free(text);
    tok_free(t);
    if (rc) return cli_error("tokenize: %s", err);
    for (size_t i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
    putchar('\n');
    free(ids);
    return 0;
}

int cmd_detokenize(int argc, char **argv)
{
    const char *model = model_arg("detokenize", &argc, argv, NULL);
    if (!model) return 1;
    if (argc < 2) return cli_error("detokenize: give the token ids to decode");
    int32_t *ids = malloc((size_t)(argc - 1) * sizeof *ids);
    if (!ids) return cli_error("detokenize: out of memory");
    for (int i = 1; i < argc; i++) {
        char *end;
        errno = 0;
        long v = strtol(argv[i], &end, 10);
        if (end == argv[i] || *end || errno || v < 0 || v > INT32_MAX) {
            free(ids);
            return cli_error("detokenize: '%s' is not a token id", argv[i]);
        }
        ids[i - 1] = (int32_t)v;
    }
    char err[512], *text;
    size_t len;
    tokenizer *t = tok_load(model, err, sizeof err);
    if (!t) {
        free(ids);
        return cli_error("%s", err);
    }
    int rc = tok_decode(t, ids, (size_t)(argc - 1), &text, &len, err, sizeof err);
    tok_free(t);
    free(ids);
    if (rc) return cli_error("detokenize: %s", err);
    fwrite(text, 1, len, stdout);
    putchar('\n');
    free(text);
    return 0;
}
