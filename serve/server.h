/* server.h: `vkseek serve`, the OpenAI-compatible HTTP service over one scheduler. */
#ifndef VKSEEK_SERVER_H
#define VKSEEK_SERVER_H

#include <stddef.h>

typedef struct {
    const char *model_dir;
    const char *host;          /* "127.0.0.1" unless told otherwise */
    int port;
    const char *api_key;       /* NULL: no authentication */
    int max_batch;             /* cache slots: chats at once (an image takes 2) */
    int queue;                 /* requests waiting or running before 429 */
    const char *gallery_dir;
    size_t max_body;           /* request body bytes before 413 */
    unsigned timeout;          /* seconds a connection may stay idle */
    int quant, device, n_ctx;
    int mtp;                   /* --speculative mtp */
    int kv_f32;                /* --kv-cache f32 */
} serve_options;

/* Serves until SIGINT or SIGTERM; the exit status (0 after a clean shutdown). */
int serve_run(const serve_options *o);

#endif
