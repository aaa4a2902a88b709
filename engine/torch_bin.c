/* torch_bin.c: interprets the value tree of a torch.save state_dict (pickle.c) against the
 * storages in its zip (zip.c): each value must be _rebuild_tensor_v2(storage, offset, size,
 * stride, requires_grad, hooks[, metadata]), optionally wrapped in _rebuild_parameter, and
 * every element it can reach must lie inside its storage. Nothing is copied or converted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine/pickle.h"
#include "engine/torch_bin.h"
#include "engine/zip.h"

#define MAX_KEY 255 /* storage keys are short decimal strings in practice */

struct torch_bin {
    tf_map map;
    zip_archive *zip;
    int n;
    tf_tensor *tensors;
};

typedef struct {
    torch_bin *b;
    const char *path;
    char prefix[512]; /* "<archive name>/" that data.pkl and data/<key> live under */
    char *err;
    size_t errlen;
} loader;

/* The archive's single "<name>/data.pkl" entry. */
static int find_pickle(loader *L, int *idx)
{
    *idx = -1;
    for (int i = 0; i < zip_count(L->b->zip); i++) {
        const char *name = zip_entry_at(L->b->zip, i)->name, *slash = strchr(name, '/');
        if (!slash || slash == name || strcmp(slash, "/data.pkl") != 0) continue;
        if (*idx >= 0) {
            snprintf(L->err, L->errlen, "%s: more than one data.pkl in the archive", L->path);
            return -1;
        }
        size_t plen = (size_t)(slash - name) + 1;
        if (plen >= sizeof L->prefix) {
            snprintf(L->err, L->errlen, "%s: archive name is too long", L->path);
            return -1;
        }
        memcpy(L->prefix, name, plen);
        L->prefix[plen] = 0;
        *idx = i;
    }
    if (*idx < 0) {
        snprintf(L->err, L->errlen, "%s: no <name>/data.pkl in the zip archive (not a torch.save "
                 "checkpoint)", L->path);
        return -1;
    }
    return 0;
}

/* Reads a tuple of n_dims non-negative ints into out. */
static int int_tuple(const pk_value *v, int64_t *out, int *n)
{
    if (v->kind != PK_TUPLE || v->u.seq.n > TF_MAX_DIMS) return -1;
    for (size_t i = 0; i < v->u.seq.n; i++) {
        const pk_value *x = v->u.seq.items[i];
        if (x->kind != PK_INT || x->u.i < 0) return -1;
        out[i] = x->u.i;
    }
    *n = (int)v->u.seq.n;
    return 0;
}

static int tensor_fail(loader *L, const char *name, const char *what)
{
    snprintf(L->err, L->errlen, "%s: tensor '%s': %s", L->path, name, what);
    return -1;
}

/* The bytes of storage s: present, stored, and exactly numel elements long. */
static int storage_bytes(loader *L, const char *name, const pk_value *s, const uint8_t **data)
{
    const char *key = s->u.storage.key;
    size_t klen = strlen(key);
    if (klen == 0 || klen > MAX_KEY || strchr(key, '/'))
        return tensor_fail(L, name, "storage key is empty, too long or holds '/'");
    char entry[sizeof L->prefix + MAX_KEY + 8];
    snprintf(entry, sizeof entry, "%sdata/%s", L->prefix, key);
    int idx = zip_find(L->b->zip, entry);
    if (idx < 0) {
        snprintf(L->err, L->errlen, "%s: tensor '%s': storage '%s' is missing from the archive",
                 L->path, name, entry);
        return -1;
    }
    uint64_t size;
    if (zip_data(L->b->zip, idx, data, &size, L->err, L->errlen)) return -1;
    uint64_t esize = tf_dtype_size(s->u.storage.dtype), numel = (uint64_t)s->u.storage.numel;
    if (numel > UINT64_MAX / esize || numel * esize != size) {
        snprintf(L->err, L->errlen, "%s: tensor '%s': storage '%s' holds %llu bytes, not %llu "
                 "elements of %llu bytes", L->path, name, entry, (unsigned long long)size,
                 (unsigned long long)numel, (unsigned long long)esize);
        return -1;
    }
    return 0;
}

/* Fills t from the arguments of _rebuild_tensor_v2. */
static int rebuild_tensor(loader *L, const char *name, const pk_value *call, tf_tensor *t)
{
    const pk_value *args = call->u.call.args;
    size_t na = args->u.seq.n;
    pk_value *const *a = args->u.seq.items;
    if (na < 6 || na > 7 || a[0]->kind != PK_STORAGE || a[1]->kind != PK_INT || a[1]->u.i < 0 ||
        a[4]->kind != PK_BOOL || a[5]->kind != PK_DICT)
        return tensor_fail(L, name, "_rebuild_tensor_v2 arguments are not (storage, offset, "
                           "size, stride, requires_grad, hooks[, metadata])");
    int nd, ns;
    if (int_tuple(a[2], t->shape, &nd) || int_tuple(a[3], t->strides, &ns) || nd != ns)
        return tensor_fail(L, name, "size and stride are not two tuples of up to 8 "
                           "non-negative ints of one length");
    t->n_dims = nd;
    t->dtype = a[0]->u.storage.dtype;
    const uint8_t *base;
    if (storage_bytes(L, name, a[0], &base)) return -1;

    /* Elements from the first to the last one the view reaches, and the view's element
     * count; both must fit in int64 (a stride of 0 lets the latter exceed the storage). */
    int64_t span = 1, nelem = 1, offset = a[1]->u.i, numel = a[0]->u.storage.numel;
    int overflow = 0;
    for (int i = 0; i < nd; i++) {
        int64_t reach;
        overflow |= __builtin_mul_overflow(nelem, t->shape[i], &nelem);
        if (t->shape[i] == 0) continue;
        overflow |= __builtin_mul_overflow(t->shape[i] - 1, t->strides[i], &reach);
        overflow |= __builtin_add_overflow(span, reach, &span);
    }
    if (nelem == 0) span = 0;
    int64_t end;
    overflow |= __builtin_add_overflow(offset, span, &end);
    if (overflow || end > numel) {
        snprintf(L->err, L->errlen, "%s: tensor '%s': offset %lld + span %lld elements runs past "
                 "its storage '%s' of %lld elements", L->path, name, (long long)offset,
                 overflow ? -1LL : (long long)span, a[0]->u.storage.key, (long long)numel);
        return -1;
    }
    size_t esize = tf_dtype_size(t->dtype);
    t->data = base + (uint64_t)offset * esize; /* end <= numel, so both stay in the entry */
    t->nbytes = (uint64_t)span * esize;
    return 0;
}

static int add_tensor(loader *L, const pk_value *key, const pk_value *v)
{
    torch_bin *b = L->b;
    if (key->kind != PK_STR) {
        snprintf(L->err, L->errlen, "%s: state_dict key %d is not a string", L->path, b->n);
        return -1;
    }
    const char *name = key->u.str.s;
    if (v->kind == PK_CALL && v->u.call.fn == PG_REBUILD_PARAMETER) {
        const pk_value *args = v->u.call.args;
        if (args->u.seq.n != 3 || args->u.seq.items[1]->kind != PK_BOOL)
            return tensor_fail(L, name, "_rebuild_parameter arguments are not (tensor, "
                               "requires_grad, hooks)");
        v = args->u.seq.items[0];
    }
    if (v->kind != PK_CALL || v->u.call.fn != PG_REBUILD_TENSOR_V2)
        return tensor_fail(L, name, "value is not a tensor (_rebuild_tensor_v2)");
    tf_tensor *t = &b->tensors[b->n];
    memset(t, 0, sizeof *t);
    if (rebuild_tensor(L, name, v, t)) return -1;
    if (!(t->name = strdup(name))) return tensor_fail(L, name, "out of memory");
    b->n++;
    return 0;
}

static int cmp_tensor_name(const void *a, const void *b)
{
    return strcmp((*(const tf_tensor *const *)a)->name, (*(const tf_tensor *const *)b)->name);
}

/* A key twice in the pickle would silently mean "the later one" in Python; refuse it. */
static int check_unique(loader *L)
{
    torch_bin *b = L->b;
    const tf_tensor **s = malloc((size_t)(b->n ? b->n : 1) * sizeof *s);
    if (!s) {
        snprintf(L->err, L->errlen, "%s: out of memory", L->path);
        return -1;
    }
    for (int i = 0; i < b->n; i++) s[i] = &b->tensors[i];
    qsort(s, (size_t)b->n, sizeof *s, cmp_tensor_name);
    int rc = 0;
    for (int i = 1; i < b->n && rc == 0; i++) {
        if (strcmp(s[i - 1]->name, s[i]->name) == 0) {
            snprintf(L->err, L->errlen, "%s: tensor '%s' appears twice in the state_dict",
                     L->path, s[i]->name);
            rc = -1;
        }
    }
    free(s);
    return rc;
}

static int load(loader *L)
{
    torch_bin *b = L->b;
    if (tf_map_open(&b->map, L->path, L->err, L->errlen)) return -1;
    if (b->map.size >= 2 && b->map.data[0] == 0x80 && b->map.data[1] <= 5) {
        snprintf(L->err, L->errlen, "%s: legacy (pre-zip, torch < 1.6) checkpoint format is not "
                 "supported", L->path);
        return -1;
    }
    if (zip_open(b->map.data, b->map.size, L->path, &b->zip, L->err, L->errlen)) return -1;
    int pkl;
    const uint8_t *p;
    uint64_t n;
    if (find_pickle(L, &pkl) || zip_data(b->zip, pkl, &p, &n, L->err, L->errlen)) return -1;
    if (n > PICKLE_MAX_BYTES) {
        snprintf(L->err, L->errlen, "%s: data.pkl of %llu bytes is larger than %u", L->path,
                 (unsigned long long)n, PICKLE_MAX_BYTES);
        return -1;
    }
    pk_doc doc;
    if (pickle_load(p, (size_t)n, L->path, &doc, L->err, L->errlen)) return -1;
    const pk_value *root = doc.root;
    int rc = 0;
    if (root->kind != PK_DICT) {
        snprintf(L->err, L->errlen, "%s: data.pkl holds no dict (a state_dict is expected)",
                 L->path);
        rc = -1;
    } else if (root->u.seq.n / 2 > TORCH_BIN_MAX_TENSORS) {
        snprintf(L->err, L->errlen, "%s: state_dict has more than %d tensors", L->path,
                 TORCH_BIN_MAX_TENSORS);
        rc = -1;
    } else if (!(b->tensors = calloc(root->u.seq.n / 2 + 1, sizeof *b->tensors))) {
        snprintf(L->err, L->errlen, "%s: out of memory", L->path);
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < root->u.seq.n; i += 2)
        rc = add_tensor(L, root->u.seq.items[i], root->u.seq.items[i + 1]);
    pickle_free(&doc);
    return rc ? rc : check_unique(L);
}

int torch_bin_open(const char *path, torch_bin **out, char *err, size_t errlen)
{
    *out = NULL;
    torch_bin *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    loader L = {.b = b, .path = path, .err = err, .errlen = errlen};
    if (load(&L)) {
        torch_bin_close(b);
        return -1;
    }
    *out = b;
    return 0;
}

int torch_bin_count(const torch_bin *b) { return b->n; }

const tf_tensor *torch_bin_tensor(const torch_bin *b, int i)
{
    return i >= 0 && i < b->n ? &b->tensors[i] : NULL;
}

void torch_bin_close(torch_bin *b)
{
    if (!b) return;
    for (int i = 0; i < b->n; i++) free(b->tensors[i].name);
    free(b->tensors);
    zip_close(b->zip);
    tf_map_close(&b->map);
    free(b);
}
