/* reasoning.c: see reasoning.h. A byte-level state machine; only the bytes that could
 * still become <think> or </think> are ever held (at most 7), everything else is released
 * in the call that brought it. */
#include "text/reasoning.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "text/tk_buf.h"

static const char OPEN_TAG[] = "<think>";
static const char CLOSE_TAG[] = "</think>";
#define TAG_MAX 8

typedef enum {
    S_START,       /* nothing seen yet: a <think> may be coming */
    S_AFTER_OPEN,  /* <think> just removed: one "\n" may follow */
    S_THINK,       /* in the think block */
    S_CONTENT_NL,  /* </think> just removed: up to two "\n" are dropped */
    S_CONTENT,
} state;

struct reasoning {
    reasoning_mode mode;
    state st;
    char held[TAG_MAX]; /* a proper prefix of the tag the state is looking for */
    size_t n_held;
    int newlines;       /* "\n" dropped in S_CONTENT_NL */
    tk_bytes think, content;
    int failed;         /* out of memory in this call */
};

static state first_state(reasoning_mode m)
{
    return m == REASONING_NONE ? S_CONTENT : S_START;
}

reasoning *reasoning_new(reasoning_mode mode, char *err, size_t errlen)
{
    if (mode != REASONING_NONE && mode != REASONING_AUTO && mode != REASONING_OPEN) {
        snprintf(err, errlen, "reasoning: unknown mode %d", (int)mode);
        return NULL;
    }
    reasoning *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "reasoning: out of memory");
        return NULL;
    }
    r->mode = mode;
    r->st = first_state(mode);
    return r;
}

void reasoning_free(reasoning *r)
{
    if (!r) return;
    free(r->think.p);
    free(r->content.p);
    free(r);
}

static void emit(reasoning *r, state to, const char *s, size_t n)
{
    if (n && tk_bytes_put(to == S_THINK ? &r->think : &r->content, s, n)) r->failed = 1;
}

static void feed_byte(reasoning *r, char c);

/* Bytes held for a tag that did not come: they are text of state st after all, and are
 * run through it again (in OPEN mode "</think>" may begin inside what was held for
 * "<think>"). */
static void replay(reasoning *r, state st, const char *s, size_t n)
{
    char copy[TAG_MAX];
    memcpy(copy, s, n);
    r->st = st;
    r->n_held = 0;
    for (size_t i = 0; i < n; i++) feed_byte(r, copy[i]);
}

static void feed_byte(reasoning *r, char c)
{
    switch (r->st) {
    case S_START:
        r->held[r->n_held++] = c;
        if (memcmp(r->held, OPEN_TAG, r->n_held) != 0)
            replay(r, r->mode == REASONING_OPEN ? S_THINK : S_CONTENT, r->held, r->n_held);
        else if (r->n_held == strlen(OPEN_TAG)) {
            r->n_held = 0;
            r->st = S_AFTER_OPEN;
        }
        break;
    case S_AFTER_OPEN:
        r->st = S_THINK;
        if (c != '\n') feed_byte(r, c);
        break;
    case S_THINK:
        r->held[r->n_held++] = c;
        if (memcmp(r->held, CLOSE_TAG, r->n_held) != 0) {
            /* no proper prefix of "</think>" is also its suffix, so after a mismatch only
             * the last byte can start a new match */
            emit(r, S_THINK, r->held, r->n_held - 1);
            r->n_held = 0;
            if (c == '<') r->held[r->n_held++] = c;
            else emit(r, S_THINK, &c, 1);
        } else if (r->n_held == strlen(CLOSE_TAG)) {
            r->n_held = 0;
            r->newlines = 0;
            r->st = S_CONTENT_NL;
        }
        break;
    case S_CONTENT_NL:
        if (c == '\n' && r->newlines < 2) {
            r->newlines++;
            break;
        }
        r->st = S_CONTENT;
        emit(r, S_CONTENT, &c, 1);
        break;
    case S_CONTENT:
        emit(r, S_CONTENT, &c, 1);
        break;
    }
}

static void begin(reasoning *r)
{
    r->think.n = r->content.n = 0;
    r->failed = 0;
}

static int end(reasoning *r, reasoning_out *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (r->failed) {
        snprintf(err, errlen, "reasoning: out of memory");
        return -1;
    }
    out->reasoning = r->think.n ? (const char *)r->think.p : "";
    out->reasoning_len = r->think.n;
    out->content = r->content.n ? (const char *)r->content.p : "";
    out->content_len = r->content.n;
    return 0;
}

int reasoning_feed(reasoning *r, const char *text, size_t len, reasoning_out *out, char *err,
                   size_t errlen)
{
    begin(r);
    if (len && !text) {
        snprintf(err, errlen, "reasoning: NULL text of %zu bytes", len);
        memset(out, 0, sizeof *out);
        return -1;
    }
    size_t i = 0;
    while (i < len) {
        /* the bulk of the text moves in runs, not byte by byte */
        if (r->st == S_CONTENT) {
            emit(r, S_CONTENT, text + i, len - i);
            break;
        }
        if (r->st == S_THINK && r->n_held == 0) {
            const char *lt = memchr(text + i, '<', len - i);
            size_t run = lt ? (size_t)(lt - (text + i)) : len - i;
            emit(r, S_THINK, text + i, run);
            i += run;
            if (i == len) break;
        }
        feed_byte(r, text[i++]);
    }
    return end(r, out, err, errlen);
}

int reasoning_finish(reasoning *r, reasoning_out *out, char *err, size_t errlen)
{
    begin(r);
    /* a partial tag is plain text of the state it was held in */
    if (r->st == S_START)
        emit(r, r->mode == REASONING_OPEN ? S_THINK : S_CONTENT, r->held, r->n_held);
    else if (r->st == S_THINK)
        emit(r, S_THINK, r->held, r->n_held);
    r->n_held = 0;
    r->st = first_state(r->mode);
    return end(r, out, err, errlen);
}

int reasoning_in_think(const reasoning *r)
{
    return r->st == S_AFTER_OPEN || r->st == S_THINK ||
           (r->st == S_START && r->mode == REASONING_OPEN);
}
