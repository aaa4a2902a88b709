/* live.c: the preview window of `vkseek generate --preview`. Between the scheduler's steps it
 * decodes the codes drawn so far (the rest filled with each picture's most common code so
 * far, which reads as its background) and shows the n pictures tiled; finished pictures
 * replace their partial ones as they arrive. Frames are paced so that previewing costs at
 * most PREVIEW_SHARE of the generation's time (the next frame is assumed to cost what the
 * last did): a fast decoder shows every row of codes, a slow one fewer frames. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli/live.h"
#include "gallery/preview.h"

#define PREVIEW_SHARE 0.10 /* of the generation's time, at most, after the first frame */

struct live {
    preview *pv;
    janus *j;
    int n, S, T, row;       /* pictures, their side, codes per picture, codes per grid row */
    int32_t *codes;         /* [n][T]: the latest progress */
    int32_t *filled;        /* the same with the undrawn codes filled */
    int step, shown;        /* codes drawn; codes drawn at the last partial frame */
    int n_done, dirty;      /* finished pictures; a finished one not shown yet */
    uint8_t *rgb, *tile;    /* [n][S][S][3]; the grid shown */
    size_t tile_bytes;
    int tw, th;
    double t0, spent, cost, last_title, paused_at; /* cost: the last frame's */
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
    for (l->row = 1; (l->row + 1) * (l->row + 1) <= l->T; l->row++) {}
    l->tile_bytes = preview_tile_size(n, l->S, &l->tw, &l->th);
    l->codes = calloc((size_t)n * l->T, sizeof *l->codes);
    l->filled = calloc((size_t)n * l->T, sizeof *l->filled);
    l->rgb = calloc((size_t)n * l->S * l->S, 3);
    l->tile = malloc(l->tile_bytes);
    if (!l->codes || !l->filled || !l->rgb || !l->tile) goto fail;
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
    free(l->codes), free(l->filled), free(l->rgb), free(l->tile);
    free(l);
}

void live_start(live *l, const char *prompt, uint64_t seed)
{
    size_t n = strlen(prompt), keep = n < sizeof l->prompt ? n : sizeof l->prompt - 4;
    while (keep < n && (prompt[keep] & 0xc0) == 0x80) keep--;  /* whole UTF-8 characters */
    snprintf(l->prompt, sizeof l->prompt, "%.*s%s", (int)keep, prompt, keep < n ? "..." : "");
    l->seed = seed;
    l->step = l->shown = l->n_done = l->dirty = 0;
    l->t0 = now(), l->spent = 0, l->last_title = 0; /* l->cost carries over: a good guess */
    l->running = 1, l->paused = 0;
    memset(l->rgb, 0, (size_t)l->n * l->S * l->S * 3);
}

void live_event(live *l, const gen_event *e)
{
    if (e->kind == GEN_IMAGE_PROGRESS && e->n_images == l->n && e->total == l->T) {
        memcpy(l->codes, e->codes, (size_t)l->n * l->T * sizeof *l->codes);
        l->step = e->step;
    } else if (e->kind == GEN_IMAGE_DONE && e->image < l->n && e->size == l->S) {
        memcpy(l->rgb + (size_t)e->image * l->S * l->S * 3, e->rgb, (size_t)l->S * l->S * 3);
        l->n_done++, l->dirty = 1;
    } else if (e->kind == GEN_END) {
        l->running = 0;
    }
}

/* Each picture's undrawn codes set to its most common drawn code. */
static void fill(live *l)
{
    for (int i = 0; i < l->n; i++) {
        const int32_t *c = l->codes + (size_t)i * l->T;
        int32_t *f = l->filled + (size_t)i * l->T, best = c[0];
        int best_n = 0;
        memcpy(f, c, (size_t)l->step * sizeof *f);
        for (int a = 0; a < l->step; a++) {   /* T is small (576 at most): quadratic is fine */
            int k = 0;
            for (int b = 0; b < l->step; b++) k += c[b] == c[a];
            if (k > best_n) best = c[a], best_n = k;
        }
        for (int a = l->step; a < l->T; a++) f[a] = best;
    }
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

/* A new frame: the partial pictures decoded (when due), the finished ones as they are. */
static int frame(live *l, char *err, size_t len)
{
    double t = now();
    /* (all codes drawn: the scheduler decodes the finished pictures itself) */
    int due = l->running && l->step < l->T && l->step >= l->shown + l->row &&
              l->spent + l->cost <= PREVIEW_SHARE * (t - l->t0);
    if (!due && !l->dirty) return 0;
    if (due) {
        fill(l);
        if (janus_decode(l->j, l->filled, l->n, l->rgb, err, len)) return -1;
        l->shown = l->step;
    }
    l->dirty = 0;
    preview_tile(l->rgb, l->n, l->S, l->tile);
    int rc = preview_show(l->pv, l->tile, l->tw, l->th, err, len);
    l->cost = now() - t;
    l->spent += l->cost;
    return rc;
}

live_action live_tick(live *l, int running, double wait_s, char *err, size_t len)
{
    if (!running && l->running) l->running = 0;
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

int live_paused(const live *l) { return l->paused; }
