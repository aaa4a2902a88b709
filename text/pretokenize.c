/* pretokenize.c: the pre-tokenizer sequence (Split stages, then ByteLevel) applied to one
 * piece of normalised text, depth first: each piece a stage produces runs through the
 * following stages and BPE before the next piece, which gives the same pre-tokens in the
 * same order as Hugging Face's stage-by-stage passes. Uses per-stage scratch: callers
 * hold the tokenizer's lock. */
#include <stdio.h>
#include <string.h>
#include "text/tok_internal.h"
#include "text/utf8.h"

static int span_push(tk_spans *v, size_t start, size_t end, int match)
{
    if (tk_grow((void **)&v->p, &v->cap, v->n, 1, sizeof *v->p)) return -1;
    v->p[v->n++] = (tk_span){start, end, match};
    return 0;
}

/* s[0..n) as alternating unmatched and matched spans, as Hugging Face's find_matches
 * builds them over Oniguruma's match iterator: an empty match right where the previous
 * match ended is skipped by advancing one character. */
static int find_matches(tk_regex *re, const uint8_t *s, size_t n, int invert, tk_spans *v,
                        char *err, size_t errlen)
{
    size_t prev = 0, from = 0, last_end = 0;
    int have_last = 0;
    v->n = 0;
    while (from <= n) {
        int rc = pcre2_match(re->code, s, n, from, PCRE2_NO_UTF_CHECK, re->md, re->mc);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            char msg[160];
            pcre2_get_error_message(rc, (PCRE2_UCHAR *)msg, sizeof msg);
            snprintf(err, errlen, "pre-tokenizer regex failed on a %zu-byte piece: %s", n, msg);
            return -1;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(re->md);
        size_t ms = ov[0], me = ov[1];
        if (ms == me && have_last && last_end == me) {
            uint32_t cp;
            int k = from < n ? tk_utf8_next(s + from, n - from, &cp) : 1;
            from += k > 0 ? (size_t)k : 1;
            continue;
        }
        from = last_end = me;
        have_last = 1;
        if ((prev != ms && span_push(v, prev, ms, invert)) || span_push(v, ms, me, !invert))
            goto oom;
        prev = me;
    }
    if (prev != n && span_push(v, prev, n, invert)) goto oom;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* Folds the spans by the split behaviour (Hugging Face's NormalizedString::split); after
 * it, `match` marks the spans to drop. */
static void apply_behavior(tk_spans *v, tk_behavior b)
{
    tk_span *p = v->p;
    size_t n = v->n, w = 0;
    int prev = 0;
    switch (b) {
    case TK_REMOVED:
        return;
    case TK_ISOLATED:
        for (size_t i = 0; i < n; i++) p[i].match = 0;
        return;
    case TK_CONTIGUOUS:       /* runs of matches, or of non-matches, become one span */
    case TK_MERGED_WITH_PREVIOUS: /* a match joins the span before it */
        for (size_t r = 0; r < n; r++) {
            int m = p[r].match;
            int join = b == TK_CONTIGUOUS ? m == prev : m && !prev;
            if (join && w > 0)
                p[w - 1].end = p[r].end;
            else
                p[w++] = (tk_span){p[r].start, p[r].end, 0};
            prev = m;
        }
        v->n = w;
        return;
    case TK_MERGED_WITH_NEXT: /* a match joins the span after it: the same fold, backwards */
        w = n;
        for (size_t r = n; r-- > 0;) {
            int m = p[r].match;
            if (m && !prev && w < n)
                p[w].start = p[r].start;
            else
                p[--w] = (tk_span){p[r].start, p[r].end, 0};
            prev = m;
        }
        memmove(p, p + w, (n - w) * sizeof *p);
        v->n = n - w;
        return;
    }
}

/* ByteLevel: the optional leading space, the optional GPT-2 split, then BPE per piece. */
static int byte_level(tokenizer *t, tk_stage *st, const uint8_t *s, size_t n, tk_ids *out,
                      char *err, size_t errlen)
{
    if (st->add_prefix_space && s[0] != ' ') {
        st->prefixed.n = 0;
        if (tk_bytes_put(&st->prefixed, " ", 1) || tk_bytes_put(&st->prefixed, s, n)) goto oom;
        s = st->prefixed.p;
        n = st->prefixed.n;
    }
    if (!st->re) {
        if (tk_bpe(t, s, n, out)) goto oom;
        return 0;
    }
    if (find_matches(st->re, s, n, 0, &st->spans, err, errlen)) return -1;
    for (size_t i = 0; i < st->spans.n; i++) {
        tk_span sp = st->spans.p[i];
        if (sp.end > sp.start && tk_bpe(t, s + sp.start, sp.end - sp.start, out)) goto oom;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

int tk_pretokenize(tokenizer *t, int stage, const uint8_t *s, size_t n, tk_ids *out,
                   char *err, size_t errlen)
{
    if (n == 0) return 0; /* empty pieces are dropped, as Hugging Face drops them */
    tk_stage *st = &t->stages[stage];
    if (st->byte_level) return byte_level(t, st, s, n, out, err, errlen);
    if (find_matches(st->re, s, n, st->invert, &st->spans, err, errlen)) return -1;
    apply_behavior(&st->spans, st->behavior);
    /* Deeper stages use their own scratch, so this stage's spans stay intact. */
    for (size_t i = 0; i < st->spans.n; i++) {
        tk_span sp = st->spans.p[i];
        if (sp.match || sp.end == sp.start) continue;
        if (tk_pretokenize(t, stage + 1, s + sp.start, sp.end - sp.start, out, err, errlen))
            return -1;
    }
    return 0;
}

void tk_stage_free(tk_stage *st)
{
    tk_regex_free(st->re);
    free(st->spans.p);
    free(st->prefixed.p);
    memset(st, 0, sizeof *st);
}
