/* preview.c: the preview and viewer window: GLFW for the window and its keys, gpu_window
 * (gpu/present.c) to draw. The last picture is kept so a resize or an expose redraws it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <GLFW/glfw3.h>
#include "gallery/image_write.h"
#include "gallery/preview.h"
#include "vision/preprocess.h"

#define KEY_QUEUE 16
#define MAX_SIDE 4096   /* the image side every Vulkan device supports */

struct preview {
    GLFWwindow *win;
    gpu_window *gw;
    uint8_t *rgb;               /* the picture shown, kept for redraws */
    int w, h;
    int redraw;                 /* resized or exposed since the last draw */
    preview_event keys[KEY_QUEUE];
    int n_keys;
    int dumped;                 /* frames written to $VKSEEK_PREVIEW_DUMP */
};

static char glfw_why[256];

static void on_glfw_error(int code, const char *what)
{
    snprintf(glfw_why, sizeof glfw_why, "%s (GLFW error 0x%x)", what, code);
}

int preview_init(char *why, size_t len)
{
    const char *x = getenv("DISPLAY"), *wl = getenv("WAYLAND_DISPLAY");
    if ((!x || !*x) && (!wl || !*wl)) {
        snprintf(why, len, "no display (DISPLAY and WAYLAND_DISPLAY are unset)");
        return -1;
    }
    glfwSetErrorCallback(on_glfw_error);
    if (!glfwInit()) {
        snprintf(why, len, "GLFW could not start: %s", glfw_why[0] ? glfw_why : "unknown error");
        return -1;
    }
    if (gpu_enable_display()) {
        snprintf(why, len, "%s", gpu_errmsg());
        glfwTerminate();
        return -1;
    }
    return 0;
}

void preview_terminate(void) { glfwTerminate(); }

static void push(preview *p, preview_event e)
{
    if (p->n_keys < KEY_QUEUE) p->keys[p->n_keys++] = e;
}

static void on_key(GLFWwindow *win, int key, int scancode, int action, int mods)
{
    (void)scancode, (void)mods;
    preview *p = glfwGetWindowUserPointer(win);
    if (action != GLFW_PRESS && !(action == GLFW_REPEAT && (key == GLFW_KEY_RIGHT || key == GLFW_KEY_LEFT)))
        return;
    switch (key) {
    case GLFW_KEY_S: push(p, PREVIEW_SAVE); break;
    case GLFW_KEY_R: push(p, PREVIEW_AGAIN); break;
    case GLFW_KEY_SPACE: push(p, PREVIEW_PAUSE); break;
    case GLFW_KEY_RIGHT: case GLFW_KEY_DOWN: case GLFW_KEY_PAGE_DOWN: push(p, PREVIEW_NEXT); break;
    case GLFW_KEY_LEFT: case GLFW_KEY_UP: case GLFW_KEY_PAGE_UP: push(p, PREVIEW_PREV); break;
    case GLFW_KEY_ESCAPE: case GLFW_KEY_Q: push(p, PREVIEW_CLOSE); break;
    default: break;
    }
}

static void on_resize(GLFWwindow *win, int w, int h)
{
    (void)w, (void)h;
    ((preview *)glfwGetWindowUserPointer(win))->redraw = 1;
}

static void on_refresh(GLFWwindow *win) { ((preview *)glfwGetWindowUserPointer(win))->redraw = 1; }

preview *preview_open(gpu_ctx *ctx, int w, int h, int lock_aspect, const char *title, char *why,
                      size_t len)
{
    preview *p = calloc(1, sizeof *p);
    if (!p) return snprintf(why, len, "out of memory"), NULL;
    /* a whole enlargement to about 60% of the screen's height */
    int side = 768;
    const GLFWvidmode *mode = glfwGetPrimaryMonitor() ? glfwGetVideoMode(glfwGetPrimaryMonitor()) : NULL;
    if (mode) side = mode->height;
    int big = w > h ? w : h;
    double k = floor(0.6 * side / big);
    if (k < 1) k = 0.8 * side / big < 1 ? 0.8 * side / big : 1; /* big pictures: shrunk to fit */
    glfwWindowHint(GLFW_CLIENT_API, GLFW_NO_API);
    glfwWindowHint(GLFW_SCALE_TO_MONITOR, GLFW_TRUE);   /* HiDPI: same size on screen */
    glfw_why[0] = 0;
    int ww = (int)(w * k), wh = (int)(h * k);
    p->win = glfwCreateWindow(ww > 1 ? ww : 1, wh > 1 ? wh : 1, title, NULL, NULL);
    if (!p->win) {
        snprintf(why, len, "cannot open a window: %s", glfw_why[0] ? glfw_why : "unknown error");
        free(p);
        return NULL;
    }
    glfwSetWindowUserPointer(p->win, p);
    if (lock_aspect) glfwSetWindowAspectRatio(p->win, w, h);
    glfwSetKeyCallback(p->win, on_key);
    glfwSetFramebufferSizeCallback(p->win, on_resize);
    glfwSetWindowRefreshCallback(p->win, on_refresh);
    if (!(p->gw = gpu_window_new(ctx, p->win))) {
        snprintf(why, len, "%s", gpu_errmsg());
        preview_close(p);
        return NULL;
    }
    return p;
}

void preview_close(preview *p)
{
    if (!p) return;
    gpu_window_free(p->gw);
    if (p->win) glfwDestroyWindow(p->win);
    free(p->rgb);
    free(p);
}

static int draw(preview *p, char *err, size_t len)
{
    /* 1: skipped (minimised, or a new swapchain for a new size): one more try, then wait
     * for the next resize or expose to draw */
    int rc = gpu_window_show(p->gw, p->rgb, p->w, p->h);
    if (rc == 1) rc = gpu_window_show(p->gw, p->rgb, p->w, p->h);
    if (rc < 0) return snprintf(err, len, "preview: %s", gpu_errmsg()), -1;
    p->redraw = rc == 1;
    return 0;
}

static void dump(preview *p)
{
    const char *dir = getenv("VKSEEK_PREVIEW_DUMP");
    if (!dir || !*dir) return;
    char path[4096], err[256];
    snprintf(path, sizeof path, "%s/frame-%04d.png", dir, ++p->dumped);
    image im = {p->w, p->h, p->rgb};
    if (image_write(path, &im, NULL, err, sizeof err))
        fprintf(stderr, "vkseek: VKSEEK_PREVIEW_DUMP: %s\n", err);
}

int preview_show(preview *p, const uint8_t *rgb, int w, int h, char *err, size_t len)
{
    image small = {0};
    if (w > MAX_SIDE || h > MAX_SIDE) { /* past every device's image size limit: shrunk */
        image in = {w, h, (uint8_t *)rgb};
        if (janus_resize(&in, MAX_SIDE, &small, err, len)) return -1;
        rgb = small.rgb, w = small.w, h = small.h;
    }
    if (w != p->w || h != p->h) {
        uint8_t *n = realloc(p->rgb, (size_t)w * h * 3);
        if (!n) return image_free(&small), snprintf(err, len, "out of memory"), -1;
        p->rgb = n, p->w = w, p->h = h;
    }
    memcpy(p->rgb, rgb, (size_t)w * h * 3);
    image_free(&small);
    dump(p);
    return draw(p, err, len);
}

void preview_title(preview *p, const char *title) { glfwSetWindowTitle(p->win, title); }

preview_event preview_poll(preview *p, double wait_s, char *err, size_t len)
{
    if (wait_s > 0 && !p->n_keys) glfwWaitEventsTimeout(wait_s);
    else glfwPollEvents();
    if (glfwWindowShouldClose(p->win)) return PREVIEW_CLOSE;
    if (p->redraw && p->rgb && draw(p, err, len)) return PREVIEW_CLOSE;
    if (!p->n_keys) return PREVIEW_NONE;
    preview_event e = p->keys[0];
    memmove(p->keys, p->keys + 1, --p->n_keys * sizeof *p->keys);
    return e;
}

#define GAP 2

size_t preview_tile_size(int n, int s, int *w, int *h)
{
    int cols = (int)ceil(sqrt((double)n)), rows = (n + cols - 1) / cols;
    *w = cols * s + (cols - 1) * GAP;
    *h = rows * s + (rows - 1) * GAP;
    return (size_t)*w * *h * 3;
}

void preview_tile(const uint8_t *rgb, int n, int s, uint8_t *out)
{
    int w, h, cols = (int)ceil(sqrt((double)n));
    memset(out, 30, preview_tile_size(n, s, &w, &h));
    for (int i = 0; i < n; i++) {
        int x0 = (i % cols) * (s + GAP), y0 = (i / cols) * (s + GAP);
        for (int y = 0; y < s; y++)
            memcpy(out + ((size_t)(y0 + y) * w + x0) * 3, rgb + ((size_t)i * s * s + (size_t)y * s) * 3,
                   (size_t)s * 3);
    }
}
