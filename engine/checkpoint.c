/* checkpoint.c: see checkpoint.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cJSON.h>
#include "engine/checkpoint.h"
#include "engine/safetensors.h"
#include "engine/torch_bin.h"

#define INDEX_MAX_BYTES (64u << 20)

/* A shard is a safetensors file or a PyTorch .bin, by its name. */
typedef struct {
    char *path;
    safetensors *st;
    torch_bin *tb;
} shard;

static int shard_count(const shard *s) { return s->st ? st_count(s->st) : torch_bin_count(s->tb); }
static const tf_tensor *shard_tensor(const shard *s, int i)
{
    return s->st ? st_tensor(s->st, i) : torch_bin_tensor(s->tb, i);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

typedef struct {
    const tf_tensor *t;
    int shard;
} entry;

struct checkpoint {
    shard *shards;
    int n_shards;
    entry *e;
    int n;
    int *table;      /* open addressing over e[], -1 empty */
    size_t table_size;
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    while (*s) h = (h ^ (uint8_t)*s++) * 1099511628211ull;
    return h;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int add_shard(checkpoint *c, const char *path, char *err, size_t errlen)
{
    for (int i = 0; i < c->n_shards; i++)
        if (strcmp(c->shards[i].path, path) == 0) return i;
    if (c->n_shards == CKPT_MAX_SHARDS) {
        snprintf(err, errlen, "%s: more than %d shards", path, CKPT_MAX_SHARDS);
        return -1;
    }
    shard *p = realloc(c->shards, (size_t)(c->n_shards + 1) * sizeof *p);
    if (!p) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    c->shards = p;
    shard *s = &p[c->n_shards];
    memset(s, 0, sizeof *s);
    int rc = -1;
    if (!(s->path = strdup(path))) snprintf(err, errlen, "%s: out of memory", path);
    else if (ends_with(path, ".safetensors")) rc = st_open(path, &s->st, err, errlen);
    else if (ends_with(path, ".bin")) rc = torch_bin_open(path, &s->tb, err, errlen);
    else snprintf(err, errlen, "%s: not a .safetensors or .bin file", path);
    if (rc) {
        free(s->path);
        return -1;
    }
    return c->n_shards++;
}

static int build_table(checkpoint *c, char *err, size_t errlen)
{
    c->table_size = 16;
    while (c->table_size < (size_t)c->n * 2) c->table_size *= 2;
    c->table = malloc(c->table_size * sizeof *c->table);
    if (!c->table) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memset(c->table, 0xff, c->table_size * sizeof *c->table);
    for (int i = 0; i < c->n; i++) {
        size_t h = hash(c->e[i].t->name) & (c->table_size - 1);
        while (c->table[h] >= 0) {
            if (strcmp(c->e[c->table[h]].t->name, c->e[i].t->name) == 0) {
                snprintf(err, errlen, "%s: tensor '%s' appears twice",
                         c->shards[c->e[i].shard].path, c->e[i].t->name);
                return -1;
            }
            h = (h + 1) & (c->table_size - 1);
        }
        c->table[h] = i;
    }
    return 0;
}

/* Every tensor of every shard, in shard order. */
static int collect(checkpoint *c, char *err, size_t errlen)
{
    int total = 0;
    for (int s = 0; s < c->n_shards; s++) total += shard_count(&c->shards[s]);
    c->e = malloc((size_t)(total ? total : 1) * sizeof *c->e);
    if (!c->e) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int s = 0; s < c->n_shards; s++)
        for (int i = 0; i < shard_count(&c->shards[s]); i++)
            c->e[c->n++] = (entry){shard_tensor(&c->shards[s], i), s};
    return build_table(c, err, errlen);
}

/* Index of the tensor called name in e[], or -1. */
static int find(const checkpoint *c, const char *name)
{
    if (!c->table) return -1;
    size_t h = hash(name) & (c->table_size - 1);
    while (c->table[h] >= 0) {
        if (strcmp(c->e[c->table[h]].t->name, name) == 0) return c->table[h];
        h = (h + 1) & (c->table_size - 1);
    }
    return -1;
}

/* model.safetensors.index.json or pytorch_model.bin.index.json: {"weight_map": {name:
 * file}}; every named tensor must be in the shard the index says. */
static int open_index(checkpoint *c, const char *dir, const char *index, char *err, size_t errlen)
{
    tf_map m;
    if (tf_map_open(&m, index, err, errlen)) return -1;
    cJSON *root = NULL;
    int rc = -1;
    if (m.size > INDEX_MAX_BYTES) {
        snprintf(err, errlen, "%s: %llu bytes is too large for an index", index,
                 (unsigned long long)m.size);
        goto done;
    }
    root = cJSON_ParseWithLength((const char *)m.data, (size_t)m.size);
    const cJSON *wm = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    if (!cJSON_IsObject(wm)) {
        snprintf(err, errlen, "%s: no 'weight_map' object", index);
        goto done;
    }
    for (const cJSON *e = wm->child; e; e = e->next) {
        if (!cJSON_IsString(e) || strchr(e->valuestring, '/') || e->valuestring[0] == '.' ||
            !e->valuestring[0]) {
            snprintf(err, errlen, "%s: weight_map['%s'] is not a file name in the directory",
                     index, e->string);
            goto done;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->valuestring);
        if (!file_exists(path)) {
            snprintf(err, errlen, "%s: shard '%s' (of tensor '%s') is missing", index,
                     e->valuestring, e->string);
            goto done;
        }
        if (add_shard(c, path, err, errlen) < 0) goto done;
    }
    if (collect(c, err, errlen)) goto done;
    for (const cJSON *e = wm->child; e; e = e->next) {
        char want[4096];
        snprintf(want, sizeof want, "%s/%s", dir, e->valuestring);
        int i = find(c, e->string);
        if (i < 0 || strcmp(c->shards[c->e[i].shard].path, want) != 0) {
            snprintf(err, errlen, "%s: tensor '%s' is not in shard '%s'", index, e->string,
                     e->valuestring);
            goto done;
        }
    }
    rc = 0;
done:
    cJSON_Delete(root);
    tf_map_close(&m);
    return rc;
}

int ckpt_open(const char *dir, checkpoint **out, char *err, size_t errlen)
{
    *out = NULL;
    checkpoint *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "%s: out of memory", dir);
        return -1;
    }
    /* Preference: safetensors (what the community repos ship) before PyTorch pickles. */
    static const char *files[][2] = {{"model.safetensors.index.json", "index"},
                                     {"model.safetensors", "file"},
                                     {"pytorch_model.bin.index.json", "index"},
                                     {"pytorch_model.bin", "file"}};
    char path[4096];
    int rc = -1;
    size_t i;
    for (i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i][0]);
        if (!file_exists(path)) continue;
        if (files[i][1][0] == 'i') rc = open_index(c, dir, path, err, errlen);
        else rc = add_shard(c, path, err, errlen) < 0 ? -1 : collect(c, err, errlen);
        break;
    }
    if (i == sizeof files / sizeof *files)
        snprintf(err, errlen, "%s: no model.safetensors, model.safetensors.index.json, "
                              "pytorch_model.bin or pytorch_model.bin.index.json", dir);
    if (rc) {
        ckpt_close(c);
        return -1;
    }
    *out = c;
    return 0;
}

void ckpt_close(checkpoint *c)
{
    if (!c) return;
    for (int i = 0; i < c->n_shards; i++) {
        st_close(c->shards[i].st);
        torch_bin_close(c->shards[i].tb);
        free(c->shards[i].path);
    }
    free(c->shards);
    free(c->e);
    free(c->table);
    free(c);
}

int ckpt_count(const checkpoint *c) { return c->n; }
const tf_tensor *ckpt_tensor(const checkpoint *c, int i) { return c->e[i].t; }
int ckpt_shard_of(const checkpoint *c, int i) { return c->e[i].shard; }
int ckpt_shards(const checkpoint *c) { return c->n_shards; }
const char *ckpt_shard_path(const checkpoint *c, int shard) { return c->shards[shard].path; }

const tf_tensor *ckpt_find(const checkpoint *c, const char *name)
{
    int i = find(c, name);
    return i < 0 ? NULL : c->e[i].t;
}

int ckpt_intact(const checkpoint *c, char *err, size_t errlen)
{
    char *seen = calloc((size_t)c->n_shards + 1, 1);
    if (!seen) return snprintf(err, errlen, "out of memory"), 0;
    int ok = 1;
    for (int i = 0; i < c->n && ok; i++) {
        int s = c->e[i].shard;
        if (!seen[s]) seen[s] = 1, ok = tf_intact(ckpt_tensor(c, i)->data, err, errlen);
    }
    free(seen);
    return ok;
}
