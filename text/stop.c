/* stop.c: see stop.h. One buffer: [released by the last call | held]. Each call moves the
 * held bytes to the front, appends the new text, looks for a stop string ending in the new
 * part (one cannot end inside the held part: it would have stopped the call that brought
 * it), and otherwise holds the longest tail that begins some stop string. */
#include "text/stop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "text/tk_buf.h"

#define STOP_MAX_FEED ((size_t)64 << 20) /* bytes per call: far above any detokenized piece */

struct stop_matcher {
    int n;
    char *s[STOP_MAX_STRINGS];
    size_t len[STOP_MAX_STRINGS];
    tk_bytes buf;
    size_t rel;  /* buf[0..rel) went out with the last call, buf[rel..n) is held */
    int stopped;
};

stop_matcher *stop_new(const char *const *stops, int n, char *err, size_t errlen)
{
    if (n < 0 || n > STOP_MAX_STRINGS || (n > 0 && !stops)) {
        snprintf(err, errlen, "stop: %d stop strings (0 to %d)", n, STOP_MAX_STRINGS);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        size_t len = stops[i] ? strlen(stops[i]) : 0;
        if (len == 0 || len > STOP_MAX_LEN) {
            snprintf(err, errlen, "stop: stop string %d is %s", i,
                     len ? "longer than 256 bytes" : "empty");
            return NULL;
        }
    }
    stop_matcher *m = calloc(1, sizeof *m);
    if (!m) goto oom;
    for (int i = 0; i < n; i++) {
        m->len[i] = strlen(stops[i]);
        if (!(m->s[i] = malloc(m->len[i] + 1))) goto oom;
        memcpy(m->s[i], stops[i], m->len[i] + 1);
        m->n = i + 1;
    }
    m->n = n;
    return m;
oom:
    stop_free(m);
    snprintf(err, errlen, "stop: out of memory");
    return NULL;
}

void stop_free(stop_matcher *m)
{
    if (!m) return;
    for (int i = 0; i < m->n; i++) free(m->s[i]);
    free(m->buf.p);
    free(m);
}

void stop_reset(stop_matcher *m)
{
    m->buf.n = 0;
    m->rel = 0;
    m->stopped = 0;
}

int stop_feed(stop_matcher *m, const char *text, size_t len, stop_out *out, char *err,
              size_t errlen)
{
    *out = (stop_out){.text = "", .len = 0, .stopped = 0, .which = -1};
    if (m->stopped) {
        snprintf(err, errlen, "stop: text fed after a stop string (stop_reset first)");
        return -1;
    }
    if (len > STOP_MAX_FEED || (len && !text)) {
        snprintf(err, errlen, "stop: a piece of %zu bytes%s", len, text ? " is too long" : " at NULL");
        return -1;
    }
    size_t held = m->buf.n - m->rel;
    if (held) memmove(m->buf.p, m->buf.p + m->rel, held);
    m->buf.n = held;
    m->rel = 0;
    if (tk_bytes_put(&m->buf, text, len)) {
        snprintf(err, errlen, "stop: out of memory");
        return -1;
    }
    const char *b = (const char *)m->buf.p;
    size_t n = m->buf.n;
    for (size_t e = held + 1; e <= n; e++) {
        int best = -1;
        for (int i = 0; i < m->n; i++) {
            size_t l = m->len[i];
            if (l <= e && b[e - 1] == m->s[i][l - 1] && memcmp(b + e - l, m->s[i], l) == 0 &&
                (best < 0 || l > m->len[best]))
                best = i;
        }
        if (best >= 0) {
            *out = (stop_out){b, e - m->len[best], 1, best};
            m->stopped = 1;
            m->rel = n; /* nothing is held after a stop */
            return 0;
        }
    }
    size_t keep = 0; /* longest tail that is a proper prefix of some stop string */
    for (int i = 0; i < m->n; i++)
        for (size_t k = m->len[i] - 1 < n ? m->len[i] - 1 : n; k > keep; k--)
            if (memcmp(b + n - k, m->s[i], k) == 0) {
                keep = k;
                break;
            }
    m->rel = n - keep;
    *out = (stop_out){b, n - keep, 0, -1};
    return 0;
}

void stop_finish(stop_matcher *m, stop_out *out)
{
    size_t held = m->stopped ? 0 : m->buf.n - m->rel;
    *out = (stop_out){held ? (const char *)m->buf.p + m->rel : "", held, 0, -1};
    /* reset, keeping the bytes out points to until the next call */
    m->rel = m->buf.n;
    m->stopped = 0;
}
