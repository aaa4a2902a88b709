/* bench_image.c: `vkseek bench image --model DIR [--quant Q] [-n N]...`: Janus text-to-image
 * timed as a user runs it: seconds per image for each batch size (default 1 and 4), the
 * per-step decode time, the VQ decode time, and the ratio to the bandwidth floor (image
 * tokens x weight bytes one step reads / the host's measured copy rate). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bench/bench.h"
#include "cli/cli.h"
#include "engine/janus.h"
#include "engine/loader.h"
#include "engine/scheduler.h"

#define MAX_N 16

/* When the last image token was drawn and when the request ended (the pictures decoded). */
typedef struct {
    double tokens_done, end;
    const char *finish;
    char error[512];
} clock_mark;

static int on_event(const gen_event *e, void *user)
{
    clock_mark *c = user;
    if (e->kind == GEN_IMAGE_PROGRESS && e->step == e->total) c->tokens_done = bench_now();
    if (e->kind == GEN_END) {
        c->end = bench_now();
        c->finish = e->finish;
        if (e->error) snprintf(c->error, sizeof c->error, "%s", e->error);
    }
    return 0;
}

/* Weight bytes one generation step reads: the language model (one embedding row) and the
 * generation head and aligner; not the vision tower or the VQ decoder. */
static double step_bytes(const model *m, int quant)
{
    double total = 0;
    for (int i = 0; i < ckpt_count(m->ck); i++) {
        const tf_tensor *t = ckpt_tensor(m->ck, i);
        const char *n = t->name;
        if (strstr(n, "vision_model") || strstr(n, "gen_vision_model") || strstr(n, "aligner.layers") == n)
            continue;
        double b = (double)load_device_bytes(t, quant);
        if (strstr(n, "embed_tokens") || strstr(n, "gen_embed")) b /= t->shape[0];
        total += b;
    }
    return total;
}

int bench_image(int argc, char **argv)
{
    const char *dir = NULL, *qname = "keep";
    int ns[MAX_N], n_ns = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--quant") && i + 1 < argc) qname = argv[++i];
        else if (!strcmp(argv[i], "-n") && i + 1 < argc && n_ns < MAX_N) {
            int v = atoi(argv[++i]);
            if (v < 1 || v > MAX_N) return cli_error("bench image: -n takes 1 to %d", MAX_N);
            ns[n_ns++] = v;
        } else return cli_error("bench image: unexpected argument '%s'", argv[i]);
    }
    if (!dir) return cli_error("bench image: --model DIR is required");
    int quant;
    if (quant_from_name(qname, &quant))
        return cli_error("--quant '%s': use f16, bf16, q8_0, q4_0 or keep", qname);
    if (!n_ns) ns[0] = 1, ns[1] = 4, n_ns = 2;
    double bw = bench_copy_gbs(256u << 20, 3);
    int rc = 0;
    for (int k = 0; k < n_ns && !rc; k++) {
        int n = ns[k];
        char err[512];
        model_options mo = {.device = -1, .quant = quant, .n_seq = 2 * n};
        model *m = model_open(dir, &mo, err, sizeof err);
        janus *j = m ? janus_load(m, quant, err, sizeof err) : NULL;
        if (!j) {
            rc = cli_error("%s", err);
            model_close(m);
            break;
        }
        int T = janus_image_tokens(j), S = janus_image_size(j);
        int32_t prompt[12] = {0};
        for (int i = 1; i < 12; i++) prompt[i] = 100 + i; /* any ids: speed does not care */
        janus_gen_params gp = {.cfg = 5, .sampling = sampler_defaults()};
        gp.sampling.temperature = 1;
        clock_mark cm = {0};
        sched_request q = {.kind = REQ_IMAGE, .ids = prompt, .n = 12, .sink = on_event,
                           .user = &cm, .n_images = n, .image = gp, .pad_id = 1};
        scheduler *s = sched_new(m, j, err, sizeof err);
        uint64_t held = gpu_memory_in_use(m->ctx);
        gpu_memory_peak_reset(m->ctx);
        double t0 = bench_now();
        int id = s ? sched_submit(s, &q, err, sizeof err) : -1;
        if (id < 0 || sched_run(s, id, err, sizeof err)) {
            rc = cli_error("bench image: %s", err);
        } else if (!cm.finish || strcmp(cm.finish, "stop")) {
            rc = cli_error("bench image: %s", cm.error);
        } else {
            double t_gen = cm.tokens_done - t0, t_vq = cm.end - cm.tokens_done;
            double sb = step_bytes(m, quant), floor = T * sb / (bw * 1e9);
            printf("n=%d (%s, %d tokens per image, %dx%d): %.2f s per image; image tokens %.2f s "
                   "(%.1f ms per step, %.1fx the bandwidth floor of %.2f s), VQ decode %.2f s\n",
                   n, qname, T, S, S, (t_gen + t_vq) / n, t_gen, 1e3 * t_gen / T, t_gen / floor,
                   floor, t_vq);
            bench_print_memory(m, held);
            fflush(stdout);
        }
        sched_free(s);
        janus_free(j);
        model_close(m);
    }
    return rc;
}
