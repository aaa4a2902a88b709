/* safetensors.c: see safetensors.h. Format: an 8-byte little-endian header length N, N bytes
 * of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}, then the
 * data; offsets are relative to the data start. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cJSON.h>
#include "engine/safetensors.h"

struct safetensors {
    tf_map map;
    tf_tensor *t;
    int n;
};

static int parse_dtype(const char *s, tf_dtype *out)
{
    for (int i = 0; i < TF_DTYPE_COUNT; i++)
        if (strcmp(s, tf_dtype_name((tf_dtype)i)) == 0) {
            *out = (tf_dtype)i;
            return 0;
        }
    return -1;
}

/* A JSON number that is a non-negative integer below 2^53 (exact in a double). */
static int get_u64(const cJSON *j, uint64_t *out)
{
    if (!cJSON_IsNumber(j)) return -1;
    double v = j->valuedouble;
    if (v < 0 || v > 9007199254740992.0 || v != (double)(uint64_t)v) return -1;
    *out = (uint64_t)v;
    return 0;
}

static int by_begin(const void *a, const void *b)
{
    const tf_tensor *x = *(tf_tensor *const *)a, *y = *(tf_tensor *const *)b;
    return (x->data > y->data) - (x->data < y->data);
}

#define FAIL(...)                                         \
    do {                                                  \
        snprintf(err, errlen, __VA_ARGS__);               \
        goto fail;                                        \
    } while (0)

int st_open(const char *path, safetensors **out, char *err, size_t errlen)
{
    *out = NULL;
    safetensors *s = calloc(1, sizeof *s);
    cJSON *root = NULL;
    tf_tensor **order = NULL;
    if (!s) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    if (tf_map_open(&s->map, path, err, errlen)) {
        free(s);
        return -1;
    }
    const uint8_t *d = s->map.data;
    uint64_t size = s->map.size, hlen = 0;
    if (size < 8) FAIL("%s: %llu bytes is too short for a safetensors header", path,
                       (unsigned long long)size);
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | d[i];
    if (hlen > ST_MAX_HEADER || hlen > size - 8)
        FAIL("%s: header length %llu does not fit the file (%llu bytes)", path,
             (unsigned long long)hlen, (unsigned long long)size);
    root = cJSON_ParseWithLength((const char *)d + 8, (size_t)hlen);
    if (!cJSON_IsObject(root)) FAIL("%s: the header is not a JSON object", path);
    const uint8_t *data = d + 8 + hlen;
    uint64_t data_size = size - 8 - hlen;
    int n = cJSON_GetArraySize(root);
    if (n > ST_MAX_TENSORS) FAIL("%s: %d header entries (limit %d)", path, n, ST_MAX_TENSORS);
    s->t = calloc((size_t)(n ? n : 1), sizeof *s->t);
    if (!s->t) FAIL("%s: out of memory", path);
    for (const cJSON *e = root->child; e; e = e->next) {
        if (strcmp(e->string, "__metadata__") == 0) continue;
        tf_tensor *t = &s->t[s->n];
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
        const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
        const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
        if (!cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(off) ||
            cJSON_GetArraySize(off) != 2)
            FAIL("%s: tensor '%s' lacks dtype, shape or data_offsets", path, e->string);
        if (parse_dtype(dt->valuestring, &t->dtype))
            FAIL("%s: tensor '%s' has unknown dtype '%s'", path, e->string, dt->valuestring);
        t->n_dims = cJSON_GetArraySize(sh);
        if (t->n_dims > TF_MAX_DIMS)
            FAIL("%s: tensor '%s' has %d dimensions (limit %d)", path, e->string, t->n_dims,
                 TF_MAX_DIMS);
        /* element count, guarding against overflow */
        uint64_t count = 1;
        int i = 0;
        for (const cJSON *x = sh->child; x; x = x->next, i++) {
            uint64_t v;
            if (get_u64(x, &v) || v > (1ull << 40))
                FAIL("%s: tensor '%s' has a bad shape entry", path, e->string);
            t->shape[i] = (int64_t)v;
            if (v && count > (1ull << 50) / v)
                FAIL("%s: tensor '%s' has a shape too large for any file", path, e->string);
            count *= v;
        }
        int64_t stride = 1;
        for (int k = t->n_dims - 1; k >= 0; k--) {
            t->strides[k] = stride;
            stride *= t->shape[k];
        }
        uint64_t b, en;
        if (get_u64(off->child, &b) || get_u64(off->child->next, &en) || b > en)
            FAIL("%s: tensor '%s' has bad data_offsets", path, e->string);
        if (en > data_size)
            FAIL("%s: tensor '%s' data range [%llu, %llu) ends past the data (%llu bytes)", path,
                 e->string, (unsigned long long)b, (unsigned long long)en,
                 (unsigned long long)data_size);
        if (count * tf_dtype_size(t->dtype) != en - b)
            FAIL("%s: tensor '%s' is %s of %llu elements but its data range holds %llu bytes",
                 path, e->string, tf_dtype_name(t->dtype), (unsigned long long)count,
                 (unsigned long long)(en - b));
        t->name = strdup(e->string);
        if (!t->name) FAIL("%s: out of memory", path);
        t->data = data + b;
        t->nbytes = en - b;
        s->n++;
    }
    /* Ranges must not overlap: sort by start and compare neighbours. */
    order = malloc((size_t)(s->n ? s->n : 1) * sizeof *order);
    if (!order) FAIL("%s: out of memory", path);
    for (int i = 0; i < s->n; i++) order[i] = &s->t[i];
    qsort(order, (size_t)s->n, sizeof *order, by_begin);
    for (int i = 1; i < s->n; i++)
        if (order[i]->data < order[i - 1]->data + order[i - 1]->nbytes)
            FAIL("%s: tensors '%s' and '%s' overlap", path, order[i - 1]->name, order[i]->name);
    free(order);
    cJSON_Delete(root);
    *out = s;
    return 0;
fail:
    free(order);
    cJSON_Delete(root);
    st_close(s);
    return -1;
}

int st_count(const safetensors *s) { return s->n; }
const tf_tensor *st_tensor(const safetensors *s, int i) { return &s->t[i]; }

void st_close(safetensors *s)
{
    if (!s) return;
    for (int i = 0; i < s->n; i++) free(s->t[i].name);
    free(s->t);
    tf_map_close(&s->map);
    free(s);
}
