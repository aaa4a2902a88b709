/* internal.h: what the server's files share: the server, the per-connection state, the job
 * that carries one request's events from the engine thread to its connection, and reply
 * helpers. */
#ifndef VKSEEK_SERVE_INTERNAL_H
#define VKSEEK_SERVE_INTERNAL_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "engine/janus.h"
#include "engine/scheduler.h"
#include "gallery/gallery.h"
#include "serve/buf.h"
#include "serve/request.h"
#include "serve/server.h"
#include "text/chat.h"

typedef struct server {
    serve_options o;
    model *m;
    janus *j;
    scheduler *s;
    gallery *g;
    chat_template tmpl;
    char model_id[256];
    int ready;                    /* the model is loaded (under mu) */
    int stop;                     /* shutting down (under mu) */
    char load_error[512];
    pthread_t engine;
    struct MHD_Daemon *d;
    pthread_mutex_t mu;           /* the fields below */
    uint64_t http[600];           /* responses by status */
    int64_t started;
} server;

/* ---- jobs: one request's output, filled by the engine thread's sink ---- */
typedef struct job {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;                     /* the connection and the scheduler */
    int id;                       /* the scheduler's */
    int abandoned;                /* the client went away: cancel */
    buf content, reasoning;       /* text so far */
    /* images: saved to the gallery as they finish */
    gallery *g;
    gallery_entry meta;           /* prompt, seed of image 0, cfg, temperature, model */
    char (*ids)[GALLERY_ID_LEN + 1];
    int n_images, n_saved, step, total;
    /* the end */
    int done;
    char finish[16], error[512];
    int n_prompt, n_cached, n_gen;
} job;

job *job_new(int n_images);
void job_release(job *j);
int job_sink(const gen_event *e, void *user);    /* the scheduler's sink */
/* Waits until the job changes or timeout_ms passes; call with j->mu held. */
void job_wait(job *j, int timeout_ms);

/* ---- replies ---- */
enum MHD_Result reply(server *sv, struct MHD_Connection *c, int status, const char *type,
                      const char *body, size_t len);
enum MHD_Result reply_json(server *sv, struct MHD_Connection *c, int status, cJSON *o);
/* An OpenAI-style error: {"error": {"message", "type", "param", "code"}}. */
enum MHD_Result reply_error(server *sv, struct MHD_Connection *c, int status, const char *param,
                            const char *code, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
void count_status(server *sv, int status);
/* 1 when the client has closed the connection (a non-streaming request polls this). */
int client_gone(struct MHD_Connection *c);
/* Submits r (with job j as its sink); on failure replies (400, or 429 when the queue is
 * full), drops the scheduler's reference to j and returns -1. */
int submit_job(server *sv, struct MHD_Connection *c, sched_request *r, job *j);
/* Waits for a job to end, cancelling it if the client goes away: 0 done, -1 gone. */
int await_job(server *sv, struct MHD_Connection *c, job *j);

/* ---- routes ---- */
enum MHD_Result api_chat(server *sv, struct MHD_Connection *c, const char *body, size_t len);
enum MHD_Result api_images(server *sv, struct MHD_Connection *c, const char *body, size_t len);
enum MHD_Result page_gallery(server *sv, struct MHD_Connection *c);
enum MHD_Result file_gallery(server *sv, struct MHD_Connection *c, const char *name);

/* ---- request bodies ---- */
/* "http://host" for absolute URLs of this server, from the Host header. */
void base_url(server *sv, struct MHD_Connection *c, char *out, size_t n);
/* What the request parsers need to know of this server's model. */
req_model server_req_model(const server *sv);
/* The request body as a JSON object whose "model" (absent is fine) names the loaded model;
 * NULL after replying 400 or 404 (*r: the reply's result). */
cJSON *parse_request(server *sv, struct MHD_Connection *c, const char *body, size_t len,
                     enum MHD_Result *r);

#endif
