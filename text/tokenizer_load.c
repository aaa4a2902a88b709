/* tokenizer_load.c: tok_load: reads tokenizer.json's BPE model (vocabulary, merges) and
 * added tokens into the tables encoding uses; tokenizer_pipeline.c reads the rest. Every
 * count, id and length from the file is bounded before use; anything unsupported or
 * inconsistent is an error naming the file and the entry, never a guess. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "text/tok_internal.h"
#include "text/utf8.h"

int tk_fail(tk_loader *ld, const char *fmt, ...)
{
    int k = snprintf(ld->err, ld->errlen, "%s: ", ld->path);
    if (k >= 0 && (size_t)k < ld->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ld->err + k, ld->errlen - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return -1;
}

const char *tk_snippet(const char *s, size_t n, char *buf, size_t cap)
{
    size_t o = 0, i = 0;
    /* Room for the widest item (a 4-byte character or "\xNN"), "..." and the NUL. */
    while (i < n && o + 8 <= cap) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp;
        int k = c >= 0x80 ? tk_utf8_next((const uint8_t *)s + i, n - i, &cp) : 0;
        if (k > 0) { /* whole characters, so the message stays valid UTF-8 */
            memcpy(buf + o, s + i, (size_t)k);
            o += (size_t)k;
            i += (size_t)k;
            continue;
        }
        if (c >= 0x20 && c < 0x7F && c != '\\')
            buf[o++] = (char)c;
        else
            o += (size_t)snprintf(buf + o, cap - o, c == '\\' ? "\\\\" : c == '\n' ? "\\n" : "\\x%02x", c);
        i++;
    }
    snprintf(buf + o, cap - o, "%s", i < n ? "..." : "");
    return buf;
}

cJSON *tk_read_json(const char *path, int *missing, char *err, size_t errlen)
{
    *missing = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) *missing = 1;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return NULL;
    }
    if ((uint64_t)st.st_size > TK_MAX_FILE_BYTES) {
        snprintf(err, errlen, "%s: %lld bytes is too large for a tokenizer file (limit %zu)", path,
                 (long long)st.st_size, TK_MAX_FILE_BYTES);
        close(fd);
        return NULL;
    }
    size_t size = (size_t)st.st_size, got = 0;
    char *data = malloc(size + 1);
    if (!data) {
        snprintf(err, errlen, "%s: out of memory", path);
        close(fd);
        return NULL;
    }
    while (got < size) {
        ssize_t r = read(fd, data + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            snprintf(err, errlen, "%s: read: %s", path, r < 0 ? strerror(errno) : "file shrank");
            free(data);
            close(fd);
            return NULL;
        }
        got += (size_t)r;
    }
    close(fd);
    data[size] = 0;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(data, size, &end, 0);
    if (!root) {
        size_t at = end && end >= data && end <= data + size ? (size_t)(end - data) : 0;
        snprintf(err, errlen, "%s: not valid JSON (at byte %zu of %zu)", path, at, size);
    }
    free(data);
    return root;
}

int tk_json_int(const cJSON *j, int64_t lo, int64_t hi, int64_t *v)
{
    if (!cJSON_IsNumber(j)) return -1;
    double d = j->valuedouble;
    if (!(d >= (double)lo && d <= (double)hi) || d != floor(d)) return -1;
    *v = (int64_t)d;
    return 0;
}

int tk_json_bool(tk_loader *ld, const cJSON *obj, const char *what, const char *key, int *v)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!j || cJSON_IsNull(j)) return 0;
    if (!cJSON_IsBool(j)) return tk_fail(ld, "%s.%s is not a boolean", what, key);
    *v = cJSON_IsTrue(j);
    return 0;
}

/* A JSON string's bytes, NULL unless it is a valid UTF-8 string of at most `max` bytes. */
static const char *json_str(const cJSON *j, size_t max, size_t *len)
{
    if (!cJSON_IsString(j) || !j->valuestring) return NULL;
    *len = strlen(j->valuestring);
    if (*len > max || tk_utf8_check((const uint8_t *)j->valuestring, *len) != *len) return NULL;
    return j->valuestring;
}

/* Records id's decoded text (the later definition wins: added tokens override). */
static int set_text(tokenizer *t, int32_t id, const void *s, size_t n)
{
    t->text_off[id] = t->texts.n;
    t->text_len[id] = (int32_t)n;
    return tk_bytes_put(&t->texts, s, n);
}

/* Pass 1 over the vocabulary and added tokens: types, ranges, the largest id. */
static int scan_ids(tk_loader *ld, const cJSON *vocab, const cJSON *added, int64_t *max_id)
{
    char snip[96];
    int64_t id, count = 0;
    *max_id = -1;
    const cJSON *e;
    cJSON_ArrayForEach(e, vocab) {
        if (++count > TK_MAX_ID) return tk_fail(ld, "model.vocab has more than %d entries", TK_MAX_ID);
        size_t len;
        if (!e->string || strlen(e->string) == 0 || strlen(e->string) > TK_MAX_TOKEN_BYTES)
            return tk_fail(ld, "model.vocab entry %lld has an empty or overlong key", (long long)count - 1);
        len = strlen(e->string);
        if (tk_json_int(e, 0, TK_MAX_ID - 1, &id))
            return tk_fail(ld, "model.vocab[\"%s\"] is not an id in [0, %d)",
                           tk_snippet(e->string, len, snip, sizeof snip), TK_MAX_ID);
        if (id > *max_id) *max_id = id;
    }
    if (added && !cJSON_IsArray(added)) return tk_fail(ld, "added_tokens is not an array");
    int i = 0;
    cJSON_ArrayForEach(e, added) {
        if (i >= TK_MAX_ID) return tk_fail(ld, "added_tokens has more than %d entries", TK_MAX_ID);
        if (!cJSON_IsObject(e) || tk_json_int(cJSON_GetObjectItemCaseSensitive(e, "id"), 0, TK_MAX_ID - 1, &id))
            return tk_fail(ld, "added_tokens[%d] has no id in [0, %d)", i, TK_MAX_ID);
        if (id > *max_id) *max_id = id;
        i++;
    }
    return 0;
}

/* Pass 2: every vocabulary entry into the byte map (or, outside the byte alphabet, the
 * string map) and the id table. */
static int load_vocab(tk_loader *ld, const cJSON *vocab, size_t count)
{
    tokenizer *t = ld->t;
    tk_bytes raw = {0};
    char snip[96];
    int rc = -1;
    if (tk_strmap_init(&t->vocab, count) || tk_strmap_init(&t->vocab_other, 16)) goto oom;
    const cJSON *e;
    cJSON_ArrayForEach(e, vocab) {
        size_t len = strlen(e->string);
        int32_t id = (int32_t)e->valuedouble, dup;
        if (t->text_len[id] >= 0) {
            rc = tk_fail(ld, "model.vocab: id %d is given to two tokens (one is \"%s\")", id,
                         tk_snippet(e->string, len, snip, sizeof snip));
            goto done;
        }
        raw.n = 0;
        int b = tk_bytelevel_decode(e->string, len, &raw);
        if (b < 0) goto oom;
        tk_strmap *map = b ? &t->vocab : &t->vocab_other;
        const void *key = b ? (const void *)raw.p : e->string;
        size_t klen = b ? raw.n : len;
        if (tk_strmap_get(map, key, klen, &dup, NULL)) {
            rc = tk_fail(ld, "model.vocab: \"%s\" appears twice", tk_snippet(e->string, len, snip, sizeof snip));
            goto done;
        }
        /* Outside the alphabet the token's own UTF-8 is its text, as HF's decoder does. */
        if (tk_strmap_put(map, key, klen, id, 0) || set_text(t, id, key, klen)) goto oom;
    }
    for (int c = 0; c < 256; c++) {
        uint8_t byte = (uint8_t)c;
        if (!tk_strmap_get(&t->vocab, &byte, 1, &t->byte_id[c], NULL)) t->byte_id[c] = -1;
    }
    rc = 0;
    goto done;
oom:
    rc = tk_fail(ld, "out of memory");
done:
    free(raw.p);
    return rc;
}

/* One side of a merge: 1 with its id, 0 if it is outside the byte alphabet (such merges
 * can never apply to byte-level text), -1 with a message if it is no token. */
static int merge_part(tk_loader *ld, int rank, const char *s, size_t n, tk_bytes *raw, int32_t *id)
{
    char snip[96];
    size_t start = raw->n;
    int b = tk_bytelevel_decode(s, n, raw);
    if (b < 0) return tk_fail(ld, "out of memory");
    if (b && tk_strmap_get(&ld->t->vocab, raw->p + start, raw->n - start, id, NULL)) return 1;
    if (!b && tk_strmap_get(&ld->t->vocab_other, s, n, id, NULL)) return 0;
    return tk_fail(ld, "model.merges[%d]: \"%s\" is not in the vocabulary", rank,
                   tk_snippet(s, n, snip, sizeof snip));
}

static int load_merges(tk_loader *ld, const cJSON *merges)
{
    tokenizer *t = ld->t;
    if (!merges || cJSON_IsNull(merges)) return tk_pairmap_init(&t->merges, 0) ? tk_fail(ld, "out of memory") : 0;
    if (!cJSON_IsArray(merges)) return tk_fail(ld, "model.merges is not an array");
    int n = cJSON_GetArraySize(merges);
    if (n < 0 || n > TK_MAX_ID) return tk_fail(ld, "model.merges has more than %d entries", TK_MAX_ID);
    if (tk_pairmap_init(&t->merges, (size_t)n)) return tk_fail(ld, "out of memory");
    tk_bytes raw = {0};
    int rank = 0, rc = 0;
    const cJSON *e;
    char snip[96];
    cJSON_ArrayForEach(e, merges) {
        /* Either "left right" (exactly one space) or ["left", "right"]. */
        const char *a, *b;
        size_t na, nb;
        if (cJSON_IsString(e)) {
            const char *s = json_str(e, 2 * TK_MAX_TOKEN_BYTES, &na);
            const char *sp = s ? strchr(s, ' ') : NULL;
            if (!sp || strchr(sp + 1, ' ') || sp == s || !sp[1]) {
                rc = tk_fail(ld, "model.merges[%d] is not a pair (\"left right\")", rank);
                break;
            }
            a = s;
            na = (size_t)(sp - s);
            b = sp + 1;
            nb = strlen(b);
        } else if (cJSON_IsArray(e) && cJSON_GetArraySize(e) == 2 &&
                   (a = json_str(cJSON_GetArrayItem(e, 0), TK_MAX_TOKEN_BYTES, &na)) &&
                   (b = json_str(cJSON_GetArrayItem(e, 1), TK_MAX_TOKEN_BYTES, &nb)) && na && nb) {
        } else {
            rc = tk_fail(ld, "model.merges[%d] is not a pair", rank);
            break;
        }
        int32_t left, right, merged;
        raw.n = 0;
        int ka = merge_part(ld, rank, a, na, &raw, &left);
        int kb = ka < 0 ? -1 : merge_part(ld, rank, b, nb, &raw, &right);
        if (ka < 0 || kb < 0) {
            rc = -1;
            break;
        }
        if (ka && kb) {
            if (!tk_strmap_get(&t->vocab, raw.p, raw.n, &merged, NULL)) {
                char s2[96];
                rc = tk_fail(ld, "model.merges[%d]: the merge of \"%s\" and \"%s\" is not in the vocabulary",
                             rank, tk_snippet(a, na, snip, sizeof snip), tk_snippet(b, nb, s2, sizeof s2));
                break;
            }
            /* A pair listed twice keeps its later rank, as HF's merge map does. */
            if (tk_pairmap_put(&t->merges, left, right, rank, merged)) {
                rc = tk_fail(ld, "out of memory");
                break;
            }
        }
        rank++;
    }
    free(raw.p);
    return rc;
}

static int load_model(tk_loader *ld, const cJSON *model, const cJSON *added, int64_t *max_id)
{
    tokenizer *t = ld->t;
    if (!cJSON_IsObject(model)) return tk_fail(ld, "no \"model\" object");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(model, "type");
    if (type && !(cJSON_IsString(type) && strcmp(type->valuestring, "BPE") == 0))
        return tk_fail(ld, "model.type is not \"BPE\" (only byte-level BPE is supported)");
    const cJSON *dropout = cJSON_GetObjectItemCaseSensitive(model, "dropout");
    if (dropout && !cJSON_IsNull(dropout) && !(cJSON_IsNumber(dropout) && dropout->valuedouble == 0))
        return tk_fail(ld, "model.dropout is set: BPE dropout is not supported");
    int byte_fallback = 0;
    if (tk_json_bool(ld, model, "model", "byte_fallback", &byte_fallback) ||
        tk_json_bool(ld, model, "model", "ignore_merges", &t->ignore_merges) ||
        tk_json_bool(ld, model, "model", "fuse_unk", &t->fuse_unk))
        return -1;
    if (byte_fallback) return tk_fail(ld, "model.byte_fallback is not supported (byte-level BPE only)");
    static const char *affixes[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int i = 0; i < 2; i++) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(model, affixes[i]);
        if (a && !cJSON_IsNull(a) && !(cJSON_IsString(a) && a->valuestring[0] == 0))
            return tk_fail(ld, "model.%s is not supported", affixes[i]);
    }
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    if (!cJSON_IsObject(vocab)) return tk_fail(ld, "model.vocab is not an object");
    if (scan_ids(ld, vocab, added, max_id)) return -1;
    if (*max_id < 0) return tk_fail(ld, "model.vocab is empty");

    t->n_ids = (int32_t)(*max_id + 1);
    t->text_off = calloc((size_t)t->n_ids, sizeof *t->text_off);
    t->text_len = malloc((size_t)t->n_ids * sizeof *t->text_len);
    t->special = calloc((size_t)t->n_ids, 1);
    if (!t->text_off || !t->text_len || !t->special) return tk_fail(ld, "out of memory");
    for (int32_t i = 0; i < t->n_ids; i++) t->text_len[i] = -1;
    if (load_vocab(ld, vocab, (size_t)cJSON_GetArraySize(vocab)) ||
        load_merges(ld, cJSON_GetObjectItemCaseSensitive(model, "merges")))
        return -1;

    t->unk = -1;
    const cJSON *unk = cJSON_GetObjectItemCaseSensitive(model, "unk_token");
    if (unk && !cJSON_IsNull(unk)) {
        char snip[96];
        size_t n;
        const char *s = json_str(unk, TK_MAX_TOKEN_BYTES, &n);
        if (!s) return tk_fail(ld, "model.unk_token is not a string");
        if ((t->unk = tok_token_id(t, s)) < 0)
            return tk_fail(ld, "model.unk_token \"%s\" is not in the vocabulary", tk_snippet(s, n, snip, sizeof snip));
    }
    return 0;
}

static int load_added(tk_loader *ld, const cJSON *added)
{
    tokenizer *t = ld->t;
    int n = added ? cJSON_GetArraySize(added) : 0;
    t->added = calloc((size_t)n + 1, sizeof *t->added);
    if (!t->added || tk_strmap_init(&t->added_by_content, (size_t)n)) return tk_fail(ld, "out of memory");
    tk_bytes norm = {0};
    const cJSON *e;
    int i = 0, rc = 0;
    cJSON_ArrayForEach(e, added) {
        tk_added *a = &t->added[i];
        size_t len;
        const char *s = json_str(cJSON_GetObjectItemCaseSensitive(e, "content"), TK_MAX_TOKEN_BYTES, &len);
        if (!s || len == 0) {
            rc = tk_fail(ld, "added_tokens[%d].content is not a non-empty UTF-8 string", i);
            break;
        }
        a->id = (int32_t)cJSON_GetObjectItemCaseSensitive(e, "id")->valuedouble; /* checked in scan_ids */
        int single_word = 0;
        if (tk_json_bool(ld, e, "added_tokens[]", "special", &a->special)) { rc = -1; break; }
        a->normalized = !a->special; /* HF's default when the flag is absent */
        if (tk_json_bool(ld, e, "added_tokens[]", "normalized", &a->normalized) ||
            tk_json_bool(ld, e, "added_tokens[]", "lstrip", &a->lstrip) ||
            tk_json_bool(ld, e, "added_tokens[]", "rstrip", &a->rstrip) ||
            tk_json_bool(ld, e, "added_tokens[]", "single_word", &single_word)) {
            rc = -1;
            break;
        }
        if (single_word) {
            rc = tk_fail(ld, "added_tokens[%d].single_word is not supported", i);
            break;
        }
        const uint8_t *key = (const uint8_t *)s;
        size_t klen = len;
        /* Tokens matched after normalisation are themselves normalised first, as in HF. */
        if (a->normalized && t->nfc) {
            if (tk_nfc(key, len, &norm)) {
                rc = tk_fail(ld, "added_tokens[%d]: NFC: %s", i, strerror(errno));
                break;
            }
            key = norm.p;
            klen = norm.n;
        }
        t->special[a->id] = (uint8_t)a->special;
        if (set_text(t, a->id, s, len) || tk_strmap_put(&t->added_by_content, s, len, i, 0) ||
            tk_trie_add(a->normalized ? &t->trie_norm : &t->trie_raw, key, klen, i)) {
            rc = tk_fail(ld, "out of memory");
            break;
        }
        i++;
    }
    t->n_added = (size_t)i;
    free(norm.p);
    return rc;
}

tokenizer *tok_load(const char *model_dir, char *err, size_t errlen)
{
    size_t plen = strlen(model_dir) + 32;
    char *path = malloc(plen);
    tokenizer *t = calloc(1, sizeof *t);
    if (!path || !t) {
        snprintf(err, errlen, "out of memory");
        free(path);
        free(t);
        return NULL;
    }
    t->bos = t->eos = t->unk = -1;
    pthread_mutex_init(&t->lock, NULL);
    snprintf(path, plen, "%s/tokenizer.json", model_dir);
    tk_loader ld = {t, path, err, errlen};
    int missing;
    int64_t max_id;
    int32_t template_bos = -1;
    cJSON *root = tk_read_json(path, &missing, err, errlen);
    if (!root) goto fail;
    if (!cJSON_IsObject(root)) {
        tk_fail(&ld, "the top level is not an object");
        goto fail;
    }
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    if (cJSON_IsNull(added)) added = NULL;
    /* The normalizer comes first: normalised added tokens are stored in normal form. */
    if (tk_load_pipeline(&ld, root) ||
        load_model(&ld, cJSON_GetObjectItemCaseSensitive(root, "model"), added, &max_id) ||
        load_added(&ld, added) || tk_load_post_processor(&ld, root, &template_bos))
        goto fail;
    if (tk_strmap_init(&t->cache, 1024)) {
        tk_fail(&ld, "out of memory");
        goto fail;
    }
    cJSON_Delete(root);
    root = NULL;
    if (tk_load_config(t, model_dir, template_bos, err, errlen)) goto fail;
    free(path);
    return t;
fail:
    cJSON_Delete(root);
    free(path);
    tok_free(t);
    return NULL;
}
