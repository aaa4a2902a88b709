/* hashmap.c: open-addressing hash tables for the tokenizer (see hashmap.h). Tables stay at
 * most half full, so probes are short; they grow by doubling and never shrink. */
#include <stdlib.h>
#include <string.h>
#include "text/hashmap.h"

/* A fast non-cryptographic hash: whole 8-byte words, then the tail. Keys come from the
 * tokenizer's own files and the text being encoded; neither is adversarial enough to
 * need a keyed hash (a bad case costs time, never correctness). */
static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xff51afd7ed558ccdull);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, p, n);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 29);
}

static size_t pow2_at_least(size_t n)
{
    size_t c = 16;
    while (c < n) c *= 2;
    return c;
}

static tk_strslot *strslots_new(size_t cap)
{
    tk_strslot *s = malloc(cap * sizeof *s);
    if (!s) return NULL;
    for (size_t i = 0; i < cap; i++) s[i].len = UINT32_MAX;
    return s;
}

int tk_strmap_init(tk_strmap *m, size_t expect)
{
    memset(m, 0, sizeof *m);
    m->cap = pow2_at_least(expect * 2 + 1);
    m->slots = strslots_new(m->cap);
    return m->slots ? 0 : -1;
}

void tk_strmap_free(tk_strmap *m)
{
    free(m->slots);
    free(m->keys.p);
    memset(m, 0, sizeof *m);
}

void tk_strmap_clear(tk_strmap *m)
{
    for (size_t i = 0; i < m->cap; i++) m->slots[i].len = UINT32_MAX;
    m->count = 0;
    m->keys.n = 0;
}

/* The slot holding key, or the empty slot where it would go. */
static tk_strslot *str_find(const tk_strmap *m, const uint8_t *key, size_t len, uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)(h >> 32) & mask;; i = (i + 1) & mask) {
        tk_strslot *s = &m->slots[i];
        if (s->len == UINT32_MAX) return s;
        if (s->hash == (uint32_t)h && s->len == len && memcmp(m->keys.p + s->off, key, len) == 0)
            return s;
    }
}

static int str_grow(tk_strmap *m)
{
    size_t cap = m->cap * 2;
    tk_strslot *old = m->slots, *slots = strslots_new(cap);
    if (!slots) return -1;
    size_t oldcap = m->cap;
    m->slots = slots;
    m->cap = cap;
    for (size_t i = 0; i < oldcap; i++) {
        if (old[i].len == UINT32_MAX) continue;
        size_t j = (size_t)(hash_bytes(m->keys.p + old[i].off, old[i].len) >> 32) & (cap - 1);
        while (slots[j].len != UINT32_MAX) j = (j + 1) & (cap - 1);
        slots[j] = old[i];
    }
    free(old);
    return 0;
}

int tk_strmap_put(tk_strmap *m, const void *key, size_t len, int32_t a, int32_t b)
{
    if (len >= UINT32_MAX / 2) return -1;
    if ((m->count + 1) * 2 > m->cap && str_grow(m)) return -1;
    uint64_t h = hash_bytes(key, len);
    tk_strslot *s = str_find(m, key, len, h);
    if (s->len == UINT32_MAX) {
        uint64_t off = m->keys.n;
        if (tk_bytes_put(&m->keys, key, len)) return -1;
        s->off = off;
        s->len = (uint32_t)len;
        s->hash = (uint32_t)h;
        m->count++;
    }
    s->a = a;
    s->b = b;
    return 0;
}

int tk_strmap_get(const tk_strmap *m, const void *key, size_t len, int32_t *a, int32_t *b)
{
    if (!m->slots || len >= UINT32_MAX / 2) return 0;
    const tk_strslot *s = str_find(m, key, len, hash_bytes(key, len));
    if (s->len == UINT32_MAX) return 0;
    if (a) *a = s->a;
    if (b) *b = s->b;
    return 1;
}

static size_t pair_home(uint64_t key, size_t cap)
{
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    return (size_t)(h ^ (h >> 31)) & (cap - 1);
}

static tk_pairslot *pairslots_new(size_t cap)
{
    tk_pairslot *s = malloc(cap * sizeof *s);
    if (!s) return NULL;
    for (size_t i = 0; i < cap; i++) s[i].key = UINT64_MAX;
    return s;
}

int tk_pairmap_init(tk_pairmap *m, size_t expect)
{
    m->count = 0;
    m->cap = pow2_at_least(expect * 2 + 1);
    m->slots = pairslots_new(m->cap);
    return m->slots ? 0 : -1;
}

void tk_pairmap_free(tk_pairmap *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}

int tk_pairmap_put(tk_pairmap *m, int32_t left, int32_t right, int32_t rank, int32_t id)
{
    if ((m->count + 1) * 2 > m->cap) {
        size_t cap = m->cap * 2;
        tk_pairslot *slots = pairslots_new(cap);
        if (!slots) return -1;
        for (size_t i = 0; i < m->cap; i++) {
            if (m->slots[i].key == UINT64_MAX) continue;
            size_t j = pair_home(m->slots[i].key, cap);
            while (slots[j].key != UINT64_MAX) j = (j + 1) & (cap - 1);
            slots[j] = m->slots[i];
        }
        free(m->slots);
        m->slots = slots;
        m->cap = cap;
    }
    uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
    size_t i = pair_home(key, m->cap);
    while (m->slots[i].key != UINT64_MAX && m->slots[i].key != key) i = (i + 1) & (m->cap - 1);
    if (m->slots[i].key == UINT64_MAX) m->count++;
    m->slots[i] = (tk_pairslot){key, rank, id};
    return 0;
}

int tk_pairmap_get(const tk_pairmap *m, int32_t left, int32_t right, int32_t *rank, int32_t *id)
{
    if (!m->slots) return 0;
    uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
    for (size_t i = pair_home(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        const tk_pairslot *s = &m->slots[i];
        if (s->key == key) {
            *rank = s->rank;
            *id = s->id;
            return 1;
        }
        if (s->key == UINT64_MAX) return 0;
    }
}
