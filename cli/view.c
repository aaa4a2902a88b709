/* view.c: `vkseek view FILE|DIR...`: PNG and JPEG pictures in the preview window (a directory
 * gives its pictures in name order, e.g. a `serve --gallery` directory). Right/Left (or
 * Down/Up, Page Down/Up) move, Esc/Q closes. The title names the file and, for pictures
 * vkseek wrote, the prompt and seed from their PNG text chunks. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "cli/cli.h"
#include "gallery/image_write.h"
#include "gallery/preview.h"
#include "vision/image.h"

#define MAX_FILES 100000

static const char usage[] =
    "usage: vkseek view FILE|DIR...   show pictures (.png, .jpg, .jpeg; a directory: its\n"
    "                                 pictures by name); Right/Left move, Esc/Q close\n"
    "  --device N       Vulkan device\n";

typedef struct {
    char **path;
    int n, cap;
} file_list;

static int add(file_list *l, const char *path)
{
    if (l->n == MAX_FILES) return cli_error("more than %d pictures", MAX_FILES);
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        char **p = realloc(l->path, (size_t)cap * sizeof *p);
        if (!p) return cli_error("out of memory");
        l->path = p, l->cap = cap;
    }
    if (!(l->path[l->n] = strdup(path))) return cli_error("out of memory");
    l->n++;
    return 0;
}

static int is_picture(const char *name)
{
    const char *ext = strrchr(name, '.');
    return ext && (!strcasecmp(ext, ".png") || !strcasecmp(ext, ".jpg") || !strcasecmp(ext, ".jpeg"));
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A file as given; a directory's pictures in name order. */
static int collect(file_list *l, const char *arg)
{
    struct stat st;
    if (stat(arg, &st)) return cli_error("%s: %s", arg, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return add(l, arg);
    DIR *d = opendir(arg);
    if (!d) return cli_error("%s: %s", arg, strerror(errno));
    int first = l->n, rc = 0;
    for (struct dirent *e; !rc && (e = readdir(d));) {
        if (e->d_name[0] == '.' || !is_picture(e->d_name)) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", arg, e->d_name);
        rc = add(l, path);
    }
    closedir(d);
    if (!rc && l->n == first) return cli_error("%s: no .png or .jpg pictures in it", arg);
    qsort(l->path + first, (size_t)(l->n - first), sizeof *l->path, by_name);
    return rc;
}

/* "name - prompt (seed S) [i/n]" */
static void make_title(const char *path, int i, int n, char *t, size_t len)
{
    const char *slash = strrchr(path, '/'), *prompt = NULL, *seed = NULL;
    image_text tx = {0};
    char err[256];
    const char *ext = strrchr(path, '.');
    if (ext && !strcasecmp(ext, ".png") && image_read_png_text(path, &tx, err, sizeof err) == 0)
        for (int k = 0; k < tx.n; k++) {
            if (!strcmp(tx.keys[k], "prompt")) prompt = tx.values[k];
            if (!strcmp(tx.keys[k], "seed")) seed = tx.values[k];
        }
    int o = snprintf(t, len, "%s", slash ? slash + 1 : path);
    if (prompt && o < (int)len) o += snprintf(t + o, len - o, " - %s", prompt);
    if (seed && o < (int)len) o += snprintf(t + o, len - o, " (seed %s)", seed);
    if (o < (int)len) snprintf(t + o, len - o, " [%d/%d]", i + 1, n);
    image_text_free(&tx);
}

int cmd_view(int argc, char **argv)
{
    int device = cli_device_arg(&argc, argv);
    if (device == -2) return cli_error("--device needs a device index");
    file_list files = {0};
    int rc = 0;
    for (int i = 1; i < argc && !rc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return fputs(usage, stdout), 0;
        rc = argv[i][0] == '-' ? cli_error("view: unknown option %s", argv[i]) : collect(&files, argv[i]);
    }
    if (!rc && !files.n) rc = cli_error("view: which pictures? give files or directories");
    char why[512], err[512];
    image im = {0};
    gpu_ctx *ctx = NULL;
    preview *pv = NULL;
    int cur = 0, shown = -1, inited = 0;
    if (!rc && preview_init(why, sizeof why)) rc = cli_error("view: %s", why);
    inited = !rc;
    if (!rc && !(ctx = gpu_open(device))) rc = cli_error("%s", gpu_errmsg());
    while (!rc) {
        if (cur != shown) {
            char title[1024];
            image_free(&im);
            if (image_load(files.path[cur], &im, err, sizeof err)) {
                if (!pv) { /* nothing to show yet: the first picture must open */
                    rc = cli_error("%s", err);
                    break;
                }
                snprintf(title, sizeof title, "%s [%d/%d]", err, cur + 1, files.n);
                preview_title(pv, title); /* the previous picture stays */
                shown = cur;
                continue;
            }
            if (!pv && !(pv = preview_open(ctx, im.w, im.h, 0, "vkseek", why, sizeof why))) {
                rc = cli_error("view: %s", why);
                break;
            }
            make_title(files.path[cur], cur, files.n, title, sizeof title);
            preview_title(pv, title);
            if (preview_show(pv, im.rgb, im.w, im.h, err, sizeof err)) {
                rc = cli_error("%s", err);
                break;
            }
            shown = cur;
        }
        err[0] = 0;
        preview_event e = preview_poll(pv, 0.25, err, sizeof err);
        if (e == PREVIEW_CLOSE) {
            if (err[0]) rc = cli_error("%s", err);
            break;
        }
        if (e == PREVIEW_NEXT && cur + 1 < files.n) cur++;
        if (e == PREVIEW_PREV && cur > 0) cur--;
    }
    image_free(&im);
    preview_close(pv);
    gpu_close(ctx);
    if (inited) preview_terminate();
    for (int i = 0; i < files.n; i++) free(files.path[i]);
    free(files.path);
    return rc;
}
