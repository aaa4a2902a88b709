/* scheduler.c: see scheduler.h. Requests live in one list in arrival order; the stepping
 * thread owns it. Other threads only append to the incoming list and the cancel list, under
 * the lock, and the step takes both over at its start. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "engine/scheduler.h"


/* queued for slots; its prompt being read; drawing tokens; (images) decoding its pictures */
typedef enum { R_QUEUED, R_PREFILL, R_DECODE, R_PICTURES } req_state;

typedef struct {
    int32_t *ids;             /* what the cache holds, by position (prefix reuse) */
    int n, cap;               /* positions filled */
    int history;              /* ids[0..n) are kept (chats) */
    int reusable;             /* and are what the cache holds (no picture features) */
    int busy;
    uint64_t used;            /* step of last use: the least recently used is given first */
} slot;

typedef struct req {
    int id;
    sched_request r;          /* with owned copies of ids, pixels and stop strings */
    char **stop;
    req_state st;
    int cancel;
    int *slot;                /* chat: 1; image: cond, uncond per image */
    int n_slot;
    int done;                 /* prompt positions in the cache */
    int keep;                 /* of which reused from an earlier request */
    gpu_tensor *embeds;       /* chat with pictures: the prompt's embeddings */
    sampler **smp;            /* chat: 1; image: one per image (seed + i) */
    text_out *out;
    int32_t *next;            /* per sequence (chat 1, image n_images): the token to feed */
    int32_t draft;            /* chat with the MTP layer: the token guessed to follow next, or
                                 -1 (none: the step is a plain one) */
    int n_drafts, n_accepted;
    int32_t *codes;           /* image: [n_images][T] */
    int step, n_gen;
    int pictures;             /* image: pictures decoded and sent */
    double t_submit, t_admit, t_first;
    struct req *link;
} req;

struct scheduler {
    model *m;
    janus *j;
    int n_slots, T, K;        /* slots; image tokens per image; codebook */
    int LV, V;                /* logits per row (the head's); of which tokens the tokenizer has */
    int mtp;                  /* chats decode speculatively with the MTP layer's drafts */
    slot *slots;
    req *list;                /* admitted and queued, arrival order (stepping thread) */
    float *logits, *mix;
    uint64_t steps;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    req *incoming;            /* submitted, not yet seen by a step (under mu) */
    int *cancels, n_cancels, cap_cancels; /* ids to cancel at the next step */
    int next_id, pending;
    int closed;               /* sched_close: no new requests */
    sched_stats stats;        /* queued and running: the list's, as of the last step's end */
    uint64_t step_rows;       /* rows decoded in this step (stepping thread) */
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void req_free(scheduler *s, req *q)
{
    if (!q) return;
    for (int i = 0; q->stop && i < q->r.gen.n_stop; i++) free(q->stop[i]);
    for (int i = 0; q->smp && i < (q->r.kind == REQ_IMAGE ? q->r.n_images : 1); i++)
        sampler_free(q->smp[i]);
    if (q->embeds) gpu_free(s->m->ctx, q->embeds);
    text_out_free(q->out);
    free(q->stop), free(q->smp), free(q->slot), free(q->next), free(q->codes);
    free((void *)q->r.ids), free((void *)q->r.pixels);
    free(q);
}

scheduler *sched_new(model *m, janus *j, char *err, size_t errlen)
{
    scheduler *s = calloc(1, sizeof *s);
    int n = lm_seqs(m->lm);
    if (!s || !(s->slots = calloc((size_t)n, sizeof *s->slots))) {
        free(s);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->m = m, s->j = j, s->n_slots = n, s->LV = s->V = lm_vocab(m->lm);
    /* only ids the tokenizer has: embeddings are padded past it (V3: 128815 of 129280) */
    if (m->tok && tok_vocab_size(m->tok) < s->V) s->V = tok_vocab_size(m->tok);
    s->mtp = lm_has_mtp(m->lm);
    s->T = j ? janus_image_tokens(j) : 0;
    s->K = j ? janus_codebook(j) : 0;
    int w = s->LV > s->K ? s->LV : s->K;
    s->logits = malloc((size_t)2 * n * w * sizeof *s->logits);
    s->mix = malloc((size_t)w * sizeof *s->mix);
    if (!s->logits || !s->mix) {
        snprintf(err, errlen, "out of memory");
        sched_free(s);
        return NULL;
    }
    s->stats.device_memory = gpu_memory_in_use(m->ctx);
    return s;
}

/* Gives an admitted request's cache slots back. */
static void release_slots(scheduler *s, req *q)
{
    for (int i = 0; q->st != R_QUEUED && i < q->n_slot; i++) s->slots[q->slot[i]].busy = 0;
    q->n_slot = 0;
}

/* Sends END and frees the request (its slots go back). */
static void finish(scheduler *s, req *q, const char *why, const char *error)
{
    double t = now();
    gen_event e = {.kind = GEN_END, .n_prompt = q->r.n, .n_cached = q->keep, .n_gen = q->n_gen,
                   .n_drafts = q->n_drafts, .n_accepted = q->n_accepted, .finish = why,
                   .error = error};
    if (q->t_admit > 0) e.queue_s = q->t_admit - q->t_submit;
    if (q->t_first > 0) e.prefill_s = q->t_first - q->t_admit, e.decode_s = t - q->t_first;
    else if (q->t_admit > 0) e.prefill_s = t - q->t_admit;
    else e.queue_s = t - q->t_submit;
    q->r.sink(&e, q->r.user);
    release_slots(s, q);
    req **p = &s->list;
    while (*p && *p != q) p = &(*p)->link;
    if (*p) *p = q->link;
    pthread_mutex_lock(&s->mu);
    s->pending--;
    s->stats.tokens += (uint64_t)q->n_gen;
    s->stats.drafts += (uint64_t)q->n_drafts;
    s->stats.accepted += (uint64_t)q->n_accepted;
    if (q->r.kind == REQ_IMAGE && !strcmp(why, "stop")) s->stats.images += (uint64_t)q->r.n_images;
    pthread_mutex_unlock(&s->mu);
    req_free(s, q);
}

/* The step's counters and the list's census, published for other threads. */
static void publish(scheduler *s, double step_s)
{
    int queued = 0, running = 0;
    for (req *q = s->list; q; q = q->link) q->st == R_QUEUED ? queued++ : running++;
    pthread_mutex_lock(&s->mu);
    s->stats.queued = queued, s->stats.running = running;
    s->stats.batched_rows += s->step_rows;
    if (step_s >= 0) s->stats.steps++, s->stats.step_s += step_s;
    s->stats.device_memory = gpu_memory_in_use(s->m->ctx);
    pthread_mutex_unlock(&s->mu);
    s->step_rows = 0;
}

void sched_close(scheduler *s)
{
    pthread_mutex_lock(&s->mu);
    s->closed = 1;
    req *in = s->incoming;
    s->incoming = NULL;
    pthread_mutex_unlock(&s->mu);
    while (in) { /* arrival order was reversed on the incoming stack: no matter here */
        req *n = in->link;
        in->link = s->list;
        s->list = in;
        in = n;
    }
    while (s->list) finish(s, s->list, "cancelled", NULL);
    publish(s, -1);
}

void sched_free(scheduler *s)
{
    if (!s) return;
    if (s->slots) {
        sched_close(s);
        for (int i = 0; i < s->n_slots; i++) free(s->slots[i].ids);
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
    }
    free(s->slots), free(s->logits), free(s->mix), free(s->cancels);
    free(s);
}

/* ---- submitting ---- */

static int check(scheduler *s, const sched_request *r, char *err, size_t errlen)
{
    int ctx = lm_ctx(s->m->lm);
    if (!r->sink) return snprintf(err, errlen, "a request needs a sink"), -1;
    if (!r->ids || r->n < 1) return snprintf(err, errlen, "the prompt is empty"), -1;
    for (int i = 0; i < r->n; i++)
        if (r->ids[i] < 0 || r->ids[i] >= lm_vocab(s->m->lm))
            return snprintf(err, errlen, "token id %d is outside the vocabulary", r->ids[i]), -1;
    if (r->kind == REQ_CHAT) {
        if (r->n >= ctx)
            return snprintf(err, errlen, "the prompt's %d tokens do not fit the context of %d",
                            r->n, ctx), -1;
        if (r->n_pictures < 0 || (r->n_pictures && (!s->j || !r->pixels)))
            return snprintf(err, errlen, "pictures need a Janus model"), -1;
        int n_ph = 0;
        for (int i = 0; r->n_pictures && i < r->n; i++) n_ph += r->ids[i] == r->picture_id;
        if (r->n_pictures && n_ph != r->n_pictures * janus_patches(s->j))
            return snprintf(err, errlen, "%d picture placeholders for %d pictures of %d tokens",
                            n_ph, r->n_pictures, janus_patches(s->j)), -1;
        return 0;
    }
    if (r->kind != REQ_IMAGE) return snprintf(err, errlen, "unknown request kind"), -1;
    if (!s->j) return snprintf(err, errlen, "this model does not make images"), -1;
    if (r->n_images < 1 || r->n_images > s->n_slots / 2)
        return snprintf(err, errlen, "%d images need %d cache slots; the model has %d",
                        r->n_images, 2 * r->n_images, s->n_slots), -1;
    if (r->n < 2) return snprintf(err, errlen, "the image prompt is empty"), -1;
    if (r->n + s->T > ctx)
        return snprintf(err, errlen, "the prompt (%d tokens) and %d image tokens do not fit the "
                                     "context of %d", r->n, s->T, ctx), -1;
    if (isnan(r->image.cfg) || r->pad_id < 0 || r->pad_id >= lm_vocab(s->m->lm))
        return snprintf(err, errlen, "bad guidance weight or pad id"), -1;
    return 0;
}

/* The request's own copies, samplers and text output; NULL with err set. */
static req *req_new(scheduler *s, const sched_request *r, char *err, size_t errlen)
{
    req *q = calloc(1, sizeof *q);
    if (!q) return snprintf(err, errlen, "out of memory"), NULL;
    q->r = *r;
    q->r.ids = NULL, q->r.pixels = NULL, q->r.gen.stop = NULL;
    int img = r->kind == REQ_IMAGE, n_smp = img ? r->n_images : 1;
    int32_t *ids = malloc((size_t)r->n * sizeof *ids);
    q->n_slot = img ? 2 * r->n_images : 1;
    q->slot = malloc((size_t)q->n_slot * sizeof *q->slot); /* filled when admitted */
    q->next = malloc((size_t)n_smp * sizeof *q->next);
    q->smp = calloc((size_t)n_smp, sizeof *q->smp);
    q->stop = calloc((size_t)(r->gen.n_stop > 0 ? r->gen.n_stop : 1), sizeof *q->stop);
    q->r.ids = ids;
    q->draft = -1;
    int ok = ids && q->slot && q->next && q->smp && q->stop;
    if (ok && img) ok = (q->codes = malloc((size_t)r->n_images * s->T * sizeof *q->codes)) != NULL;
    if (ok && r->n_pictures) {
        size_t sz = (size_t)r->n_pictures * 3 * s->m->cfg.vision.image_size *
                    s->m->cfg.vision.image_size * sizeof(float);
        float *px = malloc(sz);
        if ((ok = px != NULL)) memcpy(px, r->pixels, sz);
        q->r.pixels = px;
    }
    for (int i = 0; ok && !img && i < r->gen.n_stop; i++) ok = (q->stop[i] = strdup(r->gen.stop[i])) != NULL;
    if (!ok) {
        snprintf(err, errlen, "out of memory");
        req_free(s, q);
        return NULL;
    }
    memcpy(ids, r->ids, (size_t)r->n * sizeof *ids);
    q->r.gen.stop = (const char *const *)q->stop;
    if (img) q->r.gen.n_stop = 0;
    for (int i = 0; i < n_smp; i++) {
        sampler_params sp = img ? r->image.sampling : r->gen.sampling;
        sp.seed += (uint64_t)i;
        if (!(q->smp[i] = sampler_new(&sp, err, errlen))) {
            req_free(s, q);
            return NULL;
        }
    }
    if (!img && !(q->out = text_out_new(s->m->tok, &q->r.gen, err, errlen))) {
        req_free(s, q);
        return NULL;
    }
    q->t_submit = now();
    return q;
}

int sched_submit(scheduler *s, const sched_request *r, char *err, size_t errlen)
{
    if (check(s, r, err, errlen)) return -1;
    req *q = req_new(s, r, err, errlen);
    if (!q) return -1;
    pthread_mutex_lock(&s->mu);
    if (s->closed) {
        pthread_mutex_unlock(&s->mu);
        req_free(s, q);
        return snprintf(err, errlen, "shutting down"), -2;
    }
    q->id = s->next_id++;
    if (s->next_id < 0) s->next_id = 0;
    q->link = s->incoming;
    s->incoming = q;
    s->pending++;
    s->stats.requests++;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return q->id;
}

void sched_cancel(scheduler *s, int id)
{
    pthread_mutex_lock(&s->mu);
    if (s->n_cancels == s->cap_cancels) {
        int nc = s->cap_cancels ? 2 * s->cap_cancels : 64;
        int *p = realloc(s->cancels, (size_t)nc * sizeof *p);
        if (p) s->cancels = p, s->cap_cancels = nc;
    }
    if (s->n_cancels < s->cap_cancels) s->cancels[s->n_cancels++] = id;
    pthread_mutex_unlock(&s->mu);
}

int sched_pending(scheduler *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->pending;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void sched_wait(scheduler *s, int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
    pthread_mutex_lock(&s->mu);
    if (!s->pending) pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    pthread_mutex_unlock(&s->mu);
}

sched_stats sched_get_stats(scheduler *s)
{
    pthread_mutex_lock(&s->mu);
    sched_stats st = s->stats;
    for (req *q = s->incoming; q; q = q->link) st.queued++;
    pthread_mutex_unlock(&s->mu);
    return st;
}

/* ---- admitting ---- */

static int common_prefix(const slot *sl, const int32_t *ids, int n)
{
    int k = 0;
    if (!sl->reusable) return 0;
    while (k < sl->n && k < n && sl->ids[k] == ids[k]) k++;
    return k;
}

/* Free slots for q: a chat takes the one sharing the longest prefix with its prompt, else
 * the least recently used; an image the least recently used. 0, or -1 when too few. */
static int take_slots(scheduler *s, req *q)
{
    int free_n = 0;
    for (int i = 0; i < s->n_slots; i++) free_n += !s->slots[i].busy;
    if (free_n < q->n_slot) return -1;
    for (int k = 0; k < q->n_slot; k++) {
        int best = -1, best_keep = -1;
        for (int i = 0; i < s->n_slots; i++) {
            slot *sl = &s->slots[i];
            if (sl->busy) continue;
            int keep = q->r.kind == REQ_CHAT && !q->r.n_pictures ? common_prefix(sl, q->r.ids, q->r.n) : 0;
            if (best < 0 || keep > best_keep ||
                (keep == best_keep && sl->used < s->slots[best].used))
                best = i, best_keep = keep;
        }
        s->slots[best].busy = 1;
        q->slot[k] = best;
        if (k == 0 && q->r.kind == REQ_CHAT) q->keep = best_keep;
    }
    /* the last token runs again, for its logits; with the MTP layer the one before it too,
     * as its MTP cache row was made with the old next token */
    if (q->keep == q->r.n || (s->mtp && q->keep > 0)) q->keep--;
    q->done = q->keep;
    for (int k = 0; k < q->n_slot; k++) {
        slot *sl = &s->slots[q->slot[k]];
        sl->n = q->keep;
        sl->history = q->r.kind == REQ_CHAT;
        sl->reusable = sl->history && !q->r.n_pictures;
    }
    return 0;
}

/* Advances slot sl by n fed tokens, keeping their ids when it keeps a history (a chat's:
 * for prefix reuse and the repetition penalty). */
static void remember(slot *sl, const int32_t *ids, int n)
{
    if (sl->history && sl->n + n > sl->cap) {
        int nc = sl->cap ? sl->cap : 256;
        while (nc < sl->n + n) nc *= 2;
        int32_t *p = realloc(sl->ids, (size_t)nc * sizeof *p);
        if (p) sl->ids = p, sl->cap = nc;
        else sl->history = sl->reusable = 0;
    }
    if (sl->history) memcpy(sl->ids + sl->n, ids, (size_t)n * sizeof *ids);
    sl->n += n;
}

/* ---- after logits: drawing tokens and sending events ---- */

/* Ends a chat: what the text holders kept back, then END. */
static void chat_end(scheduler *s, req *q, const char *why)
{
    char err[512];
    int r = text_out_finish(q->out, q->r.sink, q->r.user, err, sizeof err);
    finish(s, q, r < 0 ? "error" : r > 0 ? "cancelled" : why, r < 0 ? err : NULL);
}

/* A chat's next token from its logits row. 0: it goes on (q->next set), 1: it ended. */
static int chat_token(scheduler *s, req *q, float *row)
{
    char err[512];
    slot *sl = &s->slots[q->slot[0]];
    const gen_params *p = &q->r.gen;
    if (!q->t_first) q->t_first = now();
    if (p->max_tokens > 0 && q->n_gen >= p->max_tokens) return chat_end(s, q, "length"), 1;
    int id = sampler_sample(q->smp[0], row, s->V, sl->ids, sl->history ? sl->n : 0, err,
                            sizeof err);
    if (id < 0) return finish(s, q, "error", err), 1;
    q->n_gen++;
    if (id == tok_eos(s->m->tok) || id == s->m->cfg.lm.eos_token_id)
        return chat_end(s, q, "stop"), 1;
    int r = text_out_token(q->out, id, q->r.sink, q->r.user, err, sizeof err);
    if (r < 0) return finish(s, q, "error", err), 1;
    if (r > 0) {
        if (text_out_cancelled(q->out)) return finish(s, q, "cancelled", NULL), 1;
        return chat_end(s, q, "stop"), 1; /* a stop string: the splitter's held bytes still go */
    }
    if (sl->n >= lm_ctx(s->m->lm)) return chat_end(s, q, "length"), 1;
    q->next[0] = id;
    return 0;
}

/* An image request's next codes from its rows' image logits [2 n_images][K] (conditional,
 * unconditional per image). 0: it goes on (to its pictures after the last), 1: it ended. */
static int image_tokens(scheduler *s, req *q, const float *logits)
{
    char err[512];
    int n = q->r.n_images, K = s->K, T = s->T;
    if (!q->t_first) q->t_first = now();
    for (int i = 0; i < n; i++) {
        const float *c = logits + (int64_t)2 * i * K, *u = c + K;
        for (int k = 0; k < K; k++) s->mix[k] = u[k] + q->r.image.cfg * (c[k] - u[k]);
        int id = sampler_sample(q->smp[i], s->mix, K, NULL, 0, err, sizeof err);
        if (id < 0) return finish(s, q, "error", err), 1;
        q->codes[(int64_t)i * T + q->step] = q->next[i] = id;
    }
    q->step++;
    q->n_gen += n;
    gen_event e = {.kind = GEN_IMAGE_PROGRESS, .n_images = n, .step = q->step, .total = T,
                   .codes = q->codes};
    if (q->r.sink(&e, q->r.user)) return finish(s, q, "cancelled", NULL), 1;
    if (q->step == T) {
        release_slots(s, q); /* the pictures need no cache */
        q->st = R_PICTURES;
    }
    return 0;
}

/* The next picture of an image request whose tokens are all drawn: one per step, so other
 * sequences move on between pictures (the VQ decoder is the longest single op). */
static void next_picture(scheduler *s, req *q)
{
    char err[512];
    int n = q->r.n_images, T = s->T, S = janus_image_size(s->j), i = q->pictures;
    uint8_t *rgb = malloc((size_t)S * S * 3);
    if (!rgb) return finish(s, q, "error", "out of memory");
    if (janus_decode(s->j, q->codes + (int64_t)i * T, 1, rgb, err, sizeof err)) {
        free(rgb);
        return finish(s, q, "error", err);
    }
    gen_event d = {.kind = GEN_IMAGE_DONE, .n_images = n, .image = i, .step = T, .total = T,
                   .size = S, .codes = q->codes + (int64_t)i * T, .rgb = rgb};
    int cancel = q->r.sink(&d, q->r.user);
    free(rgb);
    if (cancel) return finish(s, q, "cancelled", NULL);
    if (++q->pictures == n) finish(s, q, "stop", NULL);
}

/* ---- the step ---- */

/* Every request of the batch ends with the device's error. */
static void fail_all(scheduler *s, req **batch, int n, const char *err)
{
    for (int i = 0; i < n; i++) finish(s, batch[i], "error", err);
}

/* q's draft: the MTP logits' most likely token, if two more tokens fit the context. */
static void set_draft(scheduler *s, req *q, const float *row)
{
    int best = 0;
    for (int v = 1; v < s->V; v++)
        if (row[v] > row[best]) best = v;
    q->draft = s->slots[q->slot[0]].n + 2 <= lm_ctx(s->m->lm) ? best : -1;
}

/* The MTP layer over the prompt chunk of n tokens just read (ending at q->done), for its
 * cache rows (a later turn reuses them): each position's next token is the prompt's; after
 * the last chunk, the first token is drawn here and its MTP logits give the first draft (if
 * that token ended q, the last row is never reused and any token stands in). 0, or -1 with
 * err set (q has ended). */
static int prompt_mtp(scheduler *s, req *q, int n, int last, char *err, size_t errlen)
{
    int from = q->done - n, si = q->slot[0], ended = 0;
    int32_t *next = malloc((size_t)n * sizeof *next);
    if (!next) return finish(s, q, "error", "out of memory"), -1;
    for (int t = 0; t < n; t++)
        next[t] = q->r.ids[from + t + 1 < q->r.n ? from + t + 1 : from + t];
    if (last && !(ended = chat_token(s, q, s->logits))) next[n - 1] = q->next[0];
    int rc = lm_mtp(s->m->lm, next, 0, last && !ended ? s->logits : NULL, err, errlen);
    free(next);
    if (rc) {
        s->slots[si].reusable = 0; /* its MTP rows are not all written */
        if (!ended) finish(s, q, "error", err);
        return -1;
    }
    if (last && !ended) set_draft(s, q, s->logits);
    return 0;
}

/* One chunk of q's prompt; its first token(s) when the prompt is complete. 0, or -1 with
 * err set (q has ended). */
static int prefill(scheduler *s, req *q, char *err, size_t errlen)
{
    lm *m = s->m->lm;
    gpu_ctx *g = s->m->ctx;
    int img = q->r.kind == REQ_IMAGE, rows = q->n_slot, D = lm_dim(m);
    if (q->r.n_pictures && !q->embeds &&
        !(q->embeds = janus_embed_prompt(s->j, q->r.ids, q->r.n, q->r.picture_id, q->r.pixels,
                                         q->r.n_pictures, err, errlen)))
        return finish(s, q, "error", err), -1;
    /* a chunk's tokens in all its rows (an image's are 2 per picture) stay in the budget */
    int chunk = SCHED_PREFILL_TOKENS / rows > 1 ? SCHED_PREFILL_TOKENS / rows : 1;
    int n = q->r.n - q->done < chunk ? q->r.n - q->done : chunk;
    int last = q->done + n == q->r.n;
    gpu_tensor *x;
    if (q->embeds) {
        x = gpu_view(g, q->embeds, D, n, 1, 1, D, (int64_t)D * n, (int64_t)D * n,
                     (int64_t)D * q->done);
    } else {
        /* image: every conditional row the prompt; unconditional rows pads between BOS and
         * <begin_of_image> */
        int32_t *ids = malloc((size_t)rows * n * sizeof *ids);
        if (!ids) return finish(s, q, "error", "out of memory"), -1;
        for (int r = 0; r < rows; r++)
            for (int t = 0; t < n; t++) {
                int at = q->done + t;
                ids[r * n + t] = img && r % 2 && at > 0 && at + 1 < q->r.n ? q->r.pad_id : q->r.ids[at];
            }
        x = lm_embed_rows(m, ids, n, rows, err, errlen);
        free(ids);
    }
    int *pos = malloc((size_t)rows * sizeof *pos);
    for (int r = 0; pos && r < rows; r++) pos[r] = q->done;
    int rc = x && pos ? lm_forward_rows(m, x, n, q->slot, pos, 0, last && !img ? s->logits : NULL,
                                        err, errlen)
                      : -1;
    if (!pos) snprintf(err, errlen, "out of memory");
    gpu_free(g, x);
    free(pos);
    if (rc) return finish(s, q, "error", err), -1;
    for (int r = 0; r < rows; r++) {
        slot *sl = &s->slots[q->slot[r]];
        remember(sl, q->r.ids + q->done, n);
        sl->used = s->steps;
    }
    q->done += n;
    if (!last) return s->mtp && !img ? prompt_mtp(s, q, n, 0, err, errlen) : 0;
    if (q->embeds) gpu_free(g, q->embeds), q->embeds = NULL;
    q->st = R_DECODE;
    if (!img) {
        if (s->mtp) return prompt_mtp(s, q, n, 1, err, errlen);
        return chat_token(s, q, s->logits), 0;
    }
    if (janus_gen_logits(s->j, lm_last_hidden(m), rows, s->logits, err, errlen))
        return finish(s, q, "error", err), -1;
    image_tokens(s, q, s->logits);
    return 0;
}

/* One token for every decoding sequence without a draft: chat rows first, then image rows
 * (conditional, unconditional per image), one forward. 0, or -1 with err set (the batch has
 * ended). */
static int decode(scheduler *s, char *err, size_t errlen)
{
    lm *m = s->m->lm;
    gpu_ctx *g = s->m->ctx;
    int nq = 0, nt = 0, ni = 0, D = lm_dim(m);
    for (req *q = s->list; q; q = q->link)
        if (q->st == R_DECODE && q->draft < 0) nq++, q->r.kind == REQ_CHAT ? nt++ : (ni += q->n_slot);
    if (!nq) return 0;
    req **batch = malloc((size_t)nq * sizeof *batch);
    int *slots = malloc((size_t)(nt + ni) * sizeof *slots), *pos = malloc((size_t)(nt + ni) * sizeof *pos);
    int32_t *tt = malloc((size_t)(nt + ni) * sizeof *tt), *it = tt ? tt + nt : NULL;
    if (!batch || !slots || !pos || !tt) {
        free(batch), free(slots), free(pos), free(tt);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int k = 0, rt = 0, ri = nt;
    for (int kind = REQ_CHAT; kind <= REQ_IMAGE; kind++)
        for (req *q = s->list; q; q = q->link) {
            if (q->st != R_DECODE || q->draft >= 0 || (int)q->r.kind != kind) continue;
            batch[k++] = q;
            for (int r = 0; r < q->n_slot; r++) {
                int row = kind == REQ_CHAT ? rt++ : ri++;
                slots[row] = q->slot[r], pos[row] = s->slots[q->slot[r]].n;
                if (kind == REQ_CHAT) tt[row] = q->next[0];
                else it[row - nt] = q->next[r / 2];
            }
        }
    /* x [D, 1, rows]: token embeddings of the chat rows, gen_aligner(gen_embed) of the
     * image rows */
    gpu_tensor *xt = nt ? lm_embed_rows(m, tt, 1, nt, err, errlen) : NULL;
    gpu_tensor *xi = ni && (!nt || xt) ? janus_gen_embed(s->j, it, ni, err, errlen) : NULL;
    gpu_tensor *x = !ni ? xt : !nt ? xi : NULL;
    int rc = (nt && !xt) || (ni && !xi);
    if (!rc && nt && ni) {
        x = gpu_new(g, GPU_F32, D, 1, nt + ni, 1, "step_x");
        gpu_tensor *a = x ? gpu_view(g, x, D, 1, nt, 1, D, D, (int64_t)D * nt, 0) : NULL;
        gpu_tensor *b = x ? gpu_view(g, x, D, 1, ni, 1, D, D, (int64_t)D * ni, (int64_t)D * nt) : NULL;
        rc = !a || !b || gpu_copy(g, a, xt) || gpu_copy(g, b, xi);
        if (rc) snprintf(err, errlen, "step input: %s", gpu_errmsg());
        gpu_free(g, a), gpu_free(g, b);
    }
    if (!rc) rc = lm_forward_rows(m, x, 1, slots, pos, 0, NULL, err, errlen) != 0;
    for (int r = 0; !rc && r < nt + ni; r++) remember(&s->slots[slots[r]], &tt[r], 1);
    /* logits: the language model's head for chat rows, gen_head for image rows */
    gpu_tensor *last = lm_last_hidden(m), *ht = NULL, *hi = NULL;
    float *il = s->logits + (int64_t)nt * s->LV;
    if (!rc && nt) {
        ht = gpu_view(g, last, D, nt, 1, 1, D, (int64_t)D * nt, (int64_t)D * nt, 0);
        rc = !ht || lm_head(m, ht, nt, s->logits, err, errlen);
    }
    if (!rc && ni) {
        hi = gpu_view(g, last, D, ni, 1, 1, D, (int64_t)D * ni, (int64_t)D * ni, (int64_t)D * nt);
        rc = !hi || janus_gen_logits(s->j, hi, ni, il, err, errlen);
    }
    if (ht) gpu_free(g, ht);
    if (hi) gpu_free(g, hi);
    if (x != xt && x != xi) gpu_free(g, x);
    if (xt) gpu_free(g, xt);
    if (xi) gpu_free(g, xi);
    s->step_rows += (uint64_t)(nt + ni);
    if (rc) {
        gpu_clear_error(g);
        fail_all(s, batch, nq, err);
    } else {
        int row = 0, irow = 0;
        for (int i = 0; i < nq; i++) {
            req *q = batch[i];
            if (q->r.kind == REQ_CHAT) {
                chat_token(s, q, s->logits + (int64_t)row++ * s->LV);
            } else {
                int rows = q->n_slot; /* image_tokens may free q */
                image_tokens(s, q, il + (int64_t)irow * s->K);
                irow += rows;
            }
        }
    }
    for (int r = 0; r < nt + ni; r++) s->slots[slots[r]].used = s->steps;
    free(batch), free(slots), free(pos), free(tt);
    return rc ? -1 : 0;
}

/* Speculative decoding: every chat with a draft feeds its next token and the draft (positions
 * n, n+1) in one forward. Its sampler draws from position n's logits just as plain decoding
 * would; when that token is the draft, position n+1's logits are the ones plain decoding
 * would see next, and give a second token. So the tokens and the sampler's state are plain
 * decoding's, whatever the sampling (up to the rounding of a 2-token batch's kernels); only
 * the number of steps drops. The MTP layer then drafts again from the last accepted position
 * (a rejected draft's cache rows are simply overwritten later). 0, or -1 with err set (the
 * batch has ended). */
static int spec_decode(scheduler *s, char *err, size_t errlen)
{
    lm *m = s->m->lm;
    int n = 0;
    for (req *q = s->list; q; q = q->link) n += q->st == R_DECODE && q->draft >= 0;
    if (!n) return 0;
    req **batch = malloc((size_t)n * sizeof *batch);
    int *slots = malloc((size_t)n * sizeof *slots), *pos = malloc((size_t)n * sizeof *pos);
    int32_t *ids = malloc((size_t)n * 2 * sizeof *ids), *after = malloc((size_t)n * 2 * sizeof *after);
    char *acc = calloc((size_t)n, 1);
    int rc = 0, k = 0;
    if (!batch || !slots || !pos || !ids || !after || !acc) {
        free(batch), free(slots), free(pos), free(ids), free(after), free(acc);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (req *q = s->list; q; q = q->link) {
        if (q->st != R_DECODE || q->draft < 0) continue;
        batch[k] = q, slots[k] = q->slot[0], pos[k] = s->slots[q->slot[0]].n;
        ids[2 * k] = q->next[0], ids[2 * k + 1] = q->draft;
        k++;
    }
    gpu_tensor *x = lm_embed_rows(m, ids, 2, n, err, errlen);
    rc = !x || lm_forward_rows(m, x, 2, slots, pos, 1, s->logits, err, errlen);
    gpu_free(s->m->ctx, x);
    s->step_rows += (uint64_t)n;
    for (int r = 0; r < n && !rc; r++) {
        req *q = batch[r];
        slot *sl = &s->slots[slots[r]];
        float *l = s->logits + (int64_t)2 * r * s->LV;
        int32_t d = ids[2 * r + 1];
        q->draft = -1, q->n_drafts++;
        after[2 * r] = after[2 * r + 1] = ids[2 * r]; /* the MTP inputs of an ended row */
        remember(sl, &ids[2 * r], 1);
        sl->used = s->steps;
        if (chat_token(s, q, l)) {
            batch[r] = NULL; /* ended (and freed) */
            continue;
        }
        /* the MTP layer at positions n, n+1 sees the tokens at n+1, n+2 (position n's row
         * is written even if the request ends here: a later turn may reuse it) */
        after[2 * r] = q->next[0];
        if ((acc[r] = q->next[0] == d)) {
            q->n_accepted++;
            remember(sl, &d, 1);
            if (chat_token(s, q, l + s->LV)) {
                batch[r] = NULL;
                continue;
            }
        }
        after[2 * r + 1] = q->next[0];
    }
    /* also for rows that just ended: their accepted positions' MTP rows may be reused */
    if (!rc) {
        rc = lm_mtp(m, after, 1, s->logits, err, errlen);
        for (int r = 0; r < n && !rc; r++)
            if (batch[r]) set_draft(s, batch[r], s->logits + (int64_t)(2 * r + acc[r]) * s->LV);
    }
    if (rc) {
        gpu_clear_error(s->m->ctx);
        for (int r = 0; r < n; r++) {
            s->slots[slots[r]].reusable = 0; /* its MTP rows are not all written */
            if (batch[r]) finish(s, batch[r], "error", err);
        }
    }
    free(batch), free(slots), free(pos), free(ids), free(after), free(acc);
    return rc ? -1 : 0;
}

int sched_step(scheduler *s, char *err, size_t errlen)
{
    double t0 = now();
    err[0] = 0;
    /* take over what other threads handed in */
    pthread_mutex_lock(&s->mu);
    req *in = s->incoming;
    int *cancels = s->cancels, nc = s->n_cancels;
    s->incoming = NULL, s->cancels = NULL, s->n_cancels = s->cap_cancels = 0;
    pthread_mutex_unlock(&s->mu);
    req *rev = NULL; /* the incoming stack, newest first: reverse to arrival order */
    while (in) {
        req *n = in->link;
        in->link = rev, rev = in, in = n;
    }
    req **tail = &s->list;
    while (*tail) tail = &(*tail)->link;
    *tail = rev;
    for (int i = 0; i < nc; i++)
        for (req *q = s->list; q; q = q->link)
            if (q->id == cancels[i]) {
                finish(s, q, "cancelled", NULL);
                break;
            }
    free(cancels);
    s->steps++;
    /* admit in arrival order while slots last */
    for (req *q = s->list; q; q = q->link) {
        if (q->st != R_QUEUED) continue;
        if (take_slots(s, q)) break;
        q->st = R_PREFILL;
        q->t_admit = now();
    }
    /* one chunk of the first prompt in progress */
    int rc = 0;
    for (req *q = s->list; q; q = q->link)
        if (q->st == R_PREFILL) {
            rc = prefill(s, q, err, errlen);
            break;
        }
    if (decode(s, err, errlen)) rc = -1;
    if (spec_decode(s, err, errlen)) rc = -1;
    for (req *q = s->list; q; q = q->link)
        if (q->st == R_PICTURES) {
            next_picture(s, q);
            break;
        }
    publish(s, now() - t0);
    return rc;
}

int sched_run(scheduler *s, int id, char *err, size_t errlen)
{
    for (;;) {
        int live = 0;
        pthread_mutex_lock(&s->mu);
        for (req *q = s->incoming; q && !live; q = q->link) live = q->id == id;
        pthread_mutex_unlock(&s->mu);
        for (req *q = s->list; q && !live; q = q->link) live = q->id == id;
        if (!live) return 0;
        if (sched_step(s, err, errlen)) return -1;
    }
}
