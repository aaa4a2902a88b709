/* server.c: the HTTP side of `vkseek serve`. libmicrohttpd runs a thread per connection
 * (a request may wait on its generation); one engine thread owns the GPU: it loads the
 * model, then steps the scheduler whenever requests are pending. The main thread waits for
 * SIGINT/SIGTERM, then stops accepting, ends what is in flight (each gets an error or its
 * stream's end) and frees everything. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "engine/loader.h"
#include "serve/internal.h"

typedef struct {
    buf body;
    int too_big;
} conn;

/* ---- the engine thread ---- */

static void *engine_main(void *arg)
{
    server *sv = arg;
    char err[512];
    model_options mo = {.device = sv->o.device, .quant = sv->o.quant, .n_ctx = sv->o.n_ctx,
                        .n_seq = sv->o.max_batch, .need_tokenizer = 1, .mtp = sv->o.mtp,
                        .kv_f32 = sv->o.kv_f32};
    model *m = model_open(sv->o.model_dir, &mo, err, sizeof err);
    janus *j = m && m->cfg.is_janus ? janus_load(m, sv->o.quant, err, sizeof err) : NULL;
    chat_template t;
    scheduler *s = NULL;
    if (m && (!m->cfg.is_janus || j) && !chat_template_for_model(sv->o.model_dir, &t, err, sizeof err))
        s = sched_new(m, j, err, sizeof err);
    pthread_mutex_lock(&sv->mu);
    if (s) {
        sv->m = m, sv->j = j, sv->s = s, sv->tmpl = t, sv->ready = 1;
    } else {
        snprintf(sv->load_error, sizeof sv->load_error, "%s", err);
        sv->stop = 1;
    }
    pthread_mutex_unlock(&sv->mu);
    if (!s) {
        fprintf(stderr, "vkseek serve: %s\n", err);
        janus_free(j);
        model_close(m);
        kill(getpid(), SIGTERM); /* wakes the main thread */
        return NULL;
    }
    char plan[200];
    fprintf(stderr, "vkseek serve: %s loaded on %s (%d slots, context %d, KV cache %s); device "
                    "memory: %s\n", sv->model_id, gpu_info(m->ctx)->name, lm_seqs(m->lm),
            lm_ctx(m->lm), mo.kv_f32 ? "f32" : "f16", plan_str(&m->plan, plan, sizeof plan));
    for (;;) {
        pthread_mutex_lock(&sv->mu);
        int stop = sv->stop;
        pthread_mutex_unlock(&sv->mu);
        if (stop) break;
        if (!sched_pending(s)) {
            sched_wait(s, 200);
            continue;
        }
        if (sched_step(s, err, sizeof err)) fprintf(stderr, "vkseek serve: step: %s\n", err);
    }
    return NULL;
}

/* ---- small routes ---- */

static enum MHD_Result route_health(server *sv, struct MHD_Connection *c)
{
    pthread_mutex_lock(&sv->mu);
    int ready = sv->ready;
    pthread_mutex_unlock(&sv->mu);
    if (!ready) return reply_error(sv, c, 503, NULL, "loading", "the model is loading");
    const char ok[] = "{\"status\":\"ok\"}";
    return reply(sv, c, 200, "application/json", ok, sizeof ok - 1);
}

static enum MHD_Result route_models(server *sv, struct MHD_Connection *c)
{
    cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, "data"), *e = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "object", "list");
    cJSON_AddStringToObject(e, "id", sv->model_id);
    cJSON_AddStringToObject(e, "object", "model");
    cJSON_AddNumberToObject(e, "created", (double)sv->started);
    cJSON_AddStringToObject(e, "owned_by", "vkseek");
    cJSON_AddItemToArray(a, e);
    return reply_json(sv, c, 200, o);
}

static enum MHD_Result route_metrics(server *sv, struct MHD_Connection *c)
{
    buf b = {0};
    sched_stats st = sched_get_stats(sv->s);
    pthread_mutex_lock(&sv->mu);
    buf_printf(&b, "# HELP vkseek_http_responses_total HTTP responses by status.\n"
                   "# TYPE vkseek_http_responses_total counter\n");
    for (int i = 100; i < 600; i++)
        if (sv->http[i])
            buf_printf(&b, "vkseek_http_responses_total{code=\"%d\"} %llu\n", i,
                       (unsigned long long)sv->http[i]);
    pthread_mutex_unlock(&sv->mu);
    buf_printf(&b, "# HELP vkseek_requests_total Generation requests accepted.\n"
                   "# TYPE vkseek_requests_total counter\nvkseek_requests_total %llu\n"
                   "# HELP vkseek_tokens_total Tokens generated (image tokens included).\n"
                   "# TYPE vkseek_tokens_total counter\nvkseek_tokens_total %llu\n"
                   "# HELP vkseek_images_total Images generated.\n"
                   "# TYPE vkseek_images_total counter\nvkseek_images_total %llu\n"
                   "# HELP vkseek_queue_depth Requests waiting for cache slots.\n"
                   "# TYPE vkseek_queue_depth gauge\nvkseek_queue_depth %d\n"
                   "# HELP vkseek_running Requests holding cache slots.\n"
                   "# TYPE vkseek_running gauge\nvkseek_running %d\n"
                   "# HELP vkseek_steps_total Batched steps run.\n"
                   "# TYPE vkseek_steps_total counter\nvkseek_steps_total %llu\n"
                   "# HELP vkseek_step_seconds_total Time spent in steps.\n"
                   "# TYPE vkseek_step_seconds_total counter\nvkseek_step_seconds_total %.6f\n"
                   "# HELP vkseek_batched_rows_total Sequence rows over all steps.\n"
                   "# TYPE vkseek_batched_rows_total counter\nvkseek_batched_rows_total %llu\n"
                   "# HELP vkseek_mtp_drafts_total Speculative decoding: MTP drafts checked.\n"
                   "# TYPE vkseek_mtp_drafts_total counter\nvkseek_mtp_drafts_total %llu\n"
                   "# HELP vkseek_mtp_accepted_total MTP drafts accepted.\n"
                   "# TYPE vkseek_mtp_accepted_total counter\nvkseek_mtp_accepted_total %llu\n"
                   "# HELP vkseek_device_memory_bytes Device memory held (weights, caches, scratch).\n"
                   "# TYPE vkseek_device_memory_bytes gauge\nvkseek_device_memory_bytes %llu\n",
               (unsigned long long)st.requests, (unsigned long long)st.tokens,
               (unsigned long long)st.images, st.queued, st.running,
               (unsigned long long)st.steps, st.step_s, (unsigned long long)st.batched_rows,
               (unsigned long long)st.drafts, (unsigned long long)st.accepted,
               (unsigned long long)st.device_memory);
    enum MHD_Result rc = b.data ? reply(sv, c, 200, "text/plain; version=0.0.4", b.data, b.len)
                                : reply_error(sv, c, 500, NULL, NULL, "out of memory");
    buf_free(&b);
    return rc;
}

/* ---- dispatch ---- */

static int authorised(server *sv, struct MHD_Connection *c)
{
    if (!sv->o.api_key) return 1;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    size_t kl = strlen(sv->o.api_key);
    if (!h || strncmp(h, "Bearer ", 7)) return 0;
    /* time depends on the length sent only, not on the key or where they differ */
    size_t hl = strlen(h + 7);
    unsigned diff = hl != kl;
    for (size_t i = 0; i < hl; i++)
        diff |= (unsigned char)h[7 + i] ^ (unsigned char)sv->o.api_key[i % kl];
    return diff == 0;
}

static enum MHD_Result route(server *sv, struct MHD_Connection *c, const char *url,
                             const char *method, const buf *body)
{
    int get = !strcmp(method, "GET") || !strcmp(method, "HEAD"), post = !strcmp(method, "POST");
    if (!strcmp(url, "/health")) return get ? route_health(sv, c) : reply_error(sv, c, 405, NULL, NULL, "use GET");
    pthread_mutex_lock(&sv->mu);
    int ready = sv->ready;
    pthread_mutex_unlock(&sv->mu);
    if (!ready) return reply_error(sv, c, 503, NULL, "loading", "the model is loading");
    static const struct { const char *path; int post; } routes[] = {
        {"/v1/models", 0}, {"/metrics", 0}, {"/gallery", 0},
        {"/v1/chat/completions", 1}, {"/v1/images/generations", 1}};
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++) {
        if (strcmp(url, routes[i].path)) continue;
        if (routes[i].post ? !post : !get)
            return reply_error(sv, c, 405, NULL, NULL, "%s takes %s", url, routes[i].post ? "POST" : "GET");
        switch (i) {
        case 0: return route_models(sv, c);
        case 1: return route_metrics(sv, c);
        case 2: return page_gallery(sv, c);
        case 3: return api_chat(sv, c, body->data ? body->data : "", body->len);
        default: return api_images(sv, c, body->data ? body->data : "", body->len);
        }
    }
    if (!strncmp(url, "/gallery/", 9))
        return get ? file_gallery(sv, c, url + 9) : reply_error(sv, c, 405, NULL, NULL, "use GET");
    return reply_error(sv, c, 404, NULL, "not_found", "no route %.200s", url);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **state)
{
    (void)version;
    server *sv = cls;
    conn *cn = *state;
    if (!cn) { /* headers only so far: refuse early what cannot be served */
        if (!(cn = calloc(1, sizeof *cn))) return MHD_NO;
        *state = cn;
        if (strcmp(url, "/health") && !authorised(sv, c))
            return reply_error(sv, c, 401, NULL, "invalid_api_key",
                               "a valid API key is needed: Authorization: Bearer KEY");
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > sv->o.max_body)
            return reply_error(sv, c, 413, NULL, "body_too_large",
                               "the request body is larger than %zu bytes", sv->o.max_body);
        return MHD_YES;
    }
    if (*upload_size) {
        if (cn->body.len + *upload_size > sv->o.max_body) cn->too_big = 1;
        else if (buf_add(&cn->body, upload, *upload_size)) return MHD_NO;
        *upload_size = 0;
        return MHD_YES;
    }
    if (cn->too_big)
        return reply_error(sv, c, 413, NULL, "body_too_large",
                           "the request body is larger than %zu bytes", sv->o.max_body);
    return route(sv, c, url, method, &cn->body);
}

static void on_done(void *cls, struct MHD_Connection *c, void **state,
                    enum MHD_RequestTerminationCode why)
{
    (void)cls, (void)c, (void)why;
    conn *cn = *state;
    if (!cn) return;
    buf_free(&cn->body);
    free(cn);
    *state = NULL;
}

int serve_run(const serve_options *o)
{
    static server sv; /* one per process: the signal wait below is process-wide */
    memset(&sv, 0, sizeof sv);
    sv.o = *o;
    sv.started = (int64_t)time(NULL);
    pthread_mutex_init(&sv.mu, NULL);
    const char *slash = strrchr(o->model_dir, '/');
    snprintf(sv.model_id, sizeof sv.model_id, "%s", slash && slash[1] ? slash + 1 : o->model_dir);
    char err[512];
    if (!(sv.g = gallery_open(o->gallery_dir, err, sizeof err))) {
        fprintf(stderr, "vkseek: %s\n", err);
        return 1;
    }
    /* SIGINT/SIGTERM go to the main thread's sigwait, not to the workers started below */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
    if (inet_pton(AF_INET, o->host, &addr.sin_addr) != 1) {
        fprintf(stderr, "vkseek: --host %s: an IPv4 address, please (127.0.0.1, 0.0.0.0)\n", o->host);
        gallery_close(sv.g);
        return 1;
    }
    /* ITC: quiescing at shutdown; poll: descriptors past 1023 */
    sv.d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                                MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG,
                            (uint16_t)o->port, NULL, NULL, on_request, &sv,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                            MHD_OPTION_NOTIFY_COMPLETED, on_done, &sv,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)(o->queue + 32),
                            MHD_OPTION_CONNECTION_TIMEOUT, o->timeout, MHD_OPTION_END);
    if (!sv.d) {
        fprintf(stderr, "vkseek: cannot listen on %s:%d (in use, or not allowed)\n", o->host, o->port);
        gallery_close(sv.g);
        return 1;
    }
    fprintf(stderr, "vkseek serve: listening on http://%s:%d (loading %s)\n", o->host, o->port,
            o->model_dir);
    pthread_create(&sv.engine, NULL, engine_main, &sv);
    int sig;
    sigwait(&sigs, &sig);
    pthread_mutex_lock(&sv.mu);
    sv.stop = 1;
    pthread_mutex_unlock(&sv.mu);
    MHD_socket lfd = MHD_quiesce_daemon(sv.d); /* no new connections */
    pthread_join(sv.engine, NULL);
    int failed = sv.load_error[0] != 0;
    if (!failed) fprintf(stderr, "vkseek serve: shutting down\n");
    /* what is queued or running ends now ("cancelled"), so waiting connections answer and
     * finish; new submits are refused */
    if (sv.s) sched_close(sv.s);
    MHD_stop_daemon(sv.d);
    if (lfd != MHD_INVALID_SOCKET) close(lfd);
    sched_free(sv.s);
    janus_free(sv.j);
    model_close(sv.m);
    gallery_close(sv.g);
    pthread_mutex_destroy(&sv.mu);
    return failed ? 1 : 0;
}
