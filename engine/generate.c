/* generate.c: see generate.h. Per step: sample on the host from the last logits, stream
 * the token's text through the UTF-8 holder, the stop-string matcher and the reasoning
 * splitter, then feed the token back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "engine/generate.h"
#include "text/reasoning.h"
#include "text/stop.h"

struct session {
    model *m;
    int32_t *ids;      /* tokens in the cache, position order */
    int n, cap;
    float *logits;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

session *session_new(model *m, char *err, size_t errlen)
{
    session *s = calloc(1, sizeof *s);
    int V = lm_vocab(m->lm);
    if (!s || !(s->logits = malloc((size_t)V * sizeof *s->logits))) {
        free(s);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->m = m;
    return s;
}

void session_free(session *s)
{
    if (!s) return;
    free(s->ids);
    free(s->logits);
    free(s);
}

void session_reset(session *s) { s->n = 0; }

static int remember(session *s, int32_t id)
{
    if (s->n == s->cap) {
        int nc = s->cap ? s->cap * 2 : 1024;
        int32_t *p = realloc(s->ids, (size_t)nc * sizeof *p);
        if (!p) return -1;
        s->ids = p, s->cap = nc;
    }
    s->ids[s->n++] = id;
    return 0;
}

/* Runs ids[0..n) at position pos; logits of the last one into s->logits. */
static int feed(session *s, const int32_t *ids, int n, int pos, char *err, size_t errlen)
{
    gpu_tensor *x = lm_embed(s->m->lm, ids, n, err, errlen);
    int rc = x ? lm_forward(s->m->lm, x, n, pos, 0, s->logits, err, errlen) : -1;
    gpu_free(s->m->ctx, x);
    return rc;
}

/* Emits text as the splitter sorts it: reasoning first, then content. */
static int emit(reasoning *r, const char *text, size_t len, gen_sink sink, void *user, char *err,
                size_t errlen)
{
    if (!len) return 0;
    reasoning_out ro = {0};
    if (!r) {
        gen_event e = {.kind = GEN_TEXT, .text = text, .len = len};
        return sink(&e, user) ? 1 : 0;
    }
    if (reasoning_feed(r, text, len, &ro, err, errlen)) return -1;
    gen_event a = {.kind = GEN_REASONING, .text = ro.reasoning, .len = ro.reasoning_len};
    gen_event b = {.kind = GEN_TEXT, .text = ro.content, .len = ro.content_len};
    if (a.len && sink(&a, user)) return 1;
    if (b.len && sink(&b, user)) return 1;
    return 0;
}

int session_generate(session *s, const int32_t *prompt, int n, gpu_tensor *embeds,
                     const gen_params *p, gen_sink sink, void *user, char *err, size_t errlen)
{
    model *m = s->m;
    if (n < 1) {
        snprintf(err, errlen, "the prompt is empty");
        return -1;
    }
    if (n >= lm_ctx(m->lm)) {
        snprintf(err, errlen, "the prompt's %d tokens do not fit the context of %d (--ctx)", n,
                 lm_ctx(m->lm));
        return -1;
    }
    /* the cached prefix is reused; at least the last token runs, for its logits */
    int keep = 0;
    while (!embeds && keep < s->n && keep < n && s->ids[keep] == prompt[keep]) keep++;
    if (keep == n) keep--;
    s->n = keep;
    sampler *smp = sampler_new(&p->sampling, err, errlen);
    stop_matcher *stop = smp ? stop_new(p->stop, p->n_stop, err, errlen) : NULL;
    reasoning *rs = NULL;
    tok_stream *ts = stop ? tok_stream_new(m->tok) : NULL;
    if (stop && p->reasoning)
        rs = reasoning_new(p->reasoning == 2 ? REASONING_OPEN : REASONING_AUTO, err, errlen);
    int rc = -1;
    gen_event end = {.kind = GEN_END, .n_prompt = n, .n_cached = keep, .finish = "length"};
    if (!ts || (p->reasoning && !rs)) {
        if (stop && !ts) snprintf(err, errlen, "out of memory");
        goto done;
    }
    double t0 = now();
    if (embeds ? lm_forward(m->lm, embeds, n, 0, 0, s->logits, err, errlen)
               : feed(s, prompt + keep, n - keep, keep, err, errlen))
        goto done;
    for (int i = keep; i < n; i++) remember(s, prompt[i]);
    end.prefill_s = now() - t0;
    t0 = now();
    int32_t eos = tok_eos(m->tok), eos2 = m->cfg.lm.eos_token_id;
    int cancelled = 0, stopped = 0;
    for (;;) {
        if (p->max_tokens > 0 && end.n_gen >= p->max_tokens) break;
        /* only ids the tokenizer has: embeddings are padded past it (V3: 128815 of 129280) */
        int nv = lm_vocab(m->lm) < tok_vocab_size(m->tok) ? lm_vocab(m->lm) : tok_vocab_size(m->tok);
        int id = sampler_sample(smp, s->logits, nv, s->ids, s->n, err, errlen);
        if (id < 0) goto done;
        end.n_gen++;
        if (id == eos || id == eos2) {
            end.finish = "stop";
            break;
        }
        const char *text;
        size_t len;
        stop_out so;
        if (tok_stream_push(ts, id, &text, &len, err, errlen) ||
            stop_feed(stop, text, len, &so, err, errlen))
            goto done;
        int r = emit(rs, so.text, so.len, sink, user, err, errlen);
        if (r < 0) goto done;
        if (r > 0) {
            cancelled = 1;
            break;
        }
        if (so.stopped) {
            stopped = 1;
            end.finish = "stop";
            break;
        }
        if (s->n >= lm_ctx(m->lm)) break; /* the context is full: "length" */
        if (feed(s, &id, 1, s->n, err, errlen) || remember(s, id)) goto done;
    }
    /* release what the holders kept back */
    if (!cancelled) {
        const char *text;
        size_t len;
        stop_out so = {0};
        if (tok_stream_finish(ts, &text, &len, err, errlen)) goto done;
        if (!stopped) {
            if (len && stop_feed(stop, text, len, &so, err, errlen)) goto done;
            int r = emit(rs, so.text, so.len, sink, user, err, errlen);
            if (r < 0) goto done;
            stop_finish(stop, &so);
            if (!r) r = emit(rs, so.text, so.len, sink, user, err, errlen);
            if (r < 0) goto done;
            cancelled = r > 0;
        }
        if (rs && !cancelled) {
            reasoning_out ro = {0};
            if (reasoning_finish(rs, &ro, err, errlen)) goto done;
            gen_event a = {.kind = GEN_REASONING, .text = ro.reasoning, .len = ro.reasoning_len};
            gen_event b = {.kind = GEN_TEXT, .text = ro.content, .len = ro.content_len};
            if ((a.len && sink(&a, user)) || (b.len && sink(&b, user))) cancelled = 1;
        }
    }
    if (cancelled) end.finish = "cancelled";
    end.decode_s = now() - t0;
    sink(&end, user);
    rc = 0;
done:
    sampler_free(smp);
    stop_free(stop);
    reasoning_free(rs);
    tok_stream_free(ts);
    return rc;
}
