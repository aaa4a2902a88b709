/* generate.c: `vkseek generate --model DIR "prompt" -o out.png [-n N] [--seed S] [--cfg W]
 * [--temp T]`: Janus text-to-image. N images run as one batch; each is written (PNG with
 * the prompt and settings in text chunks, or JPEG by the extension) to a temporary name and
 * renamed. A progress bar on a terminal; quiet otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli/cli.h"
#include "engine/janus.h"
#include "engine/loader.h"
#include "gallery/image_write.h"
#include "text/chat.h"

#define MAX_N 16

typedef struct {
    double t0;
    int tty;
} progress;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int on_step(int step, int total, const int32_t *codes, void *user)
{
    (void)codes;
    progress *p = user;
    if (!p->tty) return 0;
    double dt = now() - p->t0, rate = (step + 1) / (dt > 0 ? dt : 1e-9);
    int done = (step + 1) * 30 / total;
    fprintf(stderr, "\r[%.*s%*s] %d/%d tokens  %.1f tokens/s  ETA %.0f s ", done,
            "##############################", 30 - done, "", step + 1, total, rate,
            (total - step - 1) / rate);
    if (step + 1 == total) fputc('\n', stderr);
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

int cmd_generate(int argc, char **argv)
{
    const char *dir = NULL, *prompt = NULL, *out = NULL, *qname = "keep";
    int n = 1, quality = 0;
    janus_gen_params gp = {.cfg = 5.0f, .sampling = sampler_defaults()};
    gp.sampling.temperature = 1.0f;
    model_options mo = {.device = cli_device_arg(&argc, argv), .quant = QUANT_KEEP, .need_tokenizer = 1};
    if (mo.device == -2) return cli_error("--device needs a device index");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (a[0] != '-') {
            if (prompt) return cli_error("generate: one prompt, please (quote it)");
            prompt = a;
            continue;
        }
        if (!v) return cli_error("%s needs a value", a);
        double x = strtod(v, &end);
        int num = end != v && !*end;
        if (!strcmp(a, "--model") || !strcmp(a, "-m")) dir = v;
        else if (!strcmp(a, "-o")) out = v;
        else if (!strcmp(a, "--quant")) qname = v;
        else if (!strcmp(a, "-n") && num && x >= 1 && x <= MAX_N) n = (int)x;
        else if (!strcmp(a, "--seed") && num && x >= 0) gp.sampling.seed = (uint64_t)x;
        else if (!strcmp(a, "--cfg") && num && x >= 0 && x <= 100) gp.cfg = (float)x;
        else if (!strcmp(a, "--temp") && num && x >= 0 && x <= 100) gp.sampling.temperature = (float)x;
        else if (!strcmp(a, "--top-k") && num && x >= 0) gp.sampling.top_k = (int)x;
        else if (!strcmp(a, "--top-p") && num && x > 0 && x <= 1) gp.sampling.top_p = (float)x;
        else if (!strcmp(a, "--quality") && num && x >= 1 && x <= 100) quality = (int)x;
        else return cli_error("generate: bad option or value: %s %s", a, v);
        i++;
    }
    if (!dir) return cli_error("--model DIR is required (the built-in model comes later)");
    if (!prompt || !prompt[0]) return cli_error("generate: what should the image show? give a prompt");
    if (!out) return cli_error("generate: -o FILE.png (or .jpg) is required");
    const char *ext = strrchr(out, '.');
    if (!ext || (strcasecmp(ext, ".png") && strcasecmp(ext, ".jpg") && strcasecmp(ext, ".jpeg")))
        return cli_error("%s: the output must end in .png, .jpg or .jpeg", out);
    if (quant_from_name(qname, &mo.quant))
        return cli_error("--quant '%s': use f16, bf16, q8_0, q4_0 or keep", qname);
    mo.n_seq = 2 * n; /* conditional and unconditional rows */
    char err[512];
    model *m = model_open(dir, &mo, err, sizeof err);
    if (!m) return cli_error("%s", err);
    janus *j = janus_load(m, mo.quant, err, sizeof err);
    int rc = 1, T = j ? janus_image_tokens(j) : 0, S = j ? janus_image_size(j) : 0;
    int32_t *codes = j ? malloc((size_t)n * T * sizeof *codes) : NULL, *ids = NULL;
    uint8_t *rgb = j ? malloc((size_t)n * S * S * 3) : NULL;
    char *text = NULL;
    size_t len = 0, n_ids = 0;
    if (!j || !codes || !rgb) {
        cli_error("%s", j ? "out of memory" : err);
        goto done;
    }
    /* "<|User|>: {prompt}\n\n<|Assistant|>:" then <begin_of_image>, Janus' generation prompt */
    chat_msg msg = {CHAT_USER, prompt};
    chat_specials sp;
    int32_t pad = tok_token_id(m->tok, "<｜▁pad▁｜>");
    if (chat_specials_from_tokenizer(m->tok, &sp, err, sizeof err) ||
        chat_render(CHAT_JANUS, &msg, 1, 1, &sp, &text, &len, err, sizeof err)) {
        cli_error("%s", err);
        goto done;
    }
    char *full = malloc(len + 32);
    if (full) snprintf(full, len + 32, "%s<begin_of_image>", text);
    if (!full || pad < 0 || tok_encode(m->tok, full, strlen(full), 0, &ids, &n_ids, err, sizeof err)) {
        cli_error("%s", !full ? "out of memory" : pad < 0 ? "the tokenizer has no <｜▁pad▁｜>" : err);
        free(full);
        goto done;
    }
    free(full);
    progress pg = {now(), isatty(2)};
    if (janus_generate(j, ids, (int)n_ids, pad, n, &gp, codes, on_step, &pg, err, sizeof err) ||
        janus_decode(j, codes, n, rgb, err, sizeof err)) {
        cli_error("%s", err);
        goto done;
    }
    char seed[32], cfg[32], temp[32];
    snprintf(cfg, sizeof cfg, "%g", gp.cfg);
    snprintf(temp, sizeof temp, "%g", gp.sampling.temperature);
    const char *slash = strrchr(dir, '/');
    rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        char path[4096];
        numbered(out, i, n, path, sizeof path);
        snprintf(seed, sizeof seed, "%llu", (unsigned long long)(gp.sampling.seed + (uint64_t)i));
        image_meta meta[] = {{"prompt", prompt}, {"seed", seed}, {"cfg", cfg},
                             {"temperature", temp}, {"model", slash && slash[1] ? slash + 1 : dir},
                             {"Software", "vkseek"}};
        image im = {S, S, rgb + (int64_t)i * S * S * 3};
        image_write_opts wo = {quality, meta, (int)(sizeof meta / sizeof *meta)};
        if (image_write(path, &im, &wo, err, sizeof err)) rc = cli_error("%s", err);
        else fprintf(stderr, "vkseek: wrote %s\n", path);
    }
done:
    free(codes), free(rgb), free(text), free(ids);
    janus_free(j);
    model_close(m);
    return rc;
}
