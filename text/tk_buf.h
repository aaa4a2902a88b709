/* tk_buf.h: the growable byte and id arrays the tokenizer builds its results in.
 * Header-only; a failed append returns -1 and leaves the array as it was, so callers can
 * report "out of memory" instead of crashing. Never aborts. */
#ifndef VKSEEK_TK_BUF_H
#define VKSEEK_TK_BUF_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t *p;
    size_t n, cap;
} tk_bytes;

typedef struct {
    int32_t *p;
    size_t n, cap;
} tk_ids;

/* Makes room for `more` further elements of `size` bytes in *p (capacity *cap). */
static inline int tk_grow(void **p, size_t *cap, size_t n, size_t more, size_t size)
{
    if (more <= *cap - n) return 0;
    if (more > (SIZE_MAX / 2) / size - n) return -1;
    size_t want = *cap ? *cap : 64;
    while (want < n + more) want *= 2;
    void *q = realloc(*p, want * size);
    if (!q) return -1;
    *p = q;
    *cap = want;
    return 0;
}

static inline int tk_bytes_put(tk_bytes *b, const void *s, size_t n)
{
    if (tk_grow((void **)&b->p, &b->cap, b->n, n + 1, 1)) return -1;
    if (n) memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0; /* always NUL-terminated, so the bytes can be handed out as a string */
    return 0;
}

static inline int tk_ids_push(tk_ids *v, int32_t id)
{
    if (tk_grow((void **)&v->p, &v->cap, v->n, 1, sizeof *v->p)) return -1;
    v->p[v->n++] = id;
    return 0;
}

static inline int tk_ids_put(tk_ids *v, const int32_t *ids, size_t n)
{
    if (tk_grow((void **)&v->p, &v->cap, v->n, n, sizeof *v->p)) return -1;
    if (n) memcpy(v->p + v->n, ids, n * sizeof *ids);
    v->n += n;
    return 0;
}

#endif
