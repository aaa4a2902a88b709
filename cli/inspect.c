/* inspect.c: `vkseek inspect DIR [--quant Q] [--ctx N] [--seqs N] [--kv-cache F]
 * [--speculative mtp] [--device N]`: what a checkpoint is and the device memory it will take
 * at those settings (the defaults: `vkseek run`'s) on that device: weights, KV cache,
 * activations (engine/plan.c). Nothing is loaded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "engine/checkpoint.h"
#include "engine/config.h"
#include "engine/loader.h"
#include "engine/model.h"
#include "engine/plan.h"
#include "text/lm.h"

static void print_lm(const lm_config *m)
{
    printf("language model: %s, %d layers, width %d, %d heads", lm_arch_name(m->arch),
           m->n_layers, m->hidden_size, m->n_heads);
    if (m->arch == LM_DEEPSEEK_V2 || m->arch == LM_DEEPSEEK_V3)
        printf(" (MLA: q_lora %d, kv_lora %d, rope %d)", m->q_lora_rank, m->kv_lora_rank,
               m->qk_rope_head_dim);
    else if (m->n_kv_heads != m->n_heads)
        printf(" (%d key/value heads)", m->n_kv_heads);
    printf(", vocabulary %d\n", m->vocab_size);
    if (m->n_routed_experts)
        printf("experts: %d routed (%d per token), %d shared, first %d layers dense\n",
               m->n_routed_experts, m->n_experts_per_tok, m->n_shared_experts,
               m->first_k_dense_replace);
}

int cmd_inspect(int argc, char **argv)
{
    const char *dir = NULL, *qname = "keep";
    model_options mo = {.n_seq = 1, .device = cli_device_arg(&argc, argv)};
    if (mo.device == -2) return cli_error("--device needs a device index");
    if ((mo.kv_f32 = cli_kv_cache_arg(&argc, argv)) < 0) return cli_error("--kv-cache: use f16 or f32");
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        long v = i + 1 < argc ? strtol(argv[i + 1], &end, 10) : 0;
        int num = end && end != argv[i + 1] && !*end && v >= 1 && v <= (1 << 20);
        if (strcmp(argv[i], "--quant") == 0 && i + 1 < argc) qname = argv[++i];
        else if (strcmp(argv[i], "--ctx") == 0 && num) mo.n_ctx = (int)v, i++;
        else if (strcmp(argv[i], "--seqs") == 0 && num && v <= 4096) mo.n_seq = (int)v, i++;
        else if (strcmp(argv[i], "--speculative") == 0 && i + 1 < argc && !strcmp(argv[i + 1], "mtp"))
            mo.mtp = 1, i++;
        else if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) dir = argv[++i];
        else if (argv[i][0] == '-') return cli_error("inspect: unknown option '%s'", argv[i]);
        else if (!dir) dir = argv[i];
        else return cli_error("inspect: unexpected argument '%s'", argv[i]);
    }
    char builtin[4096];
    if (!(dir = cli_model_dir(dir, builtin, sizeof builtin))) return 1;
    int quant;
    if (quant_from_name(qname, &quant))
        return cli_error("--quant '%s': use f16, bf16, q8_0, q4_0 or keep", qname);
    char err[512];
    model_config cfg;
    if (config_load(dir, &cfg, err, sizeof err)) return cli_error("%s", err);
    checkpoint *ck;
    if (ckpt_open(dir, &ck, err, sizeof err)) return cli_error("%s", err);

    printf("checkpoint: %s (%d tensors in %d file%s)\n", dir, ckpt_count(ck), ckpt_shards(ck),
           ckpt_shards(ck) == 1 ? "" : "s");
    if (cfg.is_janus)
        printf("janus: vision %dpx/%d, %d layers x %d; image tokens %d of dim %d; VQ ch %d\n",
               cfg.vision.image_size, cfg.vision.patch_size, cfg.vision.layers,
               cfg.vision.width, cfg.vq.codebook_size, cfg.vq.embed_dim, cfg.vq.ch);
    print_lm(&cfg.lm);

    uint64_t params = 0, file_bytes[TF_DTYPE_COUNT] = {0}, dev_bytes[GPU_TYPE_COUNT] = {0};
    int file_count[TF_DTYPE_COUNT] = {0}, dev_count[GPU_TYPE_COUNT] = {0};
    for (int i = 0; i < ckpt_count(ck); i++) {
        const tf_tensor *t = ckpt_tensor(ck, i);
        file_bytes[t->dtype] += t->nbytes;
        file_count[t->dtype]++;
        if (strstr(t->name, "_scale_inv")) continue; /* folded into their FP8 weights */
        params += (uint64_t)tf_nelem(t);
        if (plan_unused(t->name, &cfg.lm, mo.mtp)) continue;
        gpu_type g = load_format(t, quant);
        dev_bytes[g] += load_device_bytes(t, quant);
        dev_count[g]++;
    }
    char sz[32];
    if (params >= 1000000000ull) printf("parameters: %.3f B\n", params / 1e9);
    else printf("parameters: %.3f M\n", params / 1e6);
    printf("in the files:");
    for (int d = 0; d < TF_DTYPE_COUNT; d++)
        if (file_count[d])
            printf("  %s %s (%d)", tf_dtype_name((tf_dtype)d),
                   plan_size(file_bytes[d], sz, sizeof sz), file_count[d]);
    printf("\non the device (--quant %s):", qname);
    for (int t = 0; t < GPU_TYPE_COUNT; t++)
        if (dev_count[t])
            printf("  %s %s (%d)", gpu_type_name((gpu_type)t),
                   plan_size(dev_bytes[t], sz, sizeof sz), dev_count[t]);
    printf("\n");
    lm_options lo = {.n_ctx = model_ctx(&cfg, &mo), .n_seq = mo.n_seq, .mtp = mo.mtp,
                     .kv_f32 = mo.kv_f32, .quant = quant};
    gpu_ctx *g = gpu_open(mo.device);
    if (!g) {
        ckpt_close(ck);
        return cli_error("%s (the activations depend on the device)", gpu_errmsg());
    }
    memory_plan p;
    plan_make(g, &cfg, ck, &lo, &p);
    printf("device: %s\n", gpu_info(g)->name);
    printf("weights: %s\n", plan_size(p.weights, sz, sizeof sz));
    printf("KV cache (--ctx %d x %d sequence%s, %s): %s\n", lo.n_ctx, lo.n_seq,
           lo.n_seq == 1 ? "" : "s", lo.kv_f32 ? "f32" : "f16", plan_size(p.kv, sz, sizeof sz));
    printf("activations: %s", plan_size(p.acts, sz, sizeof sz));
    printf(", scratch %s", plan_size(p.scratch, sz, sizeof sz));
    if (p.staging) printf(", staging %s", plan_size(p.staging, sz, sizeof sz));
    printf("\ndevice memory: %s\n", plan_size(plan_total(&p), sz, sizeof sz));
    gpu_close(g);
    ckpt_close(ck);
    return 0;
}
