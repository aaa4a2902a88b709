/* bench_text.c: `vkseek bench text --model DIR [--quant Q] [--prompt N] [--gen N]`: prompt
 * processing (one batched pass of N tokens) and decode (one token per step over the KV
 * cache) in tokens/s, and decode against the memory-bandwidth bound: the weight bytes one
 * token reads (routed experts: only the active ones; the embedding: one row) over the
 * host's measured copy rate. Random token ids: speed does not depend on their meaning. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bench/bench.h"
#include "cli/cli.h"
#include "engine/loader.h"
#include "engine/model.h"

/* Weight bytes one decoded token reads. */
static double bytes_per_token(const model *m, int quant)
{
    const lm_config *c = &m->cfg.lm;
    double total = 0;
    for (int i = 0; i < ckpt_count(m->ck); i++) {
        const tf_tensor *t = ckpt_tensor(m->ck, i);
        double b = (double)load_device_bytes(t, quant);
        if (strstr(t->name, "_scale_inv") || strstr(t->name, "vision") || strstr(t->name, "gen_"))
            continue;
        if (strstr(t->name, "embed_tokens")) b /= c->vocab_size;            /* one row */
        else if (strstr(t->name, ".mlp.experts.") && c->n_routed_experts)
            b *= (double)c->n_experts_per_tok / c->n_routed_experts;      /* active ones */
        total += b;
    }
    return total;
}

int bench_text(int argc, char **argv)
{
    const char *dir = NULL, *qname = "keep";
    int n_prompt = 512, n_gen = 128;
    model_options o = {.device = cli_device_arg(&argc, argv), .n_seq = 1, .quant = QUANT_KEEP};
    if (o.device == -2) return cli_error("--device needs a device index");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) dir = argv[++i];
        else if (strcmp(argv[i], "--quant") == 0 && i + 1 < argc) qname = argv[++i];
        else if (strcmp(argv[i], "--prompt") == 0 && i + 1 < argc) n_prompt = atoi(argv[++i]);
        else if (strcmp(argv[i], "--gen") == 0 && i + 1 < argc) n_gen = atoi(argv[++i]);
        else return cli_error("bench text: unexpected argument '%s'", argv[i]);
    }
    if (!dir) return cli_error("bench text: --model DIR is required");
    if (quant_from_name(qname, &o.quant))
        return cli_error("--quant '%s': use f16, bf16, q8_0, q4_0 or keep", qname);
    if (n_prompt < 1 || n_gen < 1 || n_prompt > 65536 || n_gen > 65536)
        return cli_error("bench text: --prompt and --gen take 1 to 65536 tokens");
    o.n_ctx = n_prompt + n_gen;
    char err[512];
    double t0 = bench_now();
    model *m = model_open(dir, &o, err, sizeof err);
    if (!m) return cli_error("%s", err);
    double t_load = bench_now() - t0;
    int V = lm_vocab(m->lm), rc = 0;
    int32_t *ids = malloc((size_t)n_prompt * sizeof *ids);
    float *logits = malloc((size_t)V * sizeof *logits);
    for (int i = 0; ids && i < n_prompt; i++) ids[i] = (int32_t)((i * 7919u + 13) % (unsigned)V);
    gpu_tensor *x = ids && logits ? lm_embed(m->lm, ids, n_prompt, err, sizeof err) : NULL;
    t0 = bench_now();
    if (!x || lm_forward(m->lm, x, n_prompt, 0, 0, logits, err, sizeof err)) rc = -1;
    double t_prefill = bench_now() - t0;
    gpu_free(m->ctx, x);
    t0 = bench_now();
    for (int t = 0; t < n_gen && rc == 0; t++) {
        int id = 0;
        for (int i = 1; i < V; i++)
            if (logits[i] > logits[id]) id = i;
        gpu_tensor *xt = lm_embed(m->lm, &id, 1, err, sizeof err);
        if (!xt || lm_forward(m->lm, xt, 1, n_prompt + t, 0, logits, err, sizeof err)) rc = -1;
        gpu_free(m->ctx, xt);
    }
    double t_decode = bench_now() - t0;
    if (rc) {
        rc = cli_error("bench text: %s", err);
    } else {
        double bw = bench_copy_gbs(256u << 20, 3), bpt = bytes_per_token(m, o.quant);
        double tg = n_gen / t_decode;
        printf("model: %s (%s, %d layers), --quant %s, device: %s\n", dir,
               lm_arch_name(m->cfg.lm.arch), m->cfg.lm.n_layers, qname, gpu_info(m->ctx)->name);
        printf("load                  %8.2f s\n", t_load);
        printf("prefill %5d tokens   %8.2f tokens/s (%.2f s)\n", n_prompt, n_prompt / t_prefill, t_prefill);
        printf("decode  %5d tokens   %8.2f tokens/s (%.1f ms per token)\n", n_gen, tg, 1e3 / tg);
        printf("bandwidth bound       %8.2f tokens/s (%.3f GB per token at %.1f GB/s): decode "
               "reaches %.0f%%\n", bw * 1e9 / bpt, bpt / 1e9, bw, 100 * tg * bpt / (bw * 1e9));
    }
    free(ids), free(logits);
    model_close(m);
    return rc;
}
