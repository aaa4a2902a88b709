/* added_tokens.c: finding added tokens (<｜User｜>, <|im_start|>, ...) in text, before
 * any pre-tokenization: leftmost match first, the longest among those starting at the
 * same byte (Hugging Face's Aho-Corasick LeftmostLongest), then lstrip/rstrip widening. */
#include <string.h>
#include "text/tok_internal.h"
#include "text/utf8.h"

static int32_t new_node(tk_trie *tr, uint8_t byte)
{
    if (tr->n >= INT32_MAX - 1 ||
        tk_grow((void **)&tr->nodes, &tr->cap, tr->n, 1, sizeof *tr->nodes))
        return -1;
    tr->nodes[tr->n] = (tk_trie_node){-1, -1, -1, byte};
    return (int32_t)tr->n++;
}

int tk_trie_add(tk_trie *tr, const uint8_t *s, size_t n, int32_t index)
{
    if (tr->n == 0 && new_node(tr, 0) < 0) return -1;
    int32_t node = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t c = tr->nodes[node].child;
        while (c >= 0 && tr->nodes[c].byte != s[i]) c = tr->nodes[c].sibling;
        if (c < 0) {
            if ((c = new_node(tr, s[i])) < 0) return -1;
            tr->nodes[c].sibling = tr->nodes[node].child;
            tr->nodes[node].child = c;
        }
        node = c;
    }
    tr->nodes[node].token = index; /* the same content twice: the later one wins, as in HF */
    if (n) tr->first[s[0]] = 1;
    return 0;
}

void tk_trie_free(tk_trie *tr)
{
    free(tr->nodes);
    memset(tr, 0, sizeof *tr);
}

/* Length of the longest token at s[0..n), 0 if none. */
static size_t longest_at(const tk_trie *tr, const uint8_t *s, size_t n, int32_t *index)
{
    size_t best = 0;
    int32_t node = 0;
    for (size_t j = 0; j < n; j++) {
        int32_t c = tr->nodes[node].child;
        while (c >= 0 && tr->nodes[c].byte != s[j]) c = tr->nodes[c].sibling;
        if (c < 0) break;
        node = c;
        if (tr->nodes[c].token >= 0) {
            best = j + 1;
            *index = tr->nodes[c].token;
        }
    }
    return best;
}

int tk_trie_find(const tokenizer *t, const tk_trie *tr, const uint8_t *s, size_t n, size_t from,
                 size_t *start, size_t *end, int32_t *index)
{
    if (tr->n == 0) return 0;
    for (size_t i = from; i < n; i++) {
        if (!tr->first[s[i]]) continue;
        size_t len = longest_at(tr, s + i, n - i, index);
        if (!len) continue;
        size_t a = i, b = i + len;
        uint32_t cp;
        const tk_added *tok = &t->added[*index];
        if (tok->lstrip) /* whitespace before it, but not what an earlier match took */
            while (a > from) {
                size_t p = a - 1;
                while (p > from && (s[p] & 0xC0) == 0x80) p--;
                if (tk_utf8_next(s + p, n - p, &cp) <= 0 || !tk_is_white_space(cp)) break;
                a = p;
            }
        if (tok->rstrip)
            while (b < n) {
                int k = tk_utf8_next(s + b, n - b, &cp);
                if (k <= 0 || !tk_is_white_space(cp)) break;
                b += (size_t)k;
            }
        *start = a;
        *end = b;
        return 1;
    }
    return 0;
}
