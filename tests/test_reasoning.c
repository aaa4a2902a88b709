/* test_reasoning.c: the streaming reasoning/content splitter and the stop-string matcher,
 * fed whole, byte by byte, at every two-piece split and at random splits: fixed cases with
 * hand-written results, then random texts built from tag fragments against a whole-text
 * reference, then the two chained with stop strings that overlap each other and the tags.
 * Fixed seeds. No GPU. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "text/reasoning.h"
#include "text/stop.h"
#include "check.h"

static void show(const char *label, const char *s, size_t n)
{
    printf("  %s: \"", label);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n') fputs("\\n", stdout);
        else putchar(s[i]);
    }
    puts("\"");
}

static uint64_t rng = 2718281828u;
static uint32_t rnd(uint32_t n)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (uint32_t)((z ^ (z >> 31)) % n);
}

/* Growable string for collecting output. */
typedef struct {
    char *p;
    size_t n, cap;
} str;

static void str_add(str *s, const char *t, size_t n)
{
    if (s->n + n + 1 > s->cap) {
        s->cap = (s->n + n + 1) * 2;
        s->p = realloc(s->p, s->cap);
        if (!s->p) {
            fprintf(stderr, "test_reasoning: out of memory\n");
            exit(1);
        }
    }
    memcpy(s->p + s->n, t, n);
    s->n += n;
    s->p[s->n] = 0;
}

/* Split points of a text of length n: "cuts" lists piece ends, ascending, last = n. */
typedef struct {
    size_t at[512];
    int n;
} cuts;

static cuts cuts_whole(size_t n) { return (cuts){.at = {n}, .n = 1}; }

static cuts cuts_bytes(size_t n)
{
    cuts c = {.n = 0};
    for (size_t i = 1; i <= n && c.n < 512; i++) c.at[c.n++] = i;
    if (n == 0) c.at[c.n++] = 0;
    return c;
}

static cuts cuts_two(size_t n, size_t k) { return (cuts){.at = {k, n}, .n = 2}; }

static cuts cuts_random(size_t n)
{
    cuts c = {.n = 0};
    size_t at = 0;
    while (at < n && c.n < 511) {
        at += 1 + rnd(4);
        if (at > n) at = n;
        c.at[c.n++] = at;
    }
    if (c.n == 0 || c.at[c.n - 1] != n) c.at[c.n++] = n;
    return c;
}

/* ---- splitter ---------------------------------------------------------------------------- */

typedef struct {
    str r, c;
    int order_ok;   /* no reasoning came after content */
    int in_think;   /* reasoning_in_think before finish */
    int err;
} split_result;

static split_result run_split(reasoning_mode mode, const char *text, cuts c)
{
    split_result res = {.order_ok = 1};
    char err[256];
    reasoning *r = reasoning_new(mode, err, sizeof err);
    if (!r) {
        res.err = 1;
        return res;
    }
    size_t from = 0;
    reasoning_out o;
    for (int i = 0; i < c.n; i++) {
        if (reasoning_feed(r, text + from, c.at[i] - from, &o, err, sizeof err)) res.err = 1;
        if (o.reasoning_len && res.c.n) res.order_ok = 0;
        str_add(&res.r, o.reasoning, o.reasoning_len);
        str_add(&res.c, o.content, o.content_len);
        from = c.at[i];
    }
    res.in_think = reasoning_in_think(r);
    if (reasoning_finish(r, &o, err, sizeof err)) res.err = 1;
    if (o.reasoning_len && res.c.n) res.order_ok = 0;
    str_add(&res.r, o.reasoning, o.reasoning_len);
    str_add(&res.c, o.content, o.content_len);
    reasoning_free(r);
    return res;
}

static const char *mode_name(reasoning_mode m)
{
    return m == REASONING_NONE ? "none" : m == REASONING_AUTO ? "auto" : "open";
}

/* Checks one split of a case; returns 1 if it matched. */
static int split_matches(reasoning_mode mode, const char *text, size_t n, cuts c,
                         const char *want_r, const char *want_c, int want_in_think,
                         const char *how)
{
    split_result s = run_split(mode, text, c);
    str_add(&s.r, "", 0);
    str_add(&s.c, "", 0);
    int ok = !s.err && s.order_ok && strcmp(s.r.p, want_r) == 0 && strcmp(s.c.p, want_c) == 0 &&
             (want_in_think < 0 || s.in_think == want_in_think);
    if (!ok) {
        printf("  [%s mode, %s split] err %d order_ok %d in_think %d\n", mode_name(mode), how,
               s.err, s.order_ok, s.in_think);
        show("text     ", text, n);
        show("reasoning", s.r.p, s.r.n);
        show("  want   ", want_r, strlen(want_r));
        show("content  ", s.c.p, s.c.n);
        show("  want   ", want_c, strlen(want_c));
    }
    free(s.r.p);
    free(s.c.p);
    return ok;
}

/* A case must come out the same whole, byte by byte, at every two-piece split and at 20
 * random splits. */
static void split_case(const char *what, reasoning_mode mode, const char *text,
                       const char *want_r, const char *want_c, int want_in_think)
{
    size_t n = strlen(text);
    int ok = split_matches(mode, text, n, cuts_whole(n), want_r, want_c, want_in_think, "whole") &&
             split_matches(mode, text, n, cuts_bytes(n), want_r, want_c, want_in_think, "byte");
    for (size_t k = 0; ok && k <= n; k++)
        ok = split_matches(mode, text, n, cuts_two(n, k), want_r, want_c, want_in_think, "two");
    for (int i = 0; ok && i < 20; i++)
        ok = split_matches(mode, text, n, cuts_random(n), want_r, want_c, want_in_think, "random");
    check(ok, "splitter: %s", what);
}

static void test_splitter_cases(void)
{
    split_case("R1 output after the forced <think>\\n: reasoning, then content without its "
               "blank line", REASONING_OPEN, "Let me think.\nOK</think>\n\nThe answer is 4.",
               "Let me think.\nOK", "The answer is 4.", 0);
    split_case("a model that writes <think> itself (tag and one newline removed)",
               REASONING_AUTO, "<think>\nhmm\n</think>\n\nHi", "hmm\n", "Hi", 0);
    split_case("auto mode without a think block: all content, tags inside kept",
               REASONING_AUTO, "Hello <think> there</think>", "", "Hello <think> there</think>", 0);
    split_case("no-reasoning mode passes tags through", REASONING_NONE, "<think>x</think>y", "",
               "<think>x</think>y", 0);
    split_case("open mode still removes a leading <think>", REASONING_OPEN, "<think>\nA</think>B",
               "A", "B", 0);
    split_case("open mode, </think> first: empty reasoning", REASONING_OPEN, "</think>\n\nX", "",
               "X", 0);
    split_case("open mode, text starting like <think> but not it", REASONING_OPEN,
               "<thing></think>z", "<thing>", "z", 0);
    split_case("near-tags inside reasoning stay reasoning", REASONING_OPEN,
               "a </thin b <</think>c", "a </thin b <", "c", 0);
    split_case("< and </ runs right before the tag", REASONING_OPEN, "x<<</</think>y", "x<<</",
               "y", 0);
    split_case("only two leading newlines of content are dropped", REASONING_OPEN,
               "r</think>\n\n\nX", "r", "\nX", 0);
    split_case("one leading newline of content is dropped", REASONING_OPEN, "r</think>\nX\n", "r",
               "X\n", 0);
    split_case("no newline: content as is", REASONING_OPEN, "r</think>X", "r", "X", 0);
    split_case("a second </think> is content", REASONING_OPEN, "a</think>b</think>c", "a",
               "b</think>c", 0);
    split_case("generation ends inside the think block (a partial tag is text)", REASONING_OPEN,
               "still thinking </thi", "still thinking </thi", "", 1);
    split_case("auto mode: a partial <think> at the end is content", REASONING_AUTO, "<thin", "",
               "<thin", 0);
    split_case("auto mode: <think> and nothing else", REASONING_AUTO, "<think>", "", "", 1);
    split_case("auto mode: <think> not at the start is content", REASONING_AUTO, " <think>a", "",
               " <think>a", 0);
    split_case("UTF-8 split anywhere", REASONING_OPEN, "思考…</think>\n\n答案：４", "思考…",
               "答案：４", 0);
    split_case("empty output", REASONING_OPEN, "", "", "", 1);
    split_case("empty output, auto", REASONING_AUTO, "", "", "", 0);

    char err[256] = "";
    reasoning *r = reasoning_new((reasoning_mode)9, err, sizeof err);
    check(!r && strstr(err, "unknown mode"), "splitter: an unknown mode is an error ('%s')", err);

    /* finish starts over: a second generation on the same splitter */
    r = reasoning_new(REASONING_OPEN, err, sizeof err);
    reasoning_out o;
    reasoning_feed(r, "a</think>b", 10, &o, err, sizeof err);
    reasoning_finish(r, &o, err, sizeof err);
    reasoning_feed(r, "c</think>d", 10, &o, err, sizeof err);
    check(o.reasoning_len == 1 && o.reasoning[0] == 'c' && o.content_len == 1 &&
              o.content[0] == 'd',
          "splitter: after finish a new generation starts in the think block again");
    reasoning_free(r);
}

/* The whole-text definition the streaming splitter must agree with. */
static void split_reference(reasoning_mode mode, const char *t, str *r, str *c)
{
    if (mode == REASONING_NONE) {
        str_add(c, t, strlen(t));
        return;
    }
    int think = mode == REASONING_OPEN;
    if (strncmp(t, "<think>", 7) == 0) {
        t += 7;
        if (*t == '\n') t++;
        think = 1;
    }
    if (!think) {
        str_add(c, t, strlen(t));
        return;
    }
    const char *end = strstr(t, "</think>");
    if (!end) {
        str_add(r, t, strlen(t));
        return;
    }
    str_add(r, t, (size_t)(end - t));
    t = end + 8;
    for (int i = 0; i < 2 && *t == '\n'; i++) t++;
    str_add(c, t, strlen(t));
}

static const char *const pieces[] = {"<", "/", "think", ">", "<think>", "</think>", "\n", "a",
                                     "thi", "</th", "<th", "k>", "\n\n", "é"};

static void random_text(char *buf, size_t cap)
{
    size_t n = 0;
    int parts = (int)rnd(12);
    buf[0] = 0;
    for (int i = 0; i < parts; i++) {
        const char *p = pieces[rnd(sizeof pieces / sizeof *pieces)];
        if (n + strlen(p) + 1 > cap) break;
        strcpy(buf + n, p);
        n += strlen(p);
    }
}

static void test_splitter_random(void)
{
    int bad = 0, runs = 0;
    for (int it = 0; it < 3000 && bad < 3; it++) {
        char text[256];
        random_text(text, sizeof text);
        reasoning_mode mode = (reasoning_mode)rnd(3);
        str r = {0}, c = {0};
        split_reference(mode, text, &r, &c);
        str_add(&r, "", 0);
        str_add(&c, "", 0);
        size_t n = strlen(text);
        cuts cs = rnd(2) ? cuts_random(n) : cuts_bytes(n);
        if (!split_matches(mode, text, n, cs, r.p, c.p, -1, "random")) bad++;
        runs++;
        free(r.p);
        free(c.p);
    }
    check(bad == 0, "splitter: %d random texts of tag fragments match the whole-text reference "
          "(%d differ)", runs, bad);
}

/* ---- stop strings ------------------------------------------------------------------------ */

typedef struct {
    str out;
    int stopped, which, err;
    int held_ok; /* after each feed: released = input minus the longest stop-prefix tail */
} stop_result;

/* Longest tail of s[0..n) that is a proper prefix of one of the stops. */
static size_t held_tail(const char *const *stops, int ns, const char *s, size_t n)
{
    size_t keep = 0;
    for (int i = 0; i < ns; i++) {
        size_t l = strlen(stops[i]);
        for (size_t k = 1; k < l && k <= n; k++)
            if (k > keep && memcmp(s + n - k, stops[i], k) == 0) keep = k;
    }
    return keep;
}

static stop_result run_stop(const char *const *stops, int ns, const char *text, cuts c)
{
    stop_result res = {.which = -1, .held_ok = 1};
    char err[256];
    stop_matcher *m = stop_new(stops, ns, err, sizeof err);
    if (!m) {
        res.err = 1;
        return res;
    }
    size_t from = 0;
    stop_out o;
    for (int i = 0; i < c.n && !res.stopped; i++) {
        if (stop_feed(m, text + from, c.at[i] - from, &o, err, sizeof err)) res.err = 1;
        str_add(&res.out, o.text, o.len);
        from = c.at[i];
        if (o.stopped) {
            res.stopped = 1;
            res.which = o.which;
        } else if (res.out.n + held_tail(stops, ns, text, from) != from) {
            res.held_ok = 0;
        }
    }
    if (!res.stopped) {
        stop_finish(m, &o);
        str_add(&res.out, o.text, o.len);
    }
    stop_free(m);
    return res;
}

/* The whole-text definition: the stop ending first, the longest of those ending together. */
static void stop_reference(const char *const *stops, int ns, const char *t, size_t *out_len,
                           int *which)
{
    size_t n = strlen(t);
    for (size_t e = 1; e <= n; e++) {
        int best = -1;
        for (int i = 0; i < ns; i++) {
            size_t l = strlen(stops[i]);
            if (l <= e && memcmp(t + e - l, stops[i], l) == 0 &&
                (best < 0 || l > strlen(stops[best])))
                best = i;
        }
        if (best >= 0) {
            *out_len = e - strlen(stops[best]);
            *which = best;
            return;
        }
    }
    *out_len = n;
    *which = -1;
}

static int stop_matches(const char *const *stops, int ns, const char *text, cuts c,
                        const char *how)
{
    size_t want_len;
    int want_which;
    stop_reference(stops, ns, text, &want_len, &want_which);
    stop_result s = run_stop(stops, ns, text, c);
    int ok = !s.err && s.held_ok && s.out.n == want_len &&
             (want_len == 0 || memcmp(s.out.p, text, want_len) == 0) && s.which == want_which &&
             s.stopped == (want_which >= 0);
    if (!ok) {
        printf("  [%s split] err %d held_ok %d stopped %d which %d (want %d)\n", how, s.err,
               s.held_ok, s.stopped, s.which, want_which);
        show("text", text, strlen(text));
        show("out ", s.out.p ? s.out.p : "", s.out.n);
        show("want", text, want_len);
    }
    free(s.out.p);
    return ok;
}

static void stop_case(const char *what, const char *const *stops, int ns, const char *text,
                      const char *want_out, int want_which)
{
    size_t wl;
    int ww;
    stop_reference(stops, ns, text, &wl, &ww);
    check(wl == strlen(want_out) && strncmp(text, want_out, wl) == 0 && ww == want_which,
          "stop reference agrees with the hand-written result: %s", what);
    size_t n = strlen(text);
    int ok = stop_matches(stops, ns, text, cuts_whole(n), "whole") &&
             stop_matches(stops, ns, text, cuts_bytes(n), "byte");
    for (size_t k = 0; ok && k <= n; k++) ok = stop_matches(stops, ns, text, cuts_two(n, k), "two");
    for (int i = 0; ok && i < 20; i++) ok = stop_matches(stops, ns, text, cuts_random(n), "random");
    check(ok, "stop: %s", what);
}

static void test_stop_cases(void)
{
    const char *s1[] = {"STOP"};
    stop_case("one stop string; the text before it is released", s1, 1, "abcSTOPdef", "abc", 0);
    stop_case("a partial stop string at the end is released by finish", s1, 1, "abcST", "abcST",
              -1);
    stop_case("held text is released once it cannot be a stop string", s1, 1, "aSTObSTOP", "aSTOb",
              0);
    const char *s2[] = {"abcd", "bc"};
    stop_case("overlapping stops: the one that ends first wins", s2, 2, "xabcd", "xa", 1);
    const char *s3[] = {"cd", "abcd"};
    stop_case("stops ending at the same byte: the longest wins", s3, 2, "xabcdy", "x", 1);
    const char *s4[] = {"aab"};
    stop_case("a stop string that overlaps itself", s4, 1, "aaab", "a", 0);
    const char *s5[] = {"ab", "abab"};
    stop_case("a stop inside a longer stop", s5, 2, "xaab", "xa", 0);
    stop_case("no stop strings: text passes through", NULL, 0, "anything", "anything", -1);
    const char *s6[] = {"。", "\n\n"};
    stop_case("UTF-8 stop string", s6, 2, "答案。更多", "答案", 0);

    /* feeding after a stop is an error; reset starts over */
    char err[256] = "";
    stop_matcher *m = stop_new(s1, 1, err, sizeof err);
    stop_out o;
    stop_feed(m, "xSTOPy", 6, &o, err, sizeof err);
    int r = stop_feed(m, "z", 1, &o, err, sizeof err);
    check(r == -1 && strstr(err, "after a stop"), "stop: feeding after a stop is an error ('%s')",
          err);
    stop_reset(m);
    r = stop_feed(m, "abS", 3, &o, err, sizeof err);
    check(r == 0 && o.len == 2 && !o.stopped, "stop: after reset it matches afresh (released %zu)",
          o.len);
    stop_free(m);

    const char *empty[] = {""};
    err[0] = 0;
    check(!stop_new(empty, 1, err, sizeof err) && strstr(err, "empty"),
          "stop: an empty stop string is an error ('%s')", err);
    char longs[STOP_MAX_LEN + 2];
    memset(longs, 'x', sizeof longs - 1);
    longs[sizeof longs - 1] = 0;
    const char *too_long[] = {longs};
    err[0] = 0;
    check(!stop_new(too_long, 1, err, sizeof err) && strstr(err, "longer"),
          "stop: a stop string over 256 bytes is an error ('%s')", err);
    err[0] = 0;
    check(!stop_new(s1, STOP_MAX_STRINGS + 1, err, sizeof err) && strstr(err, "stop strings"),
          "stop: more than %d stop strings is an error ('%s')", STOP_MAX_STRINGS, err);
}

static void test_stop_random(void)
{
    int bad = 0, runs = 0;
    for (int it = 0; it < 3000 && bad < 3; it++) {
        char stops_buf[4][8];
        const char *stops[4];
        int ns = 1 + (int)rnd(4);
        for (int i = 0; i < ns; i++) {
            int l = 1 + (int)rnd(4);
            for (int k = 0; k < l; k++) stops_buf[i][k] = "abc"[rnd(3)];
            stops_buf[i][l] = 0;
            stops[i] = stops_buf[i];
        }
        char text[40];
        int n = (int)rnd(30);
        for (int k = 0; k < n; k++) text[k] = "abcd"[rnd(4)];
        text[n] = 0;
        cuts cs = rnd(2) ? cuts_random((size_t)n) : cuts_bytes((size_t)n);
        if (!stop_matches(stops, ns, text, cs, "random")) bad++;
        runs++;
    }
    check(bad == 0, "stop: %d random texts and stop sets over {a,b,c,d} match the whole-text "
          "reference, releasing all but the longest stop-prefix tail after every piece (%d "
          "differ)", runs, bad);
}

/* ---- the two chained: raw text -> stop strings -> splitter -------------------------------- */

static void chain_case(const char *what, const char *const *stops, int ns, reasoning_mode mode,
                       const char *text, const char *want_r, const char *want_c, int want_stop)
{
    size_t n = strlen(text);
    int ok = 1;
    for (int variant = 0; variant < 22 && ok; variant++) {
        cuts c = variant == 0 ? cuts_whole(n) : variant == 1 ? cuts_bytes(n) : cuts_random(n);
        char err[256];
        stop_matcher *m = stop_new(stops, ns, err, sizeof err);
        reasoning *r = reasoning_new(mode, err, sizeof err);
        str gr = {0}, gc = {0};
        str_add(&gr, "", 0);
        str_add(&gc, "", 0);
        int stopped = -1;
        size_t from = 0;
        stop_out so;
        reasoning_out ro;
        for (int i = 0; i < c.n && stopped < 0; i++) {
            stop_feed(m, text + from, c.at[i] - from, &so, err, sizeof err);
            from = c.at[i];
            if (so.stopped) stopped = so.which;
            reasoning_feed(r, so.text, so.len, &ro, err, sizeof err);
            str_add(&gr, ro.reasoning, ro.reasoning_len);
            str_add(&gc, ro.content, ro.content_len);
        }
        if (stopped < 0) {
            stop_finish(m, &so);
            reasoning_feed(r, so.text, so.len, &ro, err, sizeof err);
            str_add(&gr, ro.reasoning, ro.reasoning_len);
            str_add(&gc, ro.content, ro.content_len);
        }
        reasoning_finish(r, &ro, err, sizeof err);
        str_add(&gr, ro.reasoning, ro.reasoning_len);
        str_add(&gc, ro.content, ro.content_len);
        ok = strcmp(gr.p, want_r) == 0 && strcmp(gc.p, want_c) == 0 && stopped == want_stop;
        if (!ok) {
            printf("  [variant %d] stopped %d (want %d)\n", variant, stopped, want_stop);
            show("reasoning", gr.p, gr.n);
            show("content  ", gc.p, gc.n);
        }
        free(gr.p);
        free(gc.p);
        stop_free(m);
        reasoning_free(r);
    }
    check(ok, "stop -> splitter: %s", what);
}

static void test_chain(void)
{
    const char *close[] = {"</think>"};
    chain_case("stop string = </think>: reasoning only, no content", close, 1, REASONING_OPEN,
               "reason</think>answer", "reason", "", 0);
    const char *over[] = {"k>\n\nThe"};
    chain_case("stop string overlapping </think>: the cut tag is reasoning text", over, 1,
               REASONING_OPEN, "abc</think>\n\nThe end", "abc</thin", "", 0);
    const char *nl[] = {"\n\nFinal"};
    chain_case("stop string spanning the stripped newlines", nl, 1, REASONING_OPEN,
               "r</think>\n\nFinal answer", "r", "", 0);
    const char *early[] = {"think", "</think>"};
    chain_case("a stop string inside the open tag wins before the tag completes", early, 2,
               REASONING_AUTO, "<think>x</think>y", "", "<", 0);
    const char *late[] = {"STOP"};
    chain_case("stop string in the content", late, 1, REASONING_OPEN, "a<b</think>\nc STOP d",
               "a<b", "c ", 0);
    chain_case("no stop: the tail is released at the end", late, 1, REASONING_OPEN,
               "a</think>\nc ST", "a", "c ST", -1);
}

int main(void)
{
    test_splitter_cases();
    test_splitter_random();
    test_stop_cases();
    test_stop_random();
    test_chain();
    return check_finish("test_reasoning");
}
