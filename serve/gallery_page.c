/* gallery_page.c: GET /gallery, an HTML page of the saved images, newest first, with their
 * prompt, seed and time; and GET /gallery/ID.png, the files (ids only, never paths). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "serve/internal.h"

#define PAGE_MAX 500

static void html_escaped(buf *b, const char *s)
{
    for (; *s; s++) {
        const char *e = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;"
                        : *s == '"' ? "&quot;" : *s == '\'' ? "&#39;" : NULL;
        if (e) buf_add(b, e, strlen(e));
        else buf_add(b, s, 1);
    }
}

enum MHD_Result page_gallery(server *sv, struct MHD_Connection *c)
{
    char err[512];
    gallery_entry *e;
    int n = gallery_list(sv->g, PAGE_MAX, &e, err, sizeof err);
    if (n < 0) return reply_error(sv, c, 500, NULL, NULL, "%s", err);
    buf b = {0};
    buf_printf(&b, "<!doctype html><html><head><meta charset=\"utf-8\"><title>vkseek gallery</title>"
                   "<style>body{font-family:sans-serif;background:#111;color:#ddd;margin:2em}"
                   "figure{display:inline-block;width:256px;margin:0 1em 1em 0;vertical-align:top}"
                   "img{width:256px;height:256px;image-rendering:pixelated;background:#222}"
                   "figcaption{font-size:13px}small{color:#888}</style></head><body>"
                   "<h1>vkseek gallery</h1><p>%d image%s, newest first</p>\n", n, n == 1 ? "" : "s");
    for (int i = 0; i < n; i++) {
        char when[64];
        time_t t = (time_t)e[i].created;
        struct tm tm;
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&t, &tm));
        buf_printf(&b, "<figure><a href=\"/gallery/%s.png\"><img src=\"/gallery/%s.png\" alt=\"\"></a>"
                       "<figcaption>", e[i].id, e[i].id);
        html_escaped(&b, e[i].prompt);
        buf_printf(&b, "<br><small>seed %llu, cfg %g, temperature %g, ", (unsigned long long)e[i].seed,
                   e[i].cfg, e[i].temperature);
        html_escaped(&b, e[i].model);
        buf_printf(&b, ", %s</small></figcaption></figure>\n", when);
    }
    buf_printf(&b, "</body></html>\n");
    gallery_entries_free(e, n);
    enum MHD_Result rc = b.data ? reply(sv, c, 200, "text/html; charset=utf-8", b.data, b.len)
                                : reply_error(sv, c, 500, NULL, NULL, "out of memory");
    buf_free(&b);
    return rc;
}

enum MHD_Result file_gallery(server *sv, struct MHD_Connection *c, const char *name)
{
    char id[GALLERY_ID_LEN + 1] = "", path[4096];
    size_t l = strlen(name);
    if (l == GALLERY_ID_LEN + 4 && !strcmp(name + GALLERY_ID_LEN, ".png"))
        memcpy(id, name, GALLERY_ID_LEN);
    int fd = gallery_path(sv->g, id, path, sizeof path) ? -1 : open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st)) {
        if (fd >= 0) close(fd);
        return reply_error(sv, c, 404, NULL, "not_found", "no gallery image %.64s", name);
    }
    struct MHD_Response *r = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
    if (!r) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "image/png");
    MHD_add_response_header(r, "Cache-Control", "public, max-age=31536000, immutable");
    enum MHD_Result rc = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    count_status(sv, 200);
    return rc;
}
