/* test_scheduler.c: continuous batching on the built-in model (DeepSeek-V3 stack, Janus
 * towers). Chats and an image request run together, one joining mid-way and one waiting in
 * the queue for slots; each request's output equals the same request run alone. Also: a
 * conversation's next turn reuses its cached prefix, cancelling (by id and by the sink)
 * ends a request and frees its slots, requests that can never run are refused at submit,
 * and requests submitted from another thread are served. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine/loader.h"
#include "engine/scheduler.h"
#include "harness.h"
#include "text/chat.h"

#define MODEL "../models/vkseek-shapes"
#define MAX_OUT 4096

typedef struct {
    char text[MAX_OUT];
    size_t len;
    int32_t codes[4 * 1024];
    int n_codes, images_done, progress, cancel_after;
    gen_event end;
    char finish[16];
    int ended;
} out;

static int sink(const gen_event *e, void *user)
{
    out *o = user;
    if (e->kind == GEN_TEXT || e->kind == GEN_REASONING) {
        size_t n = e->len < MAX_OUT - 1 - o->len ? e->len : MAX_OUT - 1 - o->len;
        memcpy(o->text + o->len, e->text, n);
        o->len += n;
        o->text[o->len] = 0;
    } else if (e->kind == GEN_IMAGE_PROGRESS) {
        o->progress++;
        o->n_codes = e->n_images * e->total;
        memcpy(o->codes, e->codes, (size_t)o->n_codes * sizeof *o->codes);
    } else if (e->kind == GEN_IMAGE_DONE) {
        o->images_done++;
    } else {
        o->end = *e;
        snprintf(o->finish, sizeof o->finish, "%s", e->finish);
        o->end.finish = o->finish, o->end.error = NULL;
        o->ended++;
    }
    /* cancel after that many bytes of text or image steps */
    return o->cancel_after && (o->len >= (size_t)o->cancel_after || o->progress >= o->cancel_after);
}

typedef struct {
    model *m;
    janus *j;
    scheduler *s;
} engine;

static int open_engine(engine *e, int slots)
{
    char err[512];
    model_options mo = {.device = -1, .quant = QUANT_KEEP, .n_seq = slots, .need_tokenizer = 1};
    e->m = model_open(MODEL, &mo, err, sizeof err);
    e->j = e->m ? janus_load(e->m, QUANT_KEEP, err, sizeof err) : NULL;
    e->s = e->j ? sched_new(e->m, e->j, err, sizeof err) : NULL;
    return th_expect(e->s != NULL, "open %s: %s", MODEL, err);
}

static void close_engine(engine *e)
{
    sched_free(e->s);
    janus_free(e->j);
    model_close(e->m);
}

/* The Janus conversation for a question, or the generation prompt (ending in
 * <begin_of_image>) for a picture. */
static int32_t *prompt(model *m, const char *text, int image, int *n)
{
    char err[512], *r = NULL, full[1024];
    size_t len = 0, n_ids = 0;
    int32_t *ids = NULL;
    chat_msg msg = {CHAT_USER, text};
    chat_specials sp;
    if (chat_specials_from_tokenizer(m->tok, &sp, err, sizeof err) ||
        chat_render(CHAT_JANUS, &msg, 1, 1, &sp, &r, &len, err, sizeof err)) {
        th_expect(0, "%s", err);
        return NULL;
    }
    snprintf(full, sizeof full, "%s%s", r, image ? "<begin_of_image>" : "");
    free(r);
    if (tok_encode(m->tok, full, strlen(full), 0, &ids, &n_ids, err, sizeof err)) {
        th_expect(0, "%s", err);
        return NULL;
    }
    *n = (int)n_ids;
    return ids;
}

static sched_request chat(const int32_t *ids, int n, float temp, uint64_t seed, int max, out *o)
{
    sched_request r = {.kind = REQ_CHAT, .ids = ids, .n = n, .sink = sink, .user = o};
    r.gen.sampling = sampler_defaults();
    r.gen.sampling.temperature = temp;
    r.gen.sampling.seed = seed;
    r.gen.max_tokens = max;
    return r;
}

static sched_request picture(model *m, const int32_t *ids, int n, int n_images, out *o)
{
    sched_request r = {.kind = REQ_IMAGE, .ids = ids, .n = n, .sink = sink, .user = o,
                       .n_images = n_images, .pad_id = tok_token_id(m->tok, "<｜▁pad▁｜>")};
    r.image.cfg = 5;
    r.image.sampling = sampler_defaults();
    r.image.sampling.seed = 11;
    return r;
}

static int submit(engine *e, const sched_request *r)
{
    char err[512];
    int id = sched_submit(e->s, r, err, sizeof err);
    th_expect(id >= 0, "submit: %s", err);
    return id;
}

static void run_all(engine *e)
{
    char err[512];
    for (int guard = 0; sched_pending(e->s) && guard < 100000; guard++)
        if (sched_step(e->s, err, sizeof err)) th_expect(0, "step: %s", err);
}

/* The same request alone, in a fresh engine, into *o. */
static void alone(const sched_request *r, out *o, int slots)
{
    engine e;
    if (!open_engine(&e, slots)) return;
    sched_request q = *r;
    q.user = o;
    memset(o, 0, sizeof *o);
    submit(&e, &q);
    run_all(&e);
    close_engine(&e);
}

static void same(const char *what, const out *a, const out *b)
{
    th_expect(a->ended == 1 && b->ended == 1, "%s: one END each (%d, %d)", what, a->ended, b->ended);
    th_expect(!strcmp(a->text, b->text), "%s: the same text: \"%s\" and \"%s\"", what, a->text,
              b->text);
    th_expect(a->n_codes == b->n_codes &&
                  !memcmp(a->codes, b->codes, (size_t)a->n_codes * sizeof *a->codes),
              "%s: the same image codes", what);
    th_expect(a->end.n_gen == b->end.n_gen && !strcmp(a->finish, b->finish),
              "%s: %d tokens, finish %s; alone %d, %s", what, a->end.n_gen, a->finish,
              b->end.n_gen, b->finish);
}

static void test_batching(void)
{
    engine e;
    if (!open_engine(&e, 6)) return;
    model *m = e.m;
    int na, nb, nc, nd;
    int32_t *a = prompt(m, "what shapes are there?", 0, &na);
    int32_t *b = prompt(m, "a small red circle at the top left on a blue background", 1, &nb);
    int32_t *c = prompt(m, "what colour is the square?", 0, &nc);
    int32_t *d = prompt(m, "a large green star in the centre on a white background", 1, &nd);
    static out oa, ob, oc, od, ref;
    sched_request ra = chat(a, na, 0, 1, 24, &oa), rc = chat(c, nc, 0.8f, 5, 16, &oc);
    sched_request rb = picture(m, b, nb, 2, &ob), rd = picture(m, d, nd, 1, &od);
    char err[512];
    submit(&e, &ra);
    submit(&e, &rb); /* 4 slots: 5 taken */
    for (int i = 0; i < 3; i++) sched_step(e.s, err, sizeof err);
    submit(&e, &rc); /* joins mid-way: the 6th slot */
    submit(&e, &rd); /* needs 2 slots: waits for a chat to end */
    sched_stats st = sched_get_stats(e.s);
    run_all(&e);
    sched_stats st2 = sched_get_stats(e.s);
    th_expect(st.queued == 2 && st2.requests == 4 && st2.images == 3 && !st2.queued && !st2.running,
              "stats: %d queued before; %llu requests, %llu images after", st.queued,
              (unsigned long long)st2.requests, (unsigned long long)st2.images);
    th_expect(st2.batched_rows > st2.steps, "steps carried several rows (%llu rows, %llu steps)",
              (unsigned long long)st2.batched_rows, (unsigned long long)st2.steps);
    th_expect(ob.images_done == 2 && od.images_done == 1 && ob.progress == janus_image_tokens(e.j),
              "images done: %d, %d; progress events %d", ob.images_done, od.images_done, ob.progress);
    th_expect(od.end.queue_s > 0, "the last image request waited in the queue");
    alone(&ra, &ref, 1);
    same("greedy chat batched with others", &oa, &ref);
    alone(&rc, &ref, 1);
    same("sampled chat that joined mid-way", &oc, &ref);
    alone(&rb, &ref, 4);
    same("two images batched with chats", &ob, &ref);
    alone(&rd, &ref, 2);
    same("queued image request", &od, &ref);
    close_engine(&e);
    free(a), free(b), free(c), free(d);
}

/* The next turn reuses the cache: its output equals a fresh run's, with n_cached > 0. */
static void test_prefix_reuse(void)
{
    engine e;
    if (!open_engine(&e, 2)) return;
    int n1, n2;
    int32_t *p1 = prompt(e.m, "how many shapes are there?", 0, &n1);
    static out o1, o2, ref;
    sched_request r1 = chat(p1, n1, 0, 1, 8, &o1);
    submit(&e, &r1);
    run_all(&e);
    /* turn two: turn one's prompt, then more */
    int32_t *p2 = prompt(e.m, "how many shapes are there? and which colour?", 0, &n2);
    sched_request r2 = chat(p2, n2, 0, 1, 8, &o2);
    submit(&e, &r2);
    run_all(&e);
    int common = 0;
    while (common < n1 && common < n2 && p1[common] == p2[common]) common++;
    th_expect(o2.end.n_cached == common && common > 0,
              "the second turn reused its %d common tokens (n_cached %d)", common, o2.end.n_cached);
    alone(&r2, &ref, 1);
    same("a turn over a reused prefix", &o2, &ref);
    close_engine(&e);
    free(p1), free(p2);
}

static void test_cancel(void)
{
    engine e;
    if (!open_engine(&e, 4)) return;
    int n, ni;
    int32_t *p = prompt(e.m, "tell me about the shapes", 0, &n);
    int32_t *pi = prompt(e.m, "a blue square at the bottom right on a yellow background", 1, &ni);
    static out o1, o2, o3, o4, o5;
    char err[512];
    /* two image requests fill the 4 slots; the first is cancelled, a chat takes its slots */
    sched_request r1 = picture(e.m, pi, ni, 1, &o1), r2 = picture(e.m, pi, ni, 1, &o2);
    sched_request r3 = chat(p, n, 0, 1, 4, &o3);
    int id1 = submit(&e, &r1);
    submit(&e, &r2);
    for (int i = 0; i < 4; i++) sched_step(e.s, err, sizeof err);
    /* one waiting for slots is cancelled: it never held any, so it frees none */
    sched_request r5 = chat(p, n, 0, 1, 4, &o5);
    sched_cancel(e.s, submit(&e, &r5));
    sched_step(e.s, err, sizeof err);
    th_expect(o5.ended == 1 && !strcmp(o5.finish, "cancelled") && !o1.ended && !o2.ended,
              "a queued request is cancelled alone");
    sched_cancel(e.s, id1);
    submit(&e, &r3);
    for (int i = 0; i < 40 && !o3.ended; i++) sched_step(e.s, err, sizeof err);
    th_expect(o1.ended == 1 && !strcmp(o1.finish, "cancelled") && o1.images_done == 0,
              "cancelled by id: %s", o1.finish);
    th_expect(o3.ended == 1 && (!strcmp(o3.finish, "length") || !strcmp(o3.finish, "stop")),
              "the next request took the freed slots and ran: %s, %d tokens", o3.finish,
              o3.end.n_gen);
    th_expect(!o2.ended && o2.progress < janus_image_tokens(e.j), "the other request runs on");
    sched_free(e.s); /* what is left ends as cancelled */
    e.s = NULL;
    th_expect(o2.ended == 1 && !strcmp(o2.finish, "cancelled"), "freeing cancels: %s", o2.finish);
    /* the sink cancels */
    if (!(e.s = sched_new(e.m, e.j, err, sizeof err))) th_expect(0, "%s", err);
    sched_request r4 = picture(e.m, pi, ni, 1, &o4);
    o4.cancel_after = 3;
    if (e.s) {
        submit(&e, &r4);
        run_all(&e);
    }
    th_expect(o4.ended == 1 && !strcmp(o4.finish, "cancelled") && o4.progress == 3,
              "a sink's non-zero return cancels: %s after %d steps", o4.finish, o4.progress);
    close_engine(&e);
    free(p), free(pi);
}

static void test_refused(void)
{
    engine e;
    if (!open_engine(&e, 2)) return;
    char err[512];
    static out o;
    int n;
    int32_t *p = prompt(e.m, "a red circle", 1, &n);
    sched_request r = picture(e.m, p, n, 2, &o); /* 4 slots of 2 */
    th_expect(sched_submit(e.s, &r, err, sizeof err) < 0 && strstr(err, "cache slots"),
              "too many images: %s", err);
    r = chat(p, 0, 0, 0, 1, &o);
    th_expect(sched_submit(e.s, &r, err, sizeof err) < 0 && strstr(err, "empty"), "empty: %s", err);
    int32_t *longp = calloc(2000, sizeof *longp);
    r = chat(longp, 2000, 0, 0, 1, &o);
    th_expect(sched_submit(e.s, &r, err, sizeof err) < 0 && strstr(err, "context"),
              "too long: %s", err);
    r = chat(p, n, -1, 0, 1, &o);
    th_expect(sched_submit(e.s, &r, err, sizeof err) < 0, "a negative temperature is refused");
    th_expect(sched_pending(e.s) == 0 && o.ended == 0, "refused requests leave nothing behind");
    free(longp), free(p);
    close_engine(&e);
}

typedef struct {
    engine *e;
    sched_request r[3];
} feeder;

static void *feed(void *arg)
{
    feeder *f = arg;
    for (int i = 0; i < 3; i++) submit(f->e, &f->r[i]);
    return NULL;
}

/* Requests handed in by another thread while this one steps. */
static void test_threads(void)
{
    engine e;
    if (!open_engine(&e, 3)) return;
    int n;
    int32_t *p = prompt(e.m, "what is at the top left?", 0, &n);
    static out o[3];
    feeder f = {&e, {chat(p, n, 0, 1, 6, &o[0]), chat(p, n, 1, 2, 6, &o[1]), chat(p, n, 1, 3, 6, &o[2])}};
    pthread_t t;
    pthread_create(&t, NULL, feed, &f);
    char err[512];
    int done = 0;
    for (int guard = 0; guard < 100000 && done < 3; guard++) {
        sched_wait(e.s, 100);
        sched_step(e.s, err, sizeof err);
        done = o[0].ended + o[1].ended + o[2].ended;
    }
    pthread_join(t, NULL);
    for (int i = 0; i < 3; i++)
        th_expect(o[i].ended == 1 && (!strcmp(o[i].finish, "length") || !strcmp(o[i].finish, "stop")),
                  "request %d from another thread served: %s", i, o[i].finish);
    close_engine(&e);
    free(p);
}

int main(void)
{
    th_init("test_scheduler");
    test_batching();
    test_prefix_reuse();
    test_cancel();
    test_refused();
    test_threads();
    return th_finish();
}
