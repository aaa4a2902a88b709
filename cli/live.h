/* live.h: the preview side of `vkseek generate --preview`: a window that shows the pictures
 * forming (partial VQ decodes between the scheduler's steps, on a time budget), their
 * progress in its title, and the keys. generate.c drives the steps and writes the files. */
#ifndef VKSEEK_LIVE_H
#define VKSEEK_LIVE_H

#include "engine/generate.h"
#include "engine/janus.h"

typedef struct live live;

typedef enum { LIVE_NONE, LIVE_SAVE, LIVE_AGAIN, LIVE_CLOSE } live_action;

/* Before the model opens the GPU: 0 when a window can be opened later, else -1 after one
 * line saying why the preview is unavailable (the generation goes on without it). */
int live_init(void);
/* The window for n pictures at a time; NULL after one line saying why. */
live *live_open(gpu_ctx *ctx, janus *j, int n);
void live_close(live *l);
void live_terminate(void);

/* A new generation of prompt with seeds seed.. (what the title shows). */
void live_start(live *l, const char *prompt, uint64_t seed);
/* The generation's events (call from its sink): codes so far, finished pictures. */
void live_event(live *l, const gen_event *e);
/* The pictures are drawn and, unless they only were drawn again, written: the title says
 * so and S saves from now on. Not at the generation's end: the title is what a user (and
 * test_preview) takes as the sign that the files exist. */
void live_finished(live *l);
/* Between steps: a new partial frame when due (a new grid row of codes is drawn, and
 * previewing, this frame included, stays under 7% of the generation's time), then the
 * window's
 * events. Waits up to wait_s for a key when wait_s > 0. Pausing (Space) is handled here:
 * while live_paused, do not step. LIVE_CLOSE also when drawing failed (err set). */
live_action live_tick(live *l, double wait_s, char *err, size_t len);
int live_paused(const live *l);

#endif
