/* live.c: the preview window of `vkseek generate --preview`. Between the scheduler's steps it
 * decodes the code rows drawn so far of one picture (alone: a frame costs that fraction of a
 * whole decode; below them, the median colour of what is drawn, which reads as the
 * background), the pictures in turn, and shows the n pictures tiled; finished pictures
 * replace their partial ones as they arrive. Frames
 * are paced so that previewing costs at most PREVIEW_SHARE of the generation's time (a row
 * is assumed to cost what it did in the last frame): a fast decoder shows every new row, a
 * slow one fewer frames. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli/live.h"
#include "gallery/preview.h"

#define PREVIEW_SHARE 0.07 /* of the generation's time: the 10% it may cost, less what is
                            * not counted (window events, the X server drawing) */

struct live {
    preview *pv;
    janus *j;
    int n, S, T, g;         /* pictures, their side, codes per picture, codes per grid row */
    int32_t *codes;         /* [n][T]: the latest progress */
    int step, shown;        /* codes drawn; code rows shown in the last partial frame */
    int next;               /* the picture the next partial frame decodes (one per frame) */
    int n_done, dirty;      /* finished pictures; a finished one not shown yet */
    uint8_t *rgb, *part;    /* [n][S][S][3] shown; one picture's rows decoded */
    uint8_t *tile;          /* the grid shown, tw x th */
    int tw, th;
    double t0, spent, row_cost, last_title, paused_at; /* row_cost: in the last frame */
    int running, paused;
    char prompt[96], shown_title[256];
    uint64_t seed;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int live_init(void)
{
    char why[512];
    if (preview_init(why, sizeof why) == 0) return 0;
    fprintf(stderr, "vkseek: preview unavailable: %s; generating without it\n", why);
    return -1;
}

void live_terminate(void) { preview_terminate(); }

live *live_open(gpu_ctx *ctx, janus *j, int n)
{
    live *l = calloc(1, sizeof *l);
    char why[512] = "out of memory";
    if (!l) goto fail;
    l->j = j, l->n = n, l->S = janus_image_size(j), l->T = janus_image_tokens(j);
    for (l->g = 1; (l->g + 1) * (l->g + 1) <= l->T; l->g++) {}
    size_t tile_bytes = preview_tile_size(n, l->S, &l->tw, &l->th);
    l->codes = calloc((size_t)n * l->T, sizeof *l->codes);
    l->rgb = calloc((size_t)n * l->S * l->S, 3);
    l->part = calloc((size_t)l->S * l->S, 3);
    l->tile = malloc(tile_bytes);
    if (!l->codes || !l->rgb || !l->part || !l->tile) goto fail;
    if (!(l->pv = preview_open(ctx, l->tw, l->th, 1, "vkseek", why, sizeof why))) goto fail;
    return l;
fail:
    fprintf(stderr, "vkseek: preview unavailable: %s; generating without it\n", why);
    live_close(l);
    return NULL;
}

void live_close(live *l)
{
    if (!l) return;
    preview_close(l->pv);
    free(l->codes), free(l->rgb), free(l->part), free(l->tile);
    free(l);
}

void live_start(live *l, const char *prompt, uint64_t seed)
{
    size_t n = strlen(prompt), keep = n < sizeof l->prompt ? n : sizeof l->prompt - 4;
    while (keep < n && (prompt[keep] & 0xc0) == 0x80) keep--;  /* whole UTF-8 characters */
    snprintf(l->prompt, sizeof l->prompt, "%.*s%s", (int)keep, prompt, keep < n ? "..." : "");
    l->seed = seed;
    l->step = l->shown = l->next = l->n_done = l->dirty = 0;
    l->t0 = now(), l->spent = 0, l->last_title = 0; /* l->row_cost carries over: a good guess */
    l->running = 1, l->paused = 0;
    memset(l->rgb, 40, (size_t)l->n * l->S * l->S * 3); /* dark grey until decoded */
}

void live_event(live *l, const gen_event *e)
{
    if (e->kind == GEN_IMAGE_PROGRESS && e->n_images == l->n && e->total == l->T) {
        memcpy(l->codes, e->codes, (size_t)l->n * l->T * sizeof *l->codes);
        l->step = e->step;
    } else if (e->kind == GEN_IMAGE_DONE && e->image < l->n && e->size == l->S) {
        memcpy(l->rgb + (size_t)e->image * l->S * l->S * 3, e->rgb, (size_t)l->S * l->S * 3);
        l->n_done++, l->dirty = 1;
    }
}

/* Picture i: its h decoded pixel rows (in l->part) on top, the rest of it the per-channel
 * median of those. */
static void compose(live *l, int i, int h)
{
    size_t row = (size_t)l->S * 3, top = h * row;
    const uint8_t *src = l->part;
    uint8_t *dst = l->rgb + (size_t)i * l->S * row, med[3];
    for (int c = 0; c < 3; c++) {
        size_t hist[256] = {0}, seen = 0;
        for (size_t k = c; k < top; k += 3) hist[src[k]]++;
        int v = 0;
        while (v < 255 && (seen += hist[v]) * 2 < top / 3) v++;
        med[c] = (uint8_t)v;
    }
    memcpy(dst, src, top);
    for (size_t k = top; k < l->S * row; k += 3) memcpy(dst + k, med, 3);
}

static void title(live *l)
{
    char t[256];
    double dt = now() - l->t0;
    if (l->running && l->paused) {
        snprintf(t, sizeof t, "vkseek - paused at %d/%d (Space resumes) - %s", l->step, l->T, l->prompt);
    } else if (l->running) {
        double rate = l->step / (dt > 1e-6 ? dt : 1e-6);
        snprintf(t, sizeof t, "vkseek - %d/%d tokens - %.1f tokens/s - ETA %.0f s - %s", l->step,
                 l->T, rate, rate > 0 ? (l->T - l->step) / rate : 0.0, l->prompt);
    } else {
        snprintf(t, sizeof t, "vkseek - seed %llu - S save, R again, Q quit - %s",
                 (unsigned long long)l->seed, l->prompt);
    }
    if (strcmp(t, l->shown_title)) preview_title(l->pv, t);
    snprintf(l->shown_title, sizeof l->shown_title, "%s", t);
    l->last_title = now();
}

/* A new frame: the rows drawn so far decoded (when due), finished pictures as they are. */
static int frame(live *l, char *err, size_t len)
{
    double t = now();
    int rows = l->step / l->g;
    /* (all codes drawn: the scheduler decodes the finished pictures itself) */
    int due = l->running && l->step < l->T && (rows > l->shown || l->next) &&
              l->spent + rows * l->row_cost <= PREVIEW_SHARE * (t - l->t0);
    /* finished pictures: at once when all are, else within the same budget */
    int done = l->dirty && (l->n_done == l->n || l->spent <= PREVIEW_SHARE * (t - l->t0));
    if (!due && !done) return 0;
    if (due) {
        /* one picture a frame, in turn: the frames stay cheap, the grid stays fresh */
        int i = l->next;
        if (janus_decode_rows(l->j, l->codes + (size_t)i * l->T, 1, rows, l->part, err, len))
            return -1;
        compose(l, i, rows * (l->S / l->g));
        l->next = (i + 1) % l->n;
        l->shown = rows;
    }
    l->dirty = 0;
    preview_tile(l->rgb, l->n, l->S, l->tile);
    int rc = preview_show(l->pv, l->tile, l->tw, l->th, err, len);
    if (due) l->row_cost = (now() - t) / rows;
    l->spent += now() - t;
    return rc;
}

live_action live_tick(live *l, double wait_s, char *err, size_t len)
{
    if (frame(l, err, len)) return LIVE_CLOSE;
    if (now() - l->last_title > 0.25 || !l->running) title(l);
    for (;;) {
        preview_event e = preview_poll(l->pv, wait_s, err, len);
        wait_s = 0;
        switch (e) {
        case PREVIEW_NONE: return LIVE_NONE;
        case PREVIEW_CLOSE: return LIVE_CLOSE;
        case PREVIEW_AGAIN: return LIVE_AGAIN;
        case PREVIEW_SAVE:
            if (!l->running) return LIVE_SAVE;
            snprintf(l->shown_title, sizeof l->shown_title, "%s",
                     "vkseek - S saves once the pictures are finished");
            preview_title(l->pv, l->shown_title);
            l->last_title = now() + 1.5; /* keep the notice up a moment */
            break;
        case PREVIEW_PAUSE:
            if (!l->running) break;
            if ((l->paused = !l->paused)) l->paused_at = now();
            else l->t0 += now() - l->paused_at; /* the rate and budget count running time */
            title(l);
            break;
        default: break;
        }
    }
}

void live_finished(live *l)
{
    l->running = l->paused = 0;
    title(l);
}

int live_paused(const live *l) { return l->paused; }
