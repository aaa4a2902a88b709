/* run.c: `vkseek run` (one prompt, the answer streamed to stdout and nothing else there,
 * statistics on stderr), `vkseek ask` (the same about images, Janus) and `vkseek chat` (an
 * interactive conversation). All consume the engine's event stream; the reasoning part goes
 * to stderr, dimmed on a terminal, or nowhere with --hide-reasoning. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <editline/readline.h>
#include "cli/cli.h"
#include "engine/generate.h"
#include "engine/janus.h"
#include "engine/loader.h"
#include "engine/prompt.h"
#include "engine/scheduler.h"
#include "text/chat.h"
#include "vision/image.h"
#include "vision/preprocess.h"

#define MAX_STOPS 16
#define MAX_IMAGES 8
#define MAX_LINE (1 << 20)

typedef struct {
    const char *dir, *prompt, *system, *template_name;
    char dir_buf[4096];      /* the built-in model's path when --model is not given */
    model_options mo;
    gen_params gp;
    const char *stops[MAX_STOPS];
    const char *images[MAX_IMAGES];
    int n_images;
    int raw, hide_reasoning;
} run_opts;

static int parse_num(const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || v < lo || v > hi) {
        cli_error("%s '%s': expected a number from %g to %g", opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

/* Options shared by run and chat; -1 after printing an error. */
static int parse(int argc, char **argv, run_opts *o, int need_prompt)
{
    memset(o, 0, sizeof *o);
    o->mo = (model_options){.device = cli_device_arg(&argc, argv), .quant = QUANT_KEEP,
                            .n_seq = 1, .need_tokenizer = 1};
    if (o->mo.device == -2) return cli_error("--device needs a device index"), -1;
    if ((o->mo.kv_f32 = cli_kv_cache_arg(&argc, argv)) < 0)
        return cli_error("--kv-cache: use f16 or f32"), -1;
    o->gp.sampling = sampler_defaults();
    o->gp.max_tokens = 512;
    o->gp.stop = o->stops;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        double x;
        int takes = 1;
        if (!strcmp(a, "--raw")) o->raw = 1, takes = 0;
        else if (!strcmp(a, "--hide-reasoning")) o->hide_reasoning = 1, takes = 0;
        else if (a[0] != '-' && !o->prompt) o->prompt = a, takes = 0; /* the question */
        else if (!v) return cli_error("%s needs a value", a), -1;
        else if (!strcmp(a, "--model") || !strcmp(a, "-m")) o->dir = v;
        else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) o->prompt = v;
        else if (!strcmp(a, "--system")) o->system = v;
        else if (!strcmp(a, "--template")) o->template_name = v;
        else if (!strcmp(a, "--image")) {
            if (o->n_images == MAX_IMAGES) return cli_error("at most %d --image", MAX_IMAGES), -1;
            o->images[o->n_images++] = v;
        }
        else if (!strcmp(a, "--stop")) {
            if (o->gp.n_stop == MAX_STOPS) return cli_error("at most %d --stop strings", MAX_STOPS), -1;
            o->stops[o->gp.n_stop++] = v;
        } else if (!strcmp(a, "--speculative")) {
            if (strcmp(v, "mtp")) return cli_error("--speculative '%s': the only kind is mtp", v), -1;
            o->mo.mtp = 1;
        } else if (!strcmp(a, "--quant")) {
            if (quant_from_name(v, &o->mo.quant))
                return cli_error("--quant '%s': use f16, bf16, q8_0, q4_0 or keep", v), -1;
        } else {
            double lo = 0, hi = 1e9;
            if (!strcmp(a, "--top-p") || !strcmp(a, "--min-p")) hi = 1;
            if (parse_num(a, v, lo, hi, &x)) return -1;
            if (!strcmp(a, "-n")) o->gp.max_tokens = (int)x;
            else if (!strcmp(a, "--ctx")) o->mo.n_ctx = (int)x;
            else if (!strcmp(a, "--temp")) o->gp.sampling.temperature = (float)x;
            else if (!strcmp(a, "--top-p")) o->gp.sampling.top_p = (float)x;
            else if (!strcmp(a, "--top-k")) o->gp.sampling.top_k = (int)x;
            else if (!strcmp(a, "--min-p")) o->gp.sampling.min_p = (float)x;
            else if (!strcmp(a, "--repeat-penalty")) {
                o->gp.sampling.repeat_penalty = (float)x;
                o->gp.sampling.penalty_last_n = 64;
            } else if (!strcmp(a, "--seed")) o->gp.sampling.seed = (uint64_t)x;
            else return cli_error("unknown option '%s'", a), -1;
        }
        i += takes;
    }
    if (!(o->dir = cli_model_dir(o->dir, o->dir_buf, sizeof o->dir_buf))) return -1;
    if (need_prompt && !o->prompt) return cli_error("a prompt is required (-p TEXT)"), -1;
    if (need_prompt && !o->prompt[0]) return cli_error("the prompt is empty"), -1;
    return 0;
}

typedef struct {
    int dim;          /* reasoning on a terminal: dimmed */
    int hide;
    int in_reasoning;
    char *answer;     /* the answer text (chat keeps it for the next turn) */
    size_t len, cap;
    gen_event end;
    char error[512];  /* END's error, kept */
} printer;

static int on_event(const gen_event *e, void *user)
{
    printer *p = user;
    if (e->kind == GEN_REASONING) {
        if (!p->hide) {
            if (p->dim && !p->in_reasoning) fputs("\033[2m", stderr);
            fwrite(e->text, 1, e->len, stderr);
            fflush(stderr);
        }
        p->in_reasoning = 1;
    } else if (e->kind == GEN_TEXT) {
        if (p->in_reasoning && !p->hide) fputs(p->dim ? "\033[0m\n" : "\n", stderr);
        p->in_reasoning = 0;
        fwrite(e->text, 1, e->len, stdout);
        fflush(stdout);
        if (p->len + e->len + 1 > p->cap) {
            size_t nc = (p->len + e->len + 1) * 2;
            char *b = realloc(p->answer, nc);
            if (!b) return 1; /* cancel: out of memory */
            p->answer = b, p->cap = nc;
        }
        memcpy(p->answer + p->len, e->text, e->len);
        p->len += e->len;
        p->answer[p->len] = 0;
    } else {
        if (p->in_reasoning && p->dim && !p->hide) fputs("\033[0m", stderr);
        p->in_reasoning = 0;
        p->end = *e;
        if (e->kind == GEN_END && e->error) snprintf(p->error, sizeof p->error, "%s", e->error);
    }
    return 0;
}

/* One turn through the scheduler: the prompt ids (with pictures spliced in at ph when
 * n_pix), streamed to the printer. 0, or -1 with err set. */
static int converse(scheduler *sc, const int32_t *ids, size_t n, const float *pix, int n_pix,
                    int32_t ph, const gen_params *gp, printer *pr, char *err, size_t errlen)
{
    sched_request r = {.kind = REQ_CHAT, .ids = ids, .n = (int)n, .sink = on_event, .user = pr,
                       .gen = *gp, .pixels = pix, .n_pictures = n_pix, .picture_id = ph};
    int id = sched_submit(sc, &r, err, errlen);
    if (id < 0 || sched_run(sc, id, err, errlen)) return -1;
    if (pr->end.kind == GEN_END && !strcmp(pr->end.finish, "error"))
        return snprintf(err, errlen, "%s", pr->error), -1;
    return 0;
}

static void print_stats(const gen_event *e)
{
    fprintf(stderr, "\nvkseek: prompt %d tokens (%d cached) %.2f tokens/s; generated %d tokens "
                    "%.2f tokens/s",
            e->n_prompt, e->n_cached, e->prefill_s > 0 ? (e->n_prompt - e->n_cached) / e->prefill_s : 0,
            e->n_gen, e->decode_s > 0 ? e->n_gen / e->decode_s : 0);
    if (e->n_drafts)
        fprintf(stderr, "; MTP drafts accepted %d of %d (%.0f%%)", e->n_accepted, e->n_drafts,
                100.0 * e->n_accepted / e->n_drafts);
    fprintf(stderr, "; finish: %s\n", e->finish);
}

/* The conversation as prompt ids, by the checkpoint's template (or raw text). */
static int encode_prompt(model *m, const run_opts *o, chat_template t, const chat_msg *msgs,
                         int n, int32_t **ids, size_t *n_ids, char *err, size_t errlen)
{
    if (o->raw)
        return tok_encode(m->tok, msgs[n - 1].content, strlen(msgs[n - 1].content),
                          tok_add_bos(m->tok), ids, n_ids, err, errlen);
    return prompt_chat(m, t, msgs, n, ids, n_ids, err, errlen);
}

/* The model, its template and a scheduler (with the image towers when janus is asked for
 * and j is given). */
static int setup(const run_opts *o, model **m, janus **j, scheduler **s, chat_template *t,
                 gen_params *gp)
{
    char err[512];
    if (!(*m = model_open(o->dir, &o->mo, err, sizeof err))) return cli_error("%s", err), -1;
    cli_loaded(*m);
    if (o->template_name ? chat_template_by_name(o->template_name, t, err, sizeof err)
                         : chat_template_for_model(o->dir, t, err, sizeof err)) {
        model_close(*m);
        return cli_error("%s", err), -1;
    }
    if ((j && !(*j = janus_load(*m, o->mo.quant, err, sizeof err))) ||
        !(*s = sched_new(*m, j ? *j : NULL, err, sizeof err))) {
        if (j) janus_free(*j);
        model_close(*m);
        return cli_error("%s", err), -1;
    }
    *gp = o->gp;
    gp->reasoning = o->raw ? 0 : chat_template_opens_think(*t) ? 2 : 1;
    return 0;
}

int cmd_run(int argc, char **argv)
{
    run_opts o;
    if (parse(argc, argv, &o, 1)) return 1;
    model *m;
    scheduler *s;
    chat_template t;
    gen_params gp;
    if (setup(&o, &m, NULL, &s, &t, &gp)) return 1;
    chat_msg msgs[2];
    int n = 0;
    if (o.system && !o.raw) msgs[n++] = (chat_msg){CHAT_SYSTEM, o.system};
    msgs[n++] = (chat_msg){CHAT_USER, o.prompt};
    char err[512];
    int32_t *ids = NULL;
    size_t n_ids = 0;
    printer pr = {.dim = isatty(2), .hide = o.hide_reasoning};
    int rc = 0;
    if (encode_prompt(m, &o, t, msgs, n, &ids, &n_ids, err, sizeof err) ||
        converse(s, ids, n_ids, NULL, 0, -1, &gp, &pr, err, sizeof err))
        rc = cli_error("%s", err);
    else {
        fputc('\n', stdout);
        print_stats(&pr.end);
    }
    free(ids);
    free(pr.answer);
    sched_free(s);
    model_close(m);
    return rc;
}

/* Loads and preprocesses the picture at path as image number i of pix (S x S, CHW). */
static int load_pixels(const char *path, int S, float *pix, int i, char *err, size_t errlen)
{
    image im;
    if (image_load(path, &im, err, errlen)) return -1;
    int rc = janus_preprocess(&im, S, pix + (int64_t)i * 3 * S * S, err, errlen);
    image_free(&im);
    return rc;
}

int cmd_ask(int argc, char **argv)
{
    run_opts o;
    if (parse(argc, argv, &o, 1)) return 1;
    if (!o.n_images) return cli_error("ask: give the picture with --image FILE");
    model *m;
    janus *j;
    scheduler *s;
    chat_template t;
    gen_params gp;
    if (setup(&o, &m, &j, &s, &t, &gp)) return 1;
    char err[512];
    int rc = 1;
    int S = m->cfg.vision.image_size;
    float *pix = malloc((size_t)o.n_images * 3 * S * S * sizeof *pix);
    char *question = NULL;
    int32_t *ids = NULL, *full = NULL;
    size_t n_ids = 0, n_full = 0;
    if (!pix) {
        cli_error("out of memory");
        goto done;
    }
    for (int i = 0; i < o.n_images; i++)
        if (load_pixels(o.images[i], S, pix, i, err, sizeof err)) {
            cli_error("%s", err);
            goto done;
        }
    /* "<image_placeholder>\n" per image, then the question, in Janus' conversation */
    size_t ql = strlen(o.prompt) + (size_t)o.n_images * 20 + 1;
    if (!(question = malloc(ql))) goto done;
    question[0] = 0;
    for (int i = 0; i < o.n_images; i++) strcat(question, "<image_placeholder>\n");
    strcat(question, o.prompt);
    chat_msg msgs[2] = {{CHAT_SYSTEM, o.system ? o.system : CHAT_JANUS_SYSTEM_PROMPT},
                        {CHAT_USER, question}};
    int32_t ph;
    printer pr = {.dim = isatty(2), .hide = o.hide_reasoning};
    o.raw = 0;
    if (encode_prompt(m, &o, t, msgs, 2, &ids, &n_ids, err, sizeof err) ||
        prompt_expand_pictures(m, ids, n_ids, janus_patches(j), &full, &n_full, &ph, err,
                               sizeof err) ||
        converse(s, full, n_full, pix, o.n_images, ph, &gp, &pr, err, sizeof err)) {
        cli_error("%s", err);
    } else {
        fputc('\n', stdout);
        print_stats(&pr.end);
        rc = 0;
    }
    free(pr.answer);
done:
    free(pix), free(question), free(ids), free(full);
    sched_free(s);
    janus_free(j);
    model_close(m);
    return rc;
}

int cmd_chat(int argc, char **argv)
{
    run_opts o;
    if (parse(argc, argv, &o, 0)) return 1;
    model *m;
    scheduler *s;
    chat_template t;
    gen_params gp;
    if (setup(&o, &m, NULL, &s, &t, &gp)) return 1;
    int tty = isatty(0), cap = 64, n = 0;
    chat_msg *msgs = malloc((size_t)cap * sizeof *msgs);
    char **owned = malloc((size_t)cap * sizeof *owned);
    char *line = malloc(MAX_LINE);
    /* Janus: pictures attached with /image go with the next message; every picture of the
     * conversation is spliced in again each turn */
    janus *j = NULL;
    float *pix = NULL;
    int n_img = 0, pending = 0, S = m->cfg.vision.image_size;
    if (!o.system && t == CHAT_JANUS) o.system = CHAT_JANUS_SYSTEM_PROMPT;
    if (o.system && msgs && owned) {
        owned[n] = strdup(o.system);
        msgs[n] = (chat_msg){CHAT_SYSTEM, owned[n]};
        n++;
    }
    if (tty) fprintf(stderr, "vkseek chat (%s template): /reset starts over, /exit or Ctrl-D ends%s\n",
                     chat_template_name(t), m->cfg.is_janus ? ", /image FILE attaches a picture" : "");
    int rc = 0;
    while (msgs && owned && line) {
        /* a terminal gets line editing and history; a pipe is read line by line */
        if (tty) {
            char *in = readline("> ");
            if (!in) break;
            snprintf(line, MAX_LINE, "%s", in);
            if (*in) add_history(in);
            free(in);
        } else if (!fgets(line, MAX_LINE, stdin)) {
            break;
        }
        line[strcspn(line, "\r\n")] = 0;
        if (!strcmp(line, "/exit")) break;
        if (!strcmp(line, "/reset")) {
            while (n > (o.system ? 1 : 0)) free(owned[--n]);
            n_img = pending = 0;
            if (tty) fputs("(new conversation)\n", stderr);
            continue;
        }
        if (!strncmp(line, "/image ", 7)) {
            char err[512];
            if (!m->cfg.is_janus) {
                cli_error("pictures need a Janus model");
                continue;
            }
            if (n_img == MAX_IMAGES) {
                cli_error("at most %d pictures in a conversation", MAX_IMAGES);
                continue;
            }
            if (!j) { /* the image towers, and a scheduler that has them */
                if (!(j = janus_load(m, o.mo.quant, err, sizeof err))) {
                    cli_error("%s", err);
                    continue;
                }
                sched_free(s);
                if (!(s = sched_new(m, j, err, sizeof err))) {
                    rc = cli_error("%s", err);
                    break;
                }
            }
            float *p = realloc(pix, (size_t)(n_img + 1) * 3 * S * S * sizeof *pix);
            if (!p) {
                cli_error("out of memory");
                continue;
            }
            pix = p;
            if (load_pixels(line + 7, S, pix, n_img, err, sizeof err)) {
                cli_error("%s", err);
                continue;
            }
            n_img++, pending++;
            if (tty) fprintf(stderr, "(picture attached to your next message)\n");
            continue;
        }
        if (!line[0]) continue;
        if (n + 2 > cap) {
            cap *= 2;
            chat_msg *a = realloc(msgs, (size_t)cap * sizeof *a);
            char **b = realloc(owned, (size_t)cap * sizeof *b);
            if (a) msgs = a;
            if (b) owned = b;
            if (!a || !b) break;
        }
        size_t ll = strlen(line);
        owned[n] = malloc(ll + (size_t)pending * 20 + 1);
        if (!owned[n]) break;
        owned[n][0] = 0;
        for (int k = 0; k < pending; k++) strcat(owned[n], "<image_placeholder>\n");
        strcat(owned[n], line);
        msgs[n] = (chat_msg){CHAT_USER, owned[n]};
        n++;
        char err[512];
        int32_t *ids = NULL, *full = NULL;
        size_t n_ids = 0, n_full = 0;
        int32_t ph = -1;
        printer pr = {.dim = isatty(2), .hide = o.hide_reasoning};
        int bad = encode_prompt(m, &o, t, msgs, n, &ids, &n_ids, err, sizeof err);
        if (!bad && n_img)
            bad = prompt_expand_pictures(m, ids, n_ids, janus_patches(j), &full, &n_full, &ph, err,
                                         sizeof err);
        if (!bad)
            bad = converse(s, n_img ? full : ids, n_img ? n_full : n_ids, pix, n_img, ph, &gp, &pr,
                           err, sizeof err);
        free(full);
        if (bad) {
            cli_error("%s", err);
            free(owned[--n]); /* the turn did not happen, nor its pictures */
            n_img -= pending;
            rc = 1;
        } else {
            fputc('\n', stdout);
            fflush(stdout);
            if (tty) print_stats(&pr.end);
            owned[n] = pr.answer ? pr.answer : strdup("");
            pr.answer = NULL;
            msgs[n] = (chat_msg){CHAT_ASSISTANT, owned[n]};
            n++;
            rc = 0;
        }
        pending = 0;
        free(ids);
        free(pr.answer);
    }
    for (int i = 0; owned && i < n; i++) free(owned[i]);
    free(msgs), free(owned), free(line), free(pix);
    sched_free(s);
    janus_free(j);
    model_close(m);
    return rc;
}
