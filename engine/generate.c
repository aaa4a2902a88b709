/* generate.c: see generate.h. A token's text goes through the UTF-8 holder, the stop-string
 * matcher and the reasoning splitter, in that order, then to the sink. */
#include <stdio.h>
#include <stdlib.h>
#include "engine/generate.h"
#include "text/reasoning.h"
#include "text/stop.h"

struct text_out {
    tok_stream *ts;
    stop_matcher *stop;
    reasoning *rs;
    int stopped, cancelled;
};

text_out *text_out_new(const tokenizer *tok, const gen_params *p, char *err, size_t errlen)
{
    text_out *t = calloc(1, sizeof *t);
    if (!t || !(t->ts = tok_stream_new(tok))) {
        snprintf(err, errlen, "out of memory");
        text_out_free(t);
        return NULL;
    }
    if (!(t->stop = stop_new(p->stop, p->n_stop, err, errlen)) ||
        (p->reasoning &&
         !(t->rs = reasoning_new(p->reasoning == 2 ? REASONING_OPEN : REASONING_AUTO, err,
                                 errlen)))) {
        text_out_free(t);
        return NULL;
    }
    return t;
}

void text_out_free(text_out *t)
{
    if (!t) return;
    tok_stream_free(t->ts);
    stop_free(t->stop);
    reasoning_free(t->rs);
    free(t);
}

int text_out_cancelled(const text_out *t) { return t->cancelled; }

/* Sends text as the splitter sorts it: reasoning first, then content. 1 when cancelled. */
static int emit(text_out *t, const char *text, size_t len, gen_sink sink, void *user, char *err,
                size_t errlen)
{
    if (!len) return 0;
    if (!t->rs) {
        gen_event e = {.kind = GEN_TEXT, .text = text, .len = len};
        return (t->cancelled = sink(&e, user) != 0);
    }
    reasoning_out ro = {0};
    if (reasoning_feed(t->rs, text, len, &ro, err, errlen)) return -1;
    gen_event a = {.kind = GEN_REASONING, .text = ro.reasoning, .len = ro.reasoning_len};
    gen_event b = {.kind = GEN_TEXT, .text = ro.content, .len = ro.content_len};
    t->cancelled = (a.len && sink(&a, user)) || (b.len && sink(&b, user));
    return t->cancelled;
}

int text_out_token(text_out *t, int32_t id, gen_sink sink, void *user, char *err,
                   size_t errlen)
{
    const char *text;
    size_t len;
    stop_out so;
    if (tok_stream_push(t->ts, id, &text, &len, err, errlen) ||
        stop_feed(t->stop, text, len, &so, err, errlen))
        return -1;
    int r = emit(t, so.text, so.len, sink, user, err, errlen);
    if (r) return r;
    t->stopped = so.stopped;
    return so.stopped;
}

int text_out_finish(text_out *t, gen_sink sink, void *user, char *err, size_t errlen)
{
    if (t->cancelled) return 1;
    const char *text;
    size_t len;
    stop_out so = {0};
    if (tok_stream_finish(t->ts, &text, &len, err, errlen)) return -1;
    if (!t->stopped) {
        if (len && stop_feed(t->stop, text, len, &so, err, errlen)) return -1;
        int r = emit(t, so.text, so.len, sink, user, err, errlen);
        if (r) return r;
        stop_finish(t->stop, &so);
        if ((r = emit(t, so.text, so.len, sink, user, err, errlen))) return r;
    }
    if (!t->rs) return 0;
    reasoning_out ro = {0};
    if (reasoning_finish(t->rs, &ro, err, errlen)) return -1;
    gen_event a = {.kind = GEN_REASONING, .text = ro.reasoning, .len = ro.reasoning_len};
    gen_event b = {.kind = GEN_TEXT, .text = ro.content, .len = ro.content_len};
    t->cancelled = (a.len && sink(&a, user)) || (b.len && sink(&b, user));
    return t->cancelled;
}
