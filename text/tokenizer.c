/* tokenizer.c: the tokenizer API over the loaded tables: encoding (added tokens, then
 * normalisation, then the pre-tokenizer and BPE), decoding, streaming decoding, lookups.
 * Encoding mirrors Hugging Face's order of passes exactly; see tokenizer_load.c for what
 * the tables hold. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "text/tok_internal.h"
#include "text/utf8.h"

/* Characters below U+0300 are stable under NFC whatever follows, and their UTF-8 bytes
 * are all below 0xCC: such text needs no normalisation pass. */
static int nfc_stable(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 0xCC) return 0;
    return 1;
}

/* Text between raw added tokens: normalise, match the normalised added tokens, and
 * pre-tokenize what lies between them. */
static int encode_segment(tokenizer *t, const uint8_t *s, size_t n, tk_ids *out, char *err,
                          size_t errlen)
{
    if (n == 0) return 0;
    if (t->nfc && !nfc_stable(s, n)) {
        if (tk_nfc(s, n, &t->norm)) {
            snprintf(err, errlen, "NFC normalisation failed: %s", strerror(errno));
            return -1;
        }
        s = t->norm.p;
        n = t->norm.n;
    }
    size_t from = 0, a, b;
    int32_t k;
    while (tk_trie_find(t, &t->trie_norm, s, n, from, &a, &b, &k)) {
        if (tk_pretokenize(t, 0, s + from, a - from, out, err, errlen)) return -1;
        if (tk_ids_push(out, t->added[k].id)) goto oom;
        from = b;
    }
    return tk_pretokenize(t, 0, s + from, n - from, out, err, errlen);
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

int tok_encode(tokenizer *t, const char *text, size_t len, int add_bos, int32_t **ids,
               size_t *n_ids, char *err, size_t errlen)
{
    const uint8_t *s = (const uint8_t *)text;
    *ids = NULL;
    *n_ids = 0;
    /* Offsets inside the BPE step are 32-bit. */
    if (len > INT32_MAX) {
        snprintf(err, errlen, "text: %zu bytes is more than one encode call takes (2 GiB)", len);
        return -1;
    }
    size_t bad = tk_utf8_check(s, len);
    if (bad < len) {
        snprintf(err, errlen, "text: invalid UTF-8 at byte %zu (0x%02x)", bad, s[bad]);
        return -1;
    }
    tk_ids out = {0};
    int rc = -1;
    pthread_mutex_lock(&t->lock);
    /* Allocated up front, so even an empty result is a real array. */
    if (tk_grow((void **)&out.p, &out.cap, 0, 16, sizeof *out.p) ||
        (add_bos && t->bos >= 0 && tk_ids_push(&out, t->bos))) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    size_t from = 0, a, b;
    int32_t k;
    while (tk_trie_find(t, &t->trie_raw, s, len, from, &a, &b, &k)) {
        if (encode_segment(t, s + from, a - from, &out, err, errlen)) goto done;
        if (tk_ids_push(&out, t->added[k].id)) {
            snprintf(err, errlen, "out of memory");
            goto done;
        }
        from = b;
    }
    if (encode_segment(t, s + from, len - from, &out, err, errlen)) goto done;
    rc = 0;
done:
    pthread_mutex_unlock(&t->lock);
    if (rc) {
        free(out.p);
        return -1;
    }
    *ids = out.p;
    *n_ids = out.n;
    return 0;
}

static int bad_id(const tokenizer *t, int32_t id, char *err, size_t errlen)
{
    if (id >= 0 && id < t->n_ids && t->text_len[id] >= 0) return 0;
    snprintf(err, errlen, "id %d is not a token (vocabulary size %d)", id, t->n_ids);
    return -1;
}

int tok_decode(const tokenizer *t, const int32_t *ids, size_t n_ids, char **text, size_t *len,
               char *err, size_t errlen)
{
    tk_bytes raw = {0}, out = {0};
    size_t held;
    *text = NULL;
    *len = 0;
    for (size_t i = 0; i < n_ids; i++) {
        if (bad_id(t, ids[i], err, errlen)) goto fail;
        if (tk_bytes_put(&raw, t->texts.p + t->text_off[ids[i]], (size_t)t->text_len[ids[i]])) goto oom;
    }
    if (tk_bytes_put(&out, "", 0) || tk_utf8_repair(raw.p, raw.n, 1, &out, &held)) goto oom;
    free(raw.p);
    *text = (char *)out.p;
    *len = out.n;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    free(raw.p);
    free(out.p);
    return -1;
}

struct tok_stream {
    const tokenizer *t;
    tk_bytes pending;  /* the start of a character still missing bytes (at most 3) */
    tk_bytes out;      /* what the last call returned */
};

tok_stream *tok_stream_new(const tokenizer *t)
{
    tok_stream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->t = t;
    if (tk_bytes_put(&s->out, "", 0) || tk_bytes_put(&s->pending, "", 0)) {
        tok_stream_free(s);
        return NULL;
    }
    return s;
}

void tok_stream_free(tok_stream *s)
{
    if (!s) return;
    free(s->pending.p);
    free(s->out.p);
    free(s);
}

static int stream_flush(tok_stream *s, int final, const char **text, size_t *len, char *err,
                        size_t errlen)
{
    size_t held;
    s->out.n = 0;
    if (tk_bytes_put(&s->out, "", 0) || tk_utf8_repair(s->pending.p, s->pending.n, final, &s->out, &held)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memmove(s->pending.p, s->pending.p + s->pending.n - held, held);
    s->pending.n = held;
    *text = (const char *)s->out.p;
    *len = s->out.n;
    return 0;
}

int tok_stream_push(tok_stream *s, int32_t id, const char **text, size_t *len, char *err,
                    size_t errlen)
{
    const tokenizer *t = s->t;
    *text = "";
    *len = 0;
    if (bad_id(t, id, err, errlen)) return -1;
    if (tk_bytes_put(&s->pending, t->texts.p + t->text_off[id], (size_t)t->text_len[id])) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return stream_flush(s, 0, text, len, err, errlen);
}

int tok_stream_finish(tok_stream *s, const char **text, size_t *len, char *err, size_t errlen)
{
    return stream_flush(s, 1, text, len, err, errlen);
}

int32_t tok_vocab_size(const tokenizer *t) { return t->n_ids; }
int32_t tok_bos(const tokenizer *t) { return t->bos; }
int32_t tok_eos(const tokenizer *t) { return t->eos; }
int tok_add_bos(const tokenizer *t) { return t->add_bos; }

int tok_is_special(const tokenizer *t, int32_t id)
{
    return id >= 0 && id < t->n_ids && t->special[id];
}

const char *tok_token_text(const tokenizer *t, int32_t id, size_t *len)
{
    if (id < 0 || id >= t->n_ids || t->text_len[id] < 0) return NULL;
    *len = (size_t)t->text_len[id];
    return (const char *)t->texts.p + t->text_off[id];
}

int32_t tok_token_id(const tokenizer *t, const char *token)
{
    size_t n = strlen(token);
    int32_t k, id = -1;
    if (t->added && tk_strmap_get(&t->added_by_content, token, n, &k, NULL)) return t->added[k].id;
    tk_bytes raw = {0};
    int b = tk_bytelevel_decode(token, n, &raw);
    if (b > 0 ? !tk_strmap_get(&t->vocab, raw.p, raw.n, &id, NULL)
              : !tk_strmap_get(&t->vocab_other, token, n, &id, NULL))
        id = -1;
    free(raw.p);
    return id;
}

void tok_free(tokenizer *t)
{
    if (!t) return;
    free(t->texts.p);
    free(t->text_off);
    free(t->text_len);
    free(t->special);
    tk_strmap_free(&t->vocab);
    tk_strmap_free(&t->vocab_other);
    tk_pairmap_free(&t->merges);
    free(t->added);
    tk_strmap_free(&t->added_by_content);
    tk_trie_free(&t->trie_raw);
    tk_trie_free(&t->trie_norm);
    for (int i = 0; i < t->n_stages; i++) tk_stage_free(&t->stages[i]);
    free(t->stages);
    pthread_mutex_destroy(&t->lock);
    tk_strmap_free(&t->cache);
    free(t->cache_ids.p);
    free(t->syms);
    free(t->heap);
    free(t->norm.p);
    free(t);
}
