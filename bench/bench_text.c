/* bench_text.c: `vkseek bench text --model DIR [--quant Q] [--prompt N] [--gen N]
 * [--speculative mtp]`: prompt processing (batched passes of up to the scheduler's 512
 * tokens, as the engine reads a prompt, so the memory plan holds) and decode (one
 * token per step over the KV cache) in tokens/s, and decode against the memory-bandwidth
 * bound: the weight bytes one token reads (routed experts: only the active ones; the
 * embedding: one row) over the host's measured copy rate. Random token ids: speed does not
 * depend on their meaning. With --speculative mtp, greedy decoding again from the same
 * prompt with the MTP layer's drafts (each step verifies the next token and the draft; the
 * scheduler's way, without its sampler): acceptance and speed-up over plain decoding. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bench/bench.h"
#include "cli/cli.h"
#include "engine/loader.h"
#include "engine/model.h"
#include "engine/scheduler.h"

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

static int argmax(const float *l, int V)
{
    int id = 0;
    for (int i = 1; i < V; i++)
        if (l[i] > l[id]) id = i;
    return id;
}

/* Greedy speculative decoding of n_gen tokens after the prompt, as the scheduler does it:
 * (next, draft) in one forward; the draft is kept when it is the argmax of the first
 * position. The prompt runs again first, with the MTP layer over it (not timed: the
 * prompt's share). logits: [2][V] room. Sets the drafts checked and accepted; 0 or -1 with
 * err set. */
static int spec_decode(model *m, const int32_t *prompt, int n_prompt, int n_gen, float *logits,
                       int *drafts, int *accepted, double *seconds, char *err, size_t errlen)
{
    int V = lm_vocab(m->lm), pos = n_prompt, done = 0, slot = 0;
    int32_t *next = malloc((size_t)n_prompt * sizeof *next), tok[2];
    gpu_tensor *x = next ? lm_embed(m->lm, prompt, n_prompt, err, errlen) : NULL;
    int rc = !x || lm_forward(m->lm, x, n_prompt, 0, 0, logits, err, errlen);
    gpu_free(m->ctx, x);
    if (!next) snprintf(err, errlen, "out of memory");
    if (rc) return free(next), -1;
    memcpy(next, prompt + 1, (size_t)(n_prompt - 1) * sizeof *next);
    next[n_prompt - 1] = argmax(logits, V);
    rc = lm_mtp(m->lm, next, 0, logits, err, errlen);
    tok[0] = next[n_prompt - 1];
    free(next);
    double t0 = bench_now();
    *drafts = *accepted = 0;
    while (rc == 0 && done < n_gen) {
        tok[1] = argmax(logits, V); /* the draft */
        gpu_tensor *x = lm_embed(m->lm, tok, 2, err, errlen);
        rc = !x || lm_forward_rows(m->lm, x, 2, &slot, &pos, 1, logits, err, errlen);
        gpu_free(m->ctx, x);
        if (rc) break;
        int y1 = argmax(logits, V), ok = y1 == tok[1];
        int32_t after[2];
        ++*drafts, *accepted += ok;
        done += 1 + ok, pos += 1 + ok;
        after[0] = y1, after[1] = ok ? argmax(logits + V, V) : y1;
        rc = lm_mtp(m->lm, after, 1, logits, err, errlen);
        tok[0] = after[1];
        memmove(logits, logits + (size_t)ok * V, (size_t)V * sizeof *logits);
    }
    *seconds = bench_now() - t0;
    return rc ? -1 : 0;
}

int bench_text(int argc, char **argv)
{
    const char *dir = NULL, *qname = "keep";
    int n_prompt = 512, n_gen = 128;
    model_options o = {.device = cli_device_arg(&argc, argv), .n_seq = 1, .quant = QUANT_KEEP};
    if (o.device == -2) return cli_error("--device needs a device index");
    int kv = cli_kv_cache_arg(&argc, argv);
    if (kv < 0) return cli_error("--kv-cache: use f16 or f32");
    o.kv_f32 = kv;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) dir = argv[++i];
        else if (strcmp(argv[i], "--quant") == 0 && i + 1 < argc) qname = argv[++i];
        else if (strcmp(argv[i], "--prompt") == 0 && i + 1 < argc) n_prompt = atoi(argv[++i]);
        else if (strcmp(argv[i], "--gen") == 0 && i + 1 < argc) n_gen = atoi(argv[++i]);
        else if (strcmp(argv[i], "--speculative") == 0 && i + 1 < argc && !strcmp(argv[i + 1], "mtp"))
            o.mtp = 1, i++;
        else return cli_error("bench text: unexpected argument '%s'", argv[i]);
    }
    if (!dir) return cli_error("bench text: --model DIR is required");
    if (quant_from_name(qname, &o.quant))
        return cli_error("--quant '%s': use f16, bf16, q8_0, q4_0 or keep", qname);
    if (n_prompt < 1 || n_gen < 1 || n_prompt > 65536 || n_gen > 65536)
        return cli_error("bench text: --prompt and --gen take 1 to 65536 tokens");
    o.n_ctx = n_prompt + n_gen + 2;
    char err[512];
    double t0 = bench_now();
    model *m = model_open(dir, &o, err, sizeof err);
    if (!m) return cli_error("%s", err);
    double t_load = bench_now() - t0;
    uint64_t held = gpu_memory_in_use(m->ctx);
    gpu_memory_peak_reset(m->ctx);
    int V = lm_vocab(m->lm), rc = 0;
    int32_t *ids = malloc((size_t)n_prompt * sizeof *ids);
    float *logits = malloc((size_t)2 * V * sizeof *logits);
    for (int i = 0; ids && i < n_prompt; i++) ids[i] = (int32_t)((i * 7919u + 13) % (unsigned)V);
    if (!ids || !logits) rc = -1, snprintf(err, sizeof err, "out of memory");
    t0 = bench_now();
    for (int p = 0; p < n_prompt && rc == 0; p += SCHED_PREFILL_TOKENS) {
        int n = n_prompt - p < SCHED_PREFILL_TOKENS ? n_prompt - p : SCHED_PREFILL_TOKENS;
        gpu_tensor *x = lm_embed(m->lm, ids + p, n, err, sizeof err);
        if (!x || lm_forward(m->lm, x, n, p, 0, p + n == n_prompt ? logits : NULL, err,
                             sizeof err))
            rc = -1;
        gpu_free(m->ctx, x);
    }
    double t_prefill = bench_now() - t0;
    t0 = bench_now();
    for (int t = 0; t < n_gen && rc == 0; t++) {
        int id = argmax(logits, V);
        gpu_tensor *xt = lm_embed(m->lm, &id, 1, err, sizeof err);
        if (!xt || lm_forward(m->lm, xt, 1, n_prompt + t, 0, logits, err, sizeof err)) rc = -1;
        gpu_free(m->ctx, xt);
    }
    double t_decode = bench_now() - t0, t_spec = 0;
    int drafts = 0, accepted = 0;
    if (rc == 0 && o.mtp)
        rc = spec_decode(m, ids, n_prompt, n_gen, logits, &drafts, &accepted, &t_spec, err,
                         sizeof err);
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
        bench_print_memory(m, held);
        if (o.mtp) {
            int n = drafts + accepted;
            printf("speculative (MTP) %5d tokens %6.2f tokens/s: %d of %d drafts accepted "
                   "(%.0f%%), %.2fx plain decode\n", n, n / t_spec, accepted, drafts,
                   100.0 * accepted / drafts, n / t_spec / tg);
        }
    }
    free(ids), free(logits);
    model_close(m);
    return rc;
}
