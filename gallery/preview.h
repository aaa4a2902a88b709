/* preview.h: the window that shows pictures while they form (`vkseek generate --preview`)
 * and saved ones (`vkseek view`). GLFW makes the window and reads the keys; gpu/'s swapchain
 * draws. Single-threaded: every call from the thread that called preview_init. */
#ifndef VKSEEK_PREVIEW_H
#define VKSEEK_PREVIEW_H

#include <stddef.h>
#include <stdint.h>
#include "gpu/gpu.h"

typedef enum {
    PREVIEW_NONE,
    PREVIEW_SAVE,    /* S */
    PREVIEW_AGAIN,   /* R */
    PREVIEW_PAUSE,   /* Space */
    PREVIEW_NEXT,    /* Right, Down, Page Down */
    PREVIEW_PREV,    /* Left, Up, Page Up */
    PREVIEW_CLOSE    /* Esc, Q, or the window closed */
} preview_event;

typedef struct preview preview;

/* Starts the window system and lets the next gpu_open present; call before the GPU opens.
 * 0, or -1 with why (no DISPLAY/WAYLAND_DISPLAY, GLFW failed, Vulkan cannot present). */
int preview_init(char *why, size_t len);
void preview_terminate(void);

/* A window sized for w x h pictures (enlarged by a whole factor to about 60% of the screen's
 * height, or shrunk to fit it), keeping their aspect when resized if lock_aspect. NULL with
 * why. */
preview *preview_open(gpu_ctx *ctx, int w, int h, int lock_aspect, const char *title, char *why,
                      size_t len);
void preview_close(preview *p);

/* Shows rgb [h][w][3] (shrunk, bicubic, when a side passes 4096); the window keeps it and
 * draws it again after a resize. 0, or -1 with err (the device was lost, ...).
 * $VKSEEK_PREVIEW_DUMP=DIR also writes each picture shown as DIR/frame-NNNN.png, for tests. */
int preview_show(preview *p, const uint8_t *rgb, int w, int h, char *err, size_t len);
void preview_title(preview *p, const char *title);

/* Handles window events, waiting up to wait_s seconds for one (0: no wait); returns the
 * first key action, PREVIEW_CLOSE once the window is closed, or PREVIEW_NONE. */
preview_event preview_poll(preview *p, double wait_s, char *err, size_t len);

/* n pictures of s x s in a grid of ceil(sqrt(n)) columns: out [h][w][3], 2-pixel dark
 * gaps; out holds preview_tile_size's bytes. */
size_t preview_tile_size(int n, int s, int *w, int *h);
void preview_tile(const uint8_t *rgb, int n, int s, uint8_t *out);

#endif
