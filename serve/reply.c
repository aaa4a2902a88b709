/* reply.c: responses (JSON, OpenAI-style errors), status counting, and waiting for a job
 * while watching the client. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "serve/internal.h"

void count_status(server *sv, int status)
{
    pthread_mutex_lock(&sv->mu);
    if (status >= 0 && status < 600) sv->http[status]++;
    pthread_mutex_unlock(&sv->mu);
}

enum MHD_Result reply(server *sv, struct MHD_Connection *c, int status, const char *type,
                      const char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body,
                                                             MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    if (status == 401) MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    count_status(sv, status);
    return rc;
}

enum MHD_Result reply_json(server *sv, struct MHD_Connection *c, int status, cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!s) return reply_error(sv, c, 500, NULL, NULL, "out of memory");
    enum MHD_Result rc = reply(sv, c, status, "application/json", s, strlen(s));
    cJSON_free(s);
    return rc;
}

enum MHD_Result reply_error(server *sv, struct MHD_Connection *c, int status, const char *param,
                            const char *code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *type = status == 401 ? "authentication_error"
                       : status == 429 ? "rate_limit_error"
                       : status >= 500 ? "server_error"
                                       : "invalid_request_error";
    cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddStringToObject(e, "type", type);
    if (param) cJSON_AddStringToObject(e, "param", param);
    else cJSON_AddNullToObject(e, "param");
    if (code) cJSON_AddStringToObject(e, "code", code);
    else cJSON_AddNullToObject(e, "code");
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    enum MHD_Result rc = s ? reply(sv, c, status, "application/json", s, strlen(s)) : MHD_NO;
    cJSON_free(s);
    return rc;
}

int client_gone(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci) return 0;
    char b;
    ssize_t n = recv(ci->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    /* 0: closed; an error but "nothing to read yet": reset */
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

int submit_job(server *sv, struct MHD_Connection *c, sched_request *r, job *j)
{
    char err[512];
    r->sink = job_sink, r->user = j;
    if (sched_pending(sv->s) >= sv->o.queue) {
        job_release(j); /* the scheduler's reference, never taken */
        reply_error(sv, c, 429, NULL, "queue_full", "the queue is full (%d requests); try again "
                                                    "later", sv->o.queue);
        return -1;
    }
    int id = sched_submit(sv->s, r, err, sizeof err);
    if (id < 0) {
        job_release(j);
        reply_error(sv, c, id == -2 ? 503 : 400, NULL, NULL, "%s", err);
        return -1;
    }
    pthread_mutex_lock(&j->mu);
    j->id = id;
    pthread_mutex_unlock(&j->mu);
    return 0;
}

int await_job(server *sv, struct MHD_Connection *c, job *j)
{
    pthread_mutex_lock(&j->mu);
    while (!j->done) {
        job_wait(j, 200);
        if (!j->done && client_gone(c)) {
            j->abandoned = 1;
            pthread_mutex_unlock(&j->mu);
            sched_cancel(sv->s, j->id);
            return -1;
        }
    }
    pthread_mutex_unlock(&j->mu);
    return 0;
}

void base_url(server *sv, struct MHD_Connection *c, char *out, size_t n)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    int ok = h && h[0] && strlen(h) < 256;
    for (const char *p = h; ok && *p; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
             strchr(".-:[]", *p);
    if (ok) snprintf(out, n, "http://%s", h);
    else snprintf(out, n, "http://%s:%d", sv->o.host, sv->o.port);
}

cJSON *parse_request(server *sv, struct MHD_Connection *c, const char *body, size_t len,
                     enum MHD_Result *r)
{
    cJSON *q = cJSON_ParseWithLength(body, len);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(q, "model");
    if (!cJSON_IsObject(q))
        *r = reply_error(sv, c, 400, NULL, NULL, "the request body is not a JSON object");
    else if (m && !cJSON_IsNull(m) && !cJSON_IsString(m))
        *r = reply_error(sv, c, 400, "model", NULL, "'model' must be a string");
    else if (cJSON_IsString(m) && strcmp(m->valuestring, sv->model_id))
        *r = reply_error(sv, c, 404, "model", "model_not_found",
                         "the model '%.200s' does not exist; this server has '%s'",
                         m->valuestring, sv->model_id);
    else
        return q;
    cJSON_Delete(q);
    return NULL;
}

req_model server_req_model(const server *sv)
{
    return (req_model){.id = sv->model_id,
                       .tmpl = sv->tmpl,
                       .picture_size = sv->j ? sv->m->cfg.vision.image_size : 0,
                       .image_size = sv->j ? janus_image_size(sv->j) : 0,
                       .ctx = lm_ctx(sv->m->lm),
                       .max_images = lm_seqs(sv->m->lm) / 2,
                       .g = sv->g};
}
