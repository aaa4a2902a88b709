/* logits.c: `vkseek logits --model DIR --tokens "ID ID ..." [--all] -o FILE`: the logits of
 * the last position (or of every position) as raw little-endian f32, for comparing against
 * other implementations. Written to a temporary name and renamed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"
#include "engine/loader.h"
#include "engine/model.h"

#define MAX_TOKENS 65536

int cmd_logits(int argc, char **argv)
{
    const char *dir = NULL, *tokens = NULL, *out = NULL, *qname = "keep";
    int all = 0;
    model_options o = {.device = cli_device_arg(&argc, argv), .quant = QUANT_KEEP, .n_seq = 1};
    if (o.device == -2) return cli_error("--device needs a device index");
    int kv = cli_kv_cache_arg(&argc, argv);
    if (kv < 0) return cli_error("--kv-cache: use f16 or f32");
    o.kv_f32 = kv;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) dir = argv[++i];
        else if (strcmp(argv[i], "--tokens") == 0 && i + 1 < argc) tokens = argv[++i];
        else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) out = argv[++i];
        else if (strcmp(argv[i], "--quant") == 0 && i + 1 < argc) qname = argv[++i];
        else if (strcmp(argv[i], "--all") == 0) all = 1;
        else return cli_error("logits: unexpected argument '%s'", argv[i]);
    }
    if (!dir || !tokens || !out)
        return cli_error("logits: usage: vkseek logits --model DIR --tokens \"ID ...\" [--all] -o FILE");
    if (quant_from_name(qname, &o.quant))
        return cli_error("--quant '%s': use f16, bf16, q8_0, q4_0 or keep", qname);
    int32_t *ids = malloc(MAX_TOKENS * sizeof *ids);
    int n = 0;
    const char *p = tokens;
    while (ids && *p) {
        char *end;
        while (*p == ' ' || *p == ',' || *p == '\t') p++;
        if (!*p) break;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v > 0x7fffffff || n == MAX_TOKENS) {
            free(ids);
            return cli_error("logits: --tokens must be up to %d non-negative ids", MAX_TOKENS);
        }
        ids[n++] = (int32_t)v;
        p = end;
    }
    if (!ids || n == 0) {
        free(ids);
        return cli_error("logits: no token ids given");
    }
    o.n_ctx = n;
    char err[512];
    model *m = model_open(dir, &o, err, sizeof err);
    if (!m) {
        free(ids);
        return cli_error("%s", err);
    }
    int V = lm_vocab(m->lm), rows = all ? n : 1, rc = 0;
    float *logits = malloc((size_t)rows * V * sizeof *logits);
    gpu_tensor *x = logits ? lm_embed(m->lm, ids, n, err, sizeof err) : NULL;
    if (!x || lm_forward(m->lm, x, n, 0, all, logits, err, sizeof err)) {
        rc = cli_error("logits: %s", logits ? err : "out of memory");
    } else {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp.%d", out, (int)getpid());
        FILE *f = fopen(tmp, "wb");
        int ok = f && fwrite(logits, sizeof *logits, (size_t)rows * V, f) == (size_t)rows * V;
        ok = f && fclose(f) == 0 && ok;
        if (!ok || rename(tmp, out) != 0) {
            rc = cli_error("%s: %s", out, strerror(errno));
            unlink(tmp);
        } else {
            fprintf(stderr, "vkseek: %d x %d logits written to %s\n", rows, V, out);
        }
    }
    gpu_free(m->ctx, x);
    free(logits);
    free(ids);
    model_close(m);
    return rc;
}
