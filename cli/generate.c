/* generate.c: `vkseek generate [--model DIR] "prompt" -o out.png [-n N] [--seed S] [--cfg W]
 * [--temp T]`, or `--prompts FILE` for one prompt per line: Janus text-to-image. The N images
 * of a prompt run as one batch; each is written (PNG with the prompt and settings in text
 * chunks, or JPEG by the extension) to a temporary name and renamed. A progress bar on a
 * terminal; quiet otherwise. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli/cli.h"
#include "cli/live.h"
#include "engine/janus.h"
#include "engine/loader.h"
#include "engine/prompt.h"
#include "engine/scheduler.h"
#include "gallery/image_write.h"

#define MAX_N 16
#define MAX_PROMPTS 100000
#define MAX_PROMPT_LEN 8192

static const char usage[] =
    "usage: vkseek generate [--model DIR] \"prompt\" -o out.png [options]\n"
    "       vkseek generate [--model DIR] --prompts FILE -o out.png [options]\n"
    "  -o FILE          .png (prompt and settings in text chunks) or .jpg/.jpeg; several\n"
    "                   images are numbered: out-1.png, out-2.png, ... (in prompt order)\n"
    "  --prompts FILE   one prompt per line (\"-\": stdin); blank lines are skipped\n"
    "  -n N             images per prompt, run as one batch (1..16; default 1)\n"
    "  --seed S         seed of the first image; image k (from 0) uses S + k (default 0)\n"
    "  --cfg W          classifier-free guidance weight (default 5)\n"
    "  --temp T         sampling temperature, 0 = greedy (default 1)\n"
    "  --top-k K, --top-p P   sampling filters (default off)\n"
    "  --quality Q      JPEG quality 1..100 (default 92)\n"
    "  --preview        a window shows the images as they form; keys: S save (out-seedS.png),\n"
    "                   R again with new seeds, Space pause, Esc/Q close (stops, writes nothing\n"
    "                   unfinished); after the run it stays open until closed\n"
    "  --quant Q        weight format on the device: keep, f16, bf16, q8_0, q4_0\n"
    "  --ctx N          context per sequence (default: a prompt of 256 tokens and the image's)\n"
    "  --kv-cache F     the KV cache's format, f16 (default) or f32\n"
    "  --device N       Vulkan device\n"
    "without --model: $VKSEEK_MODEL, else the built-in model\n";

/* What the scheduler's events leave: the pictures, and how the request ended. */
typedef struct {
    double t0;
    int tty;
    int size;
    uint8_t *rgb;             /* [n][size][size][3] */
    live *lv;                 /* the preview window, or NULL */
    const char *finish;
    char error[512];
} progress;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int on_event(const gen_event *e, void *user)
{
    progress *p = user;
    if (p->lv) live_event(p->lv, e);
    if (e->kind == GEN_IMAGE_PROGRESS && p->tty) {
        double dt = now() - p->t0, rate = e->step / (dt > 0 ? dt : 1e-9);
        int done = e->step * 30 / e->total;
        fprintf(stderr, "\r[%.*s%*s] %d/%d tokens  %.1f tokens/s  ETA %.0f s ", done,
                "##############################", 30 - done, "", e->step, e->total, rate,
                (e->total - e->step) / rate);
        if (e->step == e->total) fputc('\n', stderr);
    } else if (e->kind == GEN_IMAGE_DONE) {
        memcpy(p->rgb + (int64_t)e->image * e->size * e->size * 3, e->rgb,
               (size_t)e->size * e->size * 3);
    } else if (e->kind == GEN_END) {
        p->finish = e->finish;
        if (e->error) snprintf(p->error, sizeof p->error, "%s", e->error);
    }
    return 0;
}

/* out.png -> out-3.png for image 3 of several */
static void numbered(const char *out, int i, int n, char *buf, size_t len)
{
    const char *dot = strrchr(out, '.'), *slash = strrchr(out, '/');
    if (n == 1 || !dot || (slash && dot < slash)) {
        snprintf(buf, len, n == 1 ? "%s" : "%s-%d", out, i + 1);
        return;
    }
    snprintf(buf, len, "%.*s-%d%s", (int)(dot - out), out, i + 1, dot);
}

/* out.png -> out-TAG.png */
static void suffixed(const char *out, const char *tag, char *buf, size_t len)
{
    const char *dot = strrchr(out, '.'), *slash = strrchr(out, '/');
    if (!dot || (slash && dot < slash)) snprintf(buf, len, "%s-%s", out, tag);
    else snprintf(buf, len, "%.*s-%s%s", (int)(dot - out), out, tag, dot);
}

/* Reads one prompt per line (blank lines skipped) into a NULL-terminated array. */
static char **read_prompts(const char *path, int *count)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f) return cli_error("%s: %s", path, strerror(errno)), NULL;
    char **list = calloc(MAX_PROMPTS + 1, sizeof *list), line[MAX_PROMPT_LEN + 2];
    int n = 0, line_no = 0, bad = !list;
    while (!bad && fgets(line, sizeof line, f)) {
        line_no++;
        size_t len = strlen(line);
        if (len && line[len - 1] == '\n') line[--len] = 0;
        else if (!feof(f)) bad = cli_error("%s:%d: a prompt longer than %d bytes", path, line_no, MAX_PROMPT_LEN);
        if (len && line[len - 1] == '\r') line[--len] = 0;
        if (bad || strspn(line, " \t") == len) continue;
        if (n == MAX_PROMPTS) bad = cli_error("%s: more than %d prompts", path, MAX_PROMPTS);
        else if (!(list[n++] = strdup(line))) bad = cli_error("out of memory");
    }
    if (!bad && ferror(f)) bad = cli_error("%s: %s", path, strerror(errno));
    if (f != stdin) fclose(f);
    if (!bad && n == 0) bad = cli_error("%s: no prompts in it", path);
    if (bad) {
        for (int i = 0; list && i < n; i++) free(list[i]);
        free(list);
        return NULL;
    }
    *count = n;
    return list;
}

typedef struct {
    janus *j;
    model *m;
    scheduler *s;
    live *lv;                /* the preview window, or NULL */
    const char *dir, *out;
    janus_gen_params gp;     /* gp.sampling.seed: the seed of image 0 of the run */
    int n, total, quality;   /* images per prompt, in the whole run */
    int again;               /* R was pressed: draw the prompt again with new seeds */
} gen_run;

static volatile sig_atomic_t interrupted; /* SIGINT or SIGTERM */

/* The first stops the generation at the next step; a second one ends the process. */
static void on_signal(int sig)
{
    if (interrupted) {
        signal(sig, SIG_DFL);
        raise(sig);
    }
    interrupted = 1;
}

/* Draws the n images of prompt with seeds seed.. into pg->rgb, stepping the scheduler here
 * so the preview (if any) runs between steps. 0 finished; 1 ended early (interrupted, the
 * window closed, or R: r->again); -1 failed (printed). */
static int draw(gen_run *r, const int32_t *ids, int n_ids, int32_t pad, const char *prompt,
                uint64_t seed, progress *pg)
{
    char err[512];
    janus_gen_params gp = r->gp;
    gp.sampling.seed = seed;
    pg->finish = NULL, pg->error[0] = 0, pg->t0 = now();
    sched_request q = {.kind = REQ_IMAGE, .ids = ids, .n = n_ids, .sink = on_event,
                       .user = pg, .n_images = r->n, .image = gp, .pad_id = pad};
    int id = sched_submit(r->s, &q, err, sizeof err);
    if (id < 0) return cli_error("%s", err), -1;
    if (r->lv) live_start(r->lv, prompt, seed);
    int stop = 0;
    r->again = 0;
    while (!pg->finish) {
        if (interrupted && !stop) stop = 1;
        if (stop == 1) sched_cancel(r->s, id), stop = 2;
        /* paused: no steps, except to finish a cancel */
        if ((stop || !(r->lv && live_paused(r->lv))) && sched_step(r->s, err, sizeof err))
            return cli_error("%s", err), -1;
        if (!r->lv) continue;
        err[0] = 0;
        live_action a = live_tick(r->lv, live_paused(r->lv) ? 0.05 : 0, err, sizeof err);
        if (a == LIVE_CLOSE) {
            /* closed by the user: stop; the window failed: go on without it */
            if (err[0]) fprintf(stderr, "vkseek: %s; generating without it\n", err);
            else if (!stop) stop = 1;
            live_close(r->lv);
            r->lv = pg->lv = NULL;
        }
        if (a == LIVE_AGAIN && !stop) r->again = 1, stop = 1;
    }
    if (!strcmp(pg->finish, "stop")) return 0;
    if (!strcmp(pg->finish, "cancelled") && stop) return 1;
    return cli_error("%s", pg->error[0] ? pg->error : "the generation did not finish"), -1;
}

/* draw(), again with the next seeds each time R cuts it short; *seed: the seeds drawn. */
static int draw_again(gen_run *r, const int32_t *ids, int n_ids, int32_t pad, const char *prompt,
                      uint64_t *seed, progress *pg)
{
    for (;;) {
        pg->lv = r->lv;
        int rc = draw(r, ids, n_ids, pad, prompt, *seed, pg);
        if (rc != 1 || !r->again) return rc;
        *seed += (uint64_t)r->n;
    }
}

/* Writes the n images drawn with seeds seed..: to -o's names (numbered from `first` when the
 * run has several), or with "-seedS" added when suffix is set (the preview's S key). */
static int save(gen_run *r, const char *prompt, uint64_t seed, const uint8_t *rgb, int first,
                int suffix)
{
    int S = janus_image_size(r->j);
    char seed_s[32], cfg[32], temp[32], err[512];
    snprintf(cfg, sizeof cfg, "%g", r->gp.cfg);
    snprintf(temp, sizeof temp, "%g", r->gp.sampling.temperature);
    const char *slash = strrchr(r->dir, '/');
    for (int i = 0; i < r->n; i++) {
        char path[4096], tag[48];
        uint64_t si = seed + (uint64_t)i;
        snprintf(seed_s, sizeof seed_s, "%llu", (unsigned long long)si);
        snprintf(tag, sizeof tag, "seed%llu", (unsigned long long)si);
        if (suffix) suffixed(r->out, tag, path, sizeof path);
        else numbered(r->out, first + i, r->total, path, sizeof path);
        image_meta meta[] = {{"prompt", prompt}, {"seed", seed_s}, {"cfg", cfg},
                             {"temperature", temp}, {"model", slash && slash[1] ? slash + 1 : r->dir},
                             {"Software", "vkseek"}};
        image im = {S, S, (uint8_t *)rgb + (int64_t)i * S * S * 3};
        image_write_opts wo = {r->quality, meta, (int)(sizeof meta / sizeof *meta)};
        if (image_write(path, &im, &wo, err, sizeof err)) return cli_error("%s", err);
        fprintf(stderr, "vkseek: wrote %s\n", path);
    }
    return 0;
}

/* The n images of one prompt; the first is image number `first` of the run. R in the
 * preview draws them again with the next seeds before anything is written. */
static int generate_prompt(gen_run *r, const char *prompt, int first, uint64_t *seed_out,
                           uint8_t *rgb)
{
    int S = janus_image_size(r->j);
    int32_t *ids = NULL, pad;
    size_t n_ids = 0;
    char err[512];
    uint64_t seed = r->gp.sampling.seed + (uint64_t)first;
    if (prompt_image(r->m, prompt, &ids, &n_ids, &pad, err, sizeof err)) return cli_error("%s", err);
    int need = (int)n_ids + janus_image_tokens(r->j);
    if (need > lm_ctx(r->m->lm)) {
        free(ids);
        return cli_error("the prompt has %zu tokens: with the image's %d it needs --ctx %d",
                         n_ids, janus_image_tokens(r->j), need);
    }
    progress pg = {.tty = isatty(2) && !r->lv, .size = S, .rgb = rgb};
    int rc = draw_again(r, ids, (int)n_ids, pad, prompt, &seed, &pg);
    free(ids);
    if (rc == 1) return cli_error("%s; nothing written", interrupted ? "interrupted" : "preview closed");
    if (rc) return 1;
    *seed_out = seed;
    rc = save(r, prompt, seed, rgb, first, 0);
    if (r->lv) live_finished(r->lv);
    return rc;
}

/* After the run, the window stays until closed: S saves, R draws the last prompt again. */
static int linger(gen_run *r, const char *prompt, uint64_t seed, uint8_t *rgb)
{
    int S = janus_image_size(r->j);
    int32_t *ids = NULL, pad;
    size_t n_ids = 0;
    char err[512];
    int rc = 0;
    if (prompt_image(r->m, prompt, &ids, &n_ids, &pad, err, sizeof err)) return cli_error("%s", err);
    progress pg = {.size = S, .rgb = rgb};
    while (r->lv && !interrupted && !rc) {
        err[0] = 0;
        live_action a = live_tick(r->lv, 0.1, err, sizeof err);
        if (a == LIVE_CLOSE && err[0]) fprintf(stderr, "vkseek: %s\n", err);
        if (a == LIVE_CLOSE) break;
        if (a == LIVE_SAVE) rc = save(r, prompt, seed, rgb, 0, 1);
        if (a != LIVE_AGAIN) continue;
        uint64_t next = seed + (uint64_t)r->n;
        int d = draw_again(r, ids, (int)n_ids, pad, prompt, &next, &pg);
        if (d == 0) seed = next;
        if (d == 0 && r->lv) live_finished(r->lv);
        if (d < 0) rc = 1;
    }
    free(ids);
    return rc;
}

int cmd_generate(int argc, char **argv)
{
    const char *dir = NULL, *prompt = NULL, *prompts_file = NULL, *out = NULL, *qname = "keep";
    char dir_buf[4096];
    int n = 1, quality = 0, want_preview = 0;
    janus_gen_params gp = {.cfg = 5.0f, .sampling = sampler_defaults()};
    gp.sampling.temperature = 1.0f;
    model_options mo = {.device = cli_device_arg(&argc, argv), .quant = QUANT_KEEP,
                        .need_tokenizer = 1, .image_ctx = 1};
    if (mo.device == -2) return cli_error("--device needs a device index");
    int kv = cli_kv_cache_arg(&argc, argv);
    if (kv < 0) return cli_error("--kv-cache: use f16 or f32");
    mo.kv_f32 = kv;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(usage, stdout), 0;
        if (a[0] != '-') {
            if (prompt) return cli_error("generate: one prompt, please (quote it)");
            prompt = a;
            continue;
        }
        if (!strcmp(a, "--preview")) {
            want_preview = 1;
            continue;
        }
        if (!v) return cli_error("%s needs a value", a);
        double x = strtod(v, &end);
        int num = end != v && !*end;
        if (!strcmp(a, "--model") || !strcmp(a, "-m")) dir = v;
        else if (!strcmp(a, "-o")) out = v;
        else if (!strcmp(a, "--prompts")) prompts_file = v;
        else if (!strcmp(a, "--quant")) qname = v;
        else if (!strcmp(a, "-n") && num && x >= 1 && x <= MAX_N) n = (int)x;
        else if (!strcmp(a, "--ctx") && num && x >= 16 && x <= (1 << 20)) mo.n_ctx = (int)x;
        else if (!strcmp(a, "--seed") && num && x >= 0) gp.sampling.seed = (uint64_t)x;
        else if (!strcmp(a, "--cfg") && num && x >= 0 && x <= 100) gp.cfg = (float)x;
        else if (!strcmp(a, "--temp") && num && x >= 0 && x <= 100) gp.sampling.temperature = (float)x;
        else if (!strcmp(a, "--top-k") && num && x >= 0) gp.sampling.top_k = (int)x;
        else if (!strcmp(a, "--top-p") && num && x > 0 && x <= 1) gp.sampling.top_p = (float)x;
        else if (!strcmp(a, "--quality") && num && x >= 1 && x <= 100) quality = (int)x;
        else return cli_error("generate: bad option or value: %s %s", a, v);
        i++;
    }
    if (prompt && prompts_file) return cli_error("generate: a prompt or --prompts FILE, not both");
    if (!prompts_file && (!prompt || !prompt[0]))
        return cli_error("generate: what should the image show? give a prompt");
    if (!out) return cli_error("generate: -o FILE.png (or .jpg) is required");
    const char *ext = strrchr(out, '.');
    if (!ext || (strcasecmp(ext, ".png") && strcasecmp(ext, ".jpg") && strcasecmp(ext, ".jpeg")))
        return cli_error("%s: the output must end in .png, .jpg or .jpeg", out);
    if (quant_from_name(qname, &mo.quant))
        return cli_error("--quant '%s': use f16, bf16, q8_0, q4_0 or keep", qname);
    if (!(dir = cli_model_dir(dir, dir_buf, sizeof dir_buf))) return 1;
    int n_prompts = 1;
    char **list = prompts_file ? read_prompts(prompts_file, &n_prompts) : NULL;
    if (prompts_file && !list) return 1;
    mo.n_seq = 2 * n; /* conditional and unconditional rows */
    char err[512];
    int rc = 1;
    uint8_t *rgb = NULL;
    want_preview = want_preview && live_init() == 0; /* before the GPU opens */
    model *m = model_open(dir, &mo, err, sizeof err);
    if (m) cli_loaded(m);
    janus *j = m ? janus_load(m, mo.quant, err, sizeof err) : NULL;
    scheduler *s = j ? sched_new(m, j, err, sizeof err) : NULL;
    signal(SIGINT, on_signal); /* from here on, a signal stops at the next step */
    signal(SIGTERM, on_signal);
    if (!s) {
        cli_error("%s", err);
    } else if (!(rgb = malloc((size_t)n * janus_image_size(j) * janus_image_size(j) * 3))) {
        cli_error("out of memory");
    } else {
        gen_run r = {.j = j, .m = m, .s = s, .lv = want_preview ? live_open(m->ctx, j, n) : NULL,
                     .dir = dir, .out = out, .gp = gp, .n = n, .total = n * n_prompts,
                     .quality = quality};
        uint64_t seed = 0;
        rc = 0;
        for (int p = 0; p < n_prompts && !rc; p++)
            rc = generate_prompt(&r, list ? list[p] : prompt, p * n, &seed, rgb);
        if (!rc && r.lv) rc = linger(&r, list ? list[n_prompts - 1] : prompt, seed, rgb);
        live_close(r.lv);
    }
    free(rgb);
    for (int p = 0; list && p < n_prompts; p++) free(list[p]);
    free(list);
    sched_free(s);
    janus_free(j);
    model_close(m);
    if (want_preview) live_terminate();
    return rc;
}
