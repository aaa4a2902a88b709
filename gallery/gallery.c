/* gallery.c: see gallery.h. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "gallery/gallery.h"
#include "gallery/image_write.h"

struct gallery {
    char dir[3072];
    char index[3200];
    pthread_mutex_t mu;       /* one index append at a time */
};

/* mkdir -p */
static int make_dirs(const char *dir, char *err, size_t errlen)
{
    char p[3072];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1;; s++) {
        char c = *s;
        if (c != '/' && c) continue;
        *s = 0;
        if (mkdir(p, 0755) && errno != EEXIST)
            return snprintf(err, errlen, "gallery %s: %s", p, strerror(errno)), -1;
        if (!c) return 0;
        *s = c;
    }
}

gallery *gallery_open(const char *dir, char *err, size_t errlen)
{
    if (!dir || !dir[0] || strlen(dir) > 3000)
        return snprintf(err, errlen, "gallery: a directory of at most 3000 bytes, please"), NULL;
    if (make_dirs(dir, err, errlen)) return NULL;
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode))
        return snprintf(err, errlen, "gallery %s: not a directory", dir), NULL;
    gallery *g = calloc(1, sizeof *g);
    if (!g) return snprintf(err, errlen, "out of memory"), NULL;
    snprintf(g->dir, sizeof g->dir, "%s", dir);
    snprintf(g->index, sizeof g->index, "%s/index.jsonl", dir);
    pthread_mutex_init(&g->mu, NULL);
    return g;
}

void gallery_close(gallery *g)
{
    if (!g) return;
    pthread_mutex_destroy(&g->mu);
    free(g);
}

const char *gallery_dir(const gallery *g) { return g->dir; }

static int valid_id(const char *id)
{
    if (!id || strlen(id) != GALLERY_ID_LEN) return 0;
    for (int i = 0; i < GALLERY_ID_LEN; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f'))) return 0;
    return 1;
}

int gallery_path(const gallery *g, const char *id, char *path, size_t n)
{
    if (!valid_id(id)) return -1;
    snprintf(path, n, "%s/%s.png", g->dir, id);
    return 0;
}

/* One index line, newline included (malloc'd), or NULL. */
static char *index_line(const gallery_entry *e)
{
    cJSON *o = cJSON_CreateObject();
    char seed[32], *s = NULL, *line = NULL;
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)e->seed);
    if (o && cJSON_AddStringToObject(o, "id", e->id) &&
        cJSON_AddStringToObject(o, "prompt", e->prompt ? e->prompt : "") &&
        cJSON_AddStringToObject(o, "seed", seed) && cJSON_AddNumberToObject(o, "cfg", e->cfg) &&
        cJSON_AddNumberToObject(o, "temperature", e->temperature) &&
        cJSON_AddStringToObject(o, "model", e->model ? e->model : "") &&
        cJSON_AddNumberToObject(o, "created", (double)e->created))
        s = cJSON_PrintUnformatted(o);
    if (s && (line = malloc(strlen(s) + 2))) sprintf(line, "%s\n", s);
    cJSON_free(s);
    cJSON_Delete(o);
    return line;
}

int gallery_add(gallery *g, const image *im, gallery_entry *e, char *err, size_t errlen)
{
    uint8_t r[GALLERY_ID_LEN / 2];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return snprintf(err, errlen, "gallery: no random id: %s", strerror(errno)), -1;
    for (int i = 0; i < GALLERY_ID_LEN / 2; i++) sprintf(e->id + 2 * i, "%02x", r[i]);
    e->created = (int64_t)time(NULL);
    char path[3200], seed[32], cfg[32], temp[32];
    gallery_path(g, e->id, path, sizeof path);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)e->seed);
    snprintf(cfg, sizeof cfg, "%g", e->cfg);
    snprintf(temp, sizeof temp, "%g", e->temperature);
    image_meta meta[] = {{"prompt", e->prompt ? e->prompt : ""}, {"seed", seed}, {"cfg", cfg},
                         {"temperature", temp}, {"model", e->model ? e->model : ""},
                         {"Software", "vkseek"}};
    image_write_opts wo = {0, meta, (int)(sizeof meta / sizeof *meta)};
    if (image_write(path, im, &wo, err, errlen)) return -1;
    char *line = index_line(e);
    if (!line) {
        unlink(path);
        return snprintf(err, errlen, "out of memory"), -1;
    }
    pthread_mutex_lock(&g->mu);
    int fd = open(g->index, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    struct stat st;
    int sized = fd >= 0 && !fstat(fd, &st), rc = !sized;
    size_t n = strlen(line);
    if (!rc) rc = write(fd, line, n) != (ssize_t)n || fsync(fd);
    if (rc) {
        snprintf(err, errlen, "gallery index %s: %s", g->index, strerror(errno ? errno : EIO));
        /* no partial line may stay behind to be joined with the next one */
        if (sized) (void)!ftruncate(fd, st.st_size);
    }
    if (fd >= 0) close(fd);
    pthread_mutex_unlock(&g->mu);
    free(line);
    if (rc) unlink(path);
    return rc ? -1 : 0;
}

void gallery_entries_free(gallery_entry *e, int n)
{
    for (int i = 0; e && i < n; i++) free(e[i].prompt), free(e[i].model);
    free(e);
}

/* An entry from one index line; 0 ok, -1 for a line to skip. */
static int parse_line(const char *line, gallery_entry *e)
{
    cJSON *o = cJSON_Parse(line);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "prompt");
    const cJSON *sd = cJSON_GetObjectItemCaseSensitive(o, "seed");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "cfg");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "temperature");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "model");
    const cJSON *cr = cJSON_GetObjectItemCaseSensitive(o, "created");
    int ok = cJSON_IsString(id) && valid_id(id->valuestring) && cJSON_IsString(p) &&
             cJSON_IsString(sd) && cJSON_IsNumber(c) && cJSON_IsNumber(t) && cJSON_IsString(m) &&
             cJSON_IsNumber(cr);
    if (ok) {
        memset(e, 0, sizeof *e);
        snprintf(e->id, sizeof e->id, "%s", id->valuestring);
        e->prompt = strdup(p->valuestring);
        e->model = strdup(m->valuestring);
        e->seed = strtoull(sd->valuestring, NULL, 10);
        e->cfg = c->valuedouble, e->temperature = t->valuedouble;
        e->created = (int64_t)cr->valuedouble;
        ok = e->prompt && e->model;
        if (!ok) free(e->prompt), free(e->model);
    }
    cJSON_Delete(o);
    return ok ? 0 : -1;
}

int gallery_list(gallery *g, int max, gallery_entry **out, char *err, size_t errlen)
{
    *out = NULL;
    if (max < 1) return 0;
    FILE *f = fopen(g->index, "r");
    if (!f) {
        if (errno == ENOENT) return 0;
        return snprintf(err, errlen, "gallery index %s: %s", g->index, strerror(errno)), -1;
    }
    /* a ring of the last max entries, then reversed */
    gallery_entry *ring = calloc((size_t)max, sizeof *ring);
    char *line = NULL;
    size_t cap = 0;
    long long n = 0;
    while (ring && getline(&line, &cap, f) > 0) {
        gallery_entry e;
        if (parse_line(line, &e)) continue;
        gallery_entry *slot = &ring[n % max];
        if (n >= max) free(slot->prompt), free(slot->model);
        *slot = e;
        n++;
    }
    free(line);
    fclose(f);
    if (!ring) return snprintf(err, errlen, "out of memory"), -1;
    int k = n < max ? (int)n : max;
    gallery_entry *res = calloc((size_t)(k ? k : 1), sizeof *res);
    if (!res) {
        gallery_entries_free(ring, k);
        return snprintf(err, errlen, "out of memory"), -1;
    }
    for (int i = 0; i < k; i++) res[i] = ring[(n - 1 - i) % max];
    free(ring);
    *out = res;
    return k;
}
