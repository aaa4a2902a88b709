/* bpe.c: the byte-level alphabet and the BPE merge loop over one pre-token. Works on raw
 * bytes: vocabulary strings were mapped back from the alphabet at load time, so the text
 * is never re-spelled here. Merges are applied lowest rank first, leftmost first among
 * equal ranks, exactly as Hugging Face's BPE model does. Uses the tokenizer's scratch:
 * callers hold its lock. */
#include <string.h>
#include "text/tok_internal.h"
#include "text/utf8.h"

/* Pre-tokens up to this long are cached (longer ones are rare and cost more to keep). */
#define CACHE_MAX_KEY 64
#define CACHE_MAX_ENTRIES (1 << 16)
#define CACHE_MAX_IDS (1 << 20)

/* GPT-2's alphabet: printable Latin-1 bytes stand for themselves; the 68 others (controls,
 * space, DEL, the C1 range, NBSP, soft hyphen) take U+0100.. in byte order. */
static int printable(unsigned b) { return (b >= 33 && b <= 126) || (b >= 161 && b <= 255 && b != 173); }

uint32_t tk_byte_char(uint8_t b)
{
    if (printable(b)) return b;
    if (b <= 32) return 256u + b;
    if (b <= 160) return 256u + 33 + (b - 127u);
    return 256u + 67; /* 173 */
}

/* The byte a character of the alphabet stands for, -1 if it is not in the alphabet. */
static int char_byte(uint32_t cp)
{
    if (cp < 256) return printable(cp) ? (int)cp : -1;
    if (cp < 256 + 33) return (int)(cp - 256);
    if (cp < 256 + 67) return (int)(127 + cp - 256 - 33);
    if (cp == 256 + 67) return 173;
    return -1;
}

int tk_bytelevel_decode(const char *s, size_t n, tk_bytes *out)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        int k = tk_utf8_next(p + i, n - i, &cp);
        if (k <= 0) return 0;
        int b = char_byte(cp);
        if (b < 0) return 0;
        uint8_t byte = (uint8_t)b;
        if (tk_bytes_put(out, &byte, 1)) return -1;
        i += (size_t)k;
    }
    return 1;
}

/* Min-heap of rank << 32 | position: the lowest rank, then the leftmost pair, on top. */
static void heap_push(uint64_t *h, size_t *n, uint64_t v)
{
    size_t i = (*n)++;
    while (i > 0 && h[(i - 1) / 2] > v) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = v;
}

static uint64_t heap_pop(uint64_t *h, size_t *n)
{
    uint64_t top = h[0], v = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && h[c + 1] < h[c]) c++;
        if (h[c] >= v) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = v;
    return top;
}

static void push_pair(tokenizer *t, size_t *nh, int32_t pos)
{
    int32_t next = t->syms[pos].next, rank, id;
    if (next >= 0 && tk_pairmap_get(&t->merges, t->syms[pos].id, t->syms[next].id, &rank, &id))
        heap_push(t->heap, nh, (uint64_t)rank << 32 | (uint32_t)pos);
}

/* The merge loop proper: s[0..n) -> ids appended to out. */
static int merge_word(tokenizer *t, const uint8_t *s, size_t n, tk_ids *out)
{
    if (n > t->syms_cap) {
        tk_sym *syms = realloc(t->syms, n * sizeof *syms);
        if (!syms) return -1;
        t->syms = syms;
        t->syms_cap = n;
    }
    if (n > t->heap_cap) {
        /* Each merge pushes at most two entries and removes a symbol, so the queue never
         * holds more than 3n entries. */
        uint64_t *heap = realloc(t->heap, 3 * n * sizeof *heap);
        if (!heap) return -1;
        t->heap = heap;
        t->heap_cap = n;
    }
    tk_sym *sy = t->syms;
    int32_t m = 0;
    int last_unk = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = t->byte_id[s[i]];
        if (id < 0) {
            /* A byte the vocabulary lacks: unk_token if there is one (runs fused with
             * fuse_unk), else dropped - Hugging Face's BPE without unk_token does the same. */
            if (t->unk < 0) continue;
            if (t->fuse_unk && last_unk) {
                sy[m - 1].len++;
                continue;
            }
            id = t->unk;
            last_unk = 1;
        } else
            last_unk = 0;
        sy[m] = (tk_sym){id, m - 1, m + 1, 1};
        m++;
    }
    if (m == 0) return 0;
    sy[m - 1].next = -1;

    size_t nh = 0;
    for (int32_t i = 0; i + 1 < m; i++) push_pair(t, &nh, i);
    while (nh) {
        uint64_t top = heap_pop(t->heap, &nh);
        int32_t pos = (int32_t)(uint32_t)top, rank, id;
        int32_t next = sy[pos].next;
        /* Stale entries: the left symbol was absorbed, or its pair changed. A pair only
         * changes by growing, so the same rank means the same pair. */
        if (sy[pos].len == 0 || next < 0) continue;
        if (!tk_pairmap_get(&t->merges, sy[pos].id, sy[next].id, &rank, &id) ||
            (uint32_t)rank != (uint32_t)(top >> 32))
            continue;
        sy[pos].id = id;
        sy[pos].len += sy[next].len;
        sy[next].len = 0;
        sy[pos].next = sy[next].next;
        if (sy[pos].next >= 0) sy[sy[pos].next].prev = pos;
        if (sy[pos].prev >= 0) push_pair(t, &nh, sy[pos].prev);
        push_pair(t, &nh, pos);
    }
    for (int32_t i = 0; i >= 0; i = sy[i].next)
        if (tk_ids_push(out, sy[i].id)) return -1;
    return 0;
}

int tk_bpe(tokenizer *t, const uint8_t *s, size_t n, tk_ids *out)
{
    int32_t a, b;
    if (n <= CACHE_MAX_KEY && tk_strmap_get(&t->cache, s, n, &a, &b))
        return b ? tk_ids_put(out, t->cache_ids.p + a, (size_t)b) : 0; /* p may be NULL */
    size_t first = out->n;
    if (t->ignore_merges && tk_strmap_get(&t->vocab, s, n, &a, NULL)) {
        if (tk_ids_push(out, a)) return -1;
    } else if (merge_word(t, s, n, out))
        return -1;
    if (n > CACHE_MAX_KEY) return 0;
    if (t->cache.count >= CACHE_MAX_ENTRIES || t->cache_ids.n >= CACHE_MAX_IDS) {
        tk_strmap_clear(&t->cache);
        t->cache_ids.n = 0;
    }
    size_t off = t->cache_ids.n, cnt = out->n - first;
    /* A failed cache insert only costs speed; the ids in out are complete either way. */
    if (tk_ids_put(&t->cache_ids, out->p + first, cnt) == 0 &&
        tk_strmap_put(&t->cache, s, n, (int32_t)off, (int32_t)cnt) != 0)
        t->cache_ids.n = off;
    return 0;
}
