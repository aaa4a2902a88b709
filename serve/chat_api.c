/* chat_api.c: POST /v1/chat/completions. Messages with text and image_url parts (data: URLs
 * of PNG/JPEG, or this server's gallery URLs) become the model's conversation and pictures;
 * the answer comes back as one JSON or, with "stream": true, as server-sent events in
 * OpenAI's chunk format (delta.content, delta.reasoning_content), then data: [DONE]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "engine/prompt.h"
#include "serve/internal.h"

static cJSON *usage(const job *j)
{
    cJSON *u = cJSON_CreateObject();
    cJSON_AddNumberToObject(u, "prompt_tokens", j->n_prompt);
    cJSON_AddNumberToObject(u, "completion_tokens", j->n_gen);
    cJSON_AddNumberToObject(u, "total_tokens", j->n_prompt + j->n_gen);
    cJSON *d = cJSON_AddObjectToObject(u, "prompt_tokens_details");
    cJSON_AddNumberToObject(d, "cached_tokens", j->n_cached);
    return u;
}

static cJSON *envelope(server *sv, const char *id, int64_t created, const char *object)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "object", object);
    cJSON_AddNumberToObject(o, "created", (double)created);
    cJSON_AddStringToObject(o, "model", sv->model_id);
    return o;
}

/* ---- streaming ---- */

typedef struct {
    server *sv;
    job *j;
    char id[40];
    int64_t created;
    int include_usage, role_sent, finished;
    size_t sent_c, sent_r;        /* bytes of content and reasoning sent */
    buf out;                      /* formatted, not yet handed to the connection */
    size_t off;
} stream;

static void sse(stream *s, cJSON *o)
{
    char *t = o ? cJSON_PrintUnformatted(o) : NULL;
    if (t) buf_printf(&s->out, "data: %s\n\n", t);
    cJSON_free(t);
    cJSON_Delete(o);
}

static void chunk(stream *s, const char *field, const char *text, size_t len, const char *finish)
{
    cJSON *o = envelope(s->sv, s->id, s->created, "chat.completion.chunk");
    cJSON *ch = cJSON_CreateObject(), *d = cJSON_AddObjectToObject(ch, "delta");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "choices"), ch);
    cJSON_AddNumberToObject(ch, "index", 0);
    if (!s->role_sent) cJSON_AddStringToObject(d, "role", "assistant"), s->role_sent = 1;
    if (field) {
        char *t = malloc(len + 1);
        if (t) memcpy(t, text, len), t[len] = 0, cJSON_AddStringToObject(d, field, t);
        free(t);
    }
    if (finish) cJSON_AddStringToObject(ch, "finish_reason", finish);
    else cJSON_AddNullToObject(ch, "finish_reason");
    sse(s, o);
}

/* Formats what the job has that was not sent yet (waiting for it up to 15 s). */
static void produce(stream *s)
{
    job *j = s->j;
    pthread_mutex_lock(&j->mu);
    /* a keep-alive at least every 15 s, and within half of --timeout so that an idle
     * stream is never closed as an idle connection */
    int wait_ms = s->sv->o.timeout * 500u < 15000u ? (int)(s->sv->o.timeout * 500u) : 15000;
    if (!j->done && j->content.len == s->sent_c && j->reasoning.len == s->sent_r) job_wait(j, wait_ms);
    int changed = j->done || j->content.len > s->sent_c || j->reasoning.len > s->sent_r;
    if (!changed) {
        pthread_mutex_unlock(&j->mu);
        buf_add(&s->out, ": keep-alive\n\n", 14); /* also finds clients that went away */
        return;
    }
    if (j->reasoning.len > s->sent_r)
        chunk(s, "reasoning_content", j->reasoning.data + s->sent_r, j->reasoning.len - s->sent_r, NULL);
    if (j->content.len > s->sent_c)
        chunk(s, "content", j->content.data + s->sent_c, j->content.len - s->sent_c, NULL);
    s->sent_r = j->reasoning.len, s->sent_c = j->content.len;
    if (j->done) {
        if (!strcmp(j->finish, "stop") || !strcmp(j->finish, "length")) {
            chunk(s, NULL, NULL, 0, j->finish);
            if (s->include_usage) {
                cJSON *o = envelope(s->sv, s->id, s->created, "chat.completion.chunk");
                cJSON_AddArrayToObject(o, "choices");
                cJSON_AddItemToObject(o, "usage", usage(j));
                sse(s, o);
            }
        } else { /* an error, or the server shutting down */
            cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "error");
            cJSON_AddStringToObject(e, "message", j->error[0] ? j->error : "the server is shutting down");
            cJSON_AddStringToObject(e, "type", "server_error");
            sse(s, o);
        }
        buf_add(&s->out, "data: [DONE]\n\n", 14);
        s->finished = 1;
    }
    pthread_mutex_unlock(&j->mu);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *to, size_t max)
{
    (void)pos;
    stream *s = cls;
    if (s->off == s->out.len) {
        if (s->finished) return MHD_CONTENT_READER_END_OF_STREAM;
        s->out.len = s->off = 0;
        produce(s);
        if (!s->out.len) return MHD_CONTENT_READER_END_WITH_ERROR; /* out of memory */
    }
    size_t n = s->out.len - s->off < max ? s->out.len - s->off : max;
    memcpy(to, s->out.data + s->off, n);
    s->off += n;
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    stream *s = cls;
    pthread_mutex_lock(&s->j->mu);
    int running = !s->j->done;
    if (running) s->j->abandoned = 1;
    pthread_mutex_unlock(&s->j->mu);
    if (running) sched_cancel(s->sv->s, s->j->id); /* the client went away */
    job_release(s->j);
    buf_free(&s->out);
    free(s);
}

enum MHD_Result api_chat(server *sv, struct MHD_Connection *c, const char *body, size_t len)
{
    enum MHD_Result rc;
    cJSON *q = parse_request(sv, c, body, len, &rc);
    if (!q) return rc;
    chat_req r = {0};
    char err[512], param[64] = "";
    int32_t *ids = NULL, *full = NULL, ph = -1;
    size_t n_ids = 0, n_full = 0;
    job *j = NULL;
    req_model rm = server_req_model(sv);
    if (chat_req_parse(q, &rm, &r, param, err, sizeof err)) {
        rc = reply_error(sv, c, 400, param, NULL, "%s", err);
        goto done;
    }
    if (prompt_chat(sv->m, sv->tmpl, r.msgs, r.n, &ids, &n_ids, err, sizeof err)) {
        rc = reply_error(sv, c, 400, "messages", NULL, "%s", err);
        goto done;
    }
    /* the placeholders must be the pictures' own (text may not smuggle more in), and what
     * they grow to must fit the context before it is made */
    int32_t ph_id = sv->j ? tok_token_id(sv->m->tok, "<image_placeholder>") : -1;
    size_t n_ph = 0, per = sv->j ? (size_t)janus_patches(sv->j) + 1 : 0;
    for (size_t i = 0; ph_id >= 0 && i < n_ids; i++) n_ph += ids[i] == ph_id;
    if (n_ph != (size_t)r.n_pictures) {
        rc = reply_error(sv, c, 400, "messages", NULL, "the text may not contain "
                         "<image_placeholder>: attach pictures as image_url parts");
        goto done;
    }
    if (n_ids + n_ph * per >= (size_t)lm_ctx(sv->m->lm)) {
        rc = reply_error(sv, c, 400, "messages", NULL, "the prompt (%zu tokens with its pictures) "
                         "does not fit the context of %d", n_ids + n_ph * per, lm_ctx(sv->m->lm));
        goto done;
    }
    if (r.n_pictures && prompt_expand_pictures(sv->m, ids, n_ids, janus_patches(sv->j), &full,
                                               &n_full, &ph, err, sizeof err)) {
        rc = reply_error(sv, c, 400, "messages", NULL, "%s", err);
        goto done;
    }
    if (!(j = job_new(0))) {
        rc = reply_error(sv, c, 500, NULL, NULL, "out of memory");
        goto done;
    }
    sched_request sr = {.kind = REQ_CHAT, .ids = full ? full : ids, .n = (int)(full ? n_full : n_ids),
                        .gen = r.gp, .pixels = r.pixels, .n_pictures = r.n_pictures,
                        .picture_id = ph};
    if (submit_job(sv, c, &sr, j)) {
        rc = MHD_YES; /* replied */
        goto done;
    }
    char id[40];
    snprintf(id, sizeof id, "chatcmpl-%d", j->id);
    int64_t created = (int64_t)time(NULL);
    if (r.stream) {
        stream *s = calloc(1, sizeof *s);
        struct MHD_Response *resp =
            s ? MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, s, stream_free)
              : NULL;
        if (!resp) {
            free(s);
            sched_cancel(sv->s, j->id);
            rc = MHD_NO;
            goto done;
        }
        *s = (stream){.sv = sv, .j = j, .created = created, .include_usage = r.include_usage};
        snprintf(s->id, sizeof s->id, "%s", id);
        MHD_add_response_header(resp, "Content-Type", "text/event-stream");
        MHD_add_response_header(resp, "Cache-Control", "no-cache");
        rc = MHD_queue_response(c, 200, resp);
        MHD_destroy_response(resp);
        count_status(sv, 200);
        j = NULL; /* the stream owns it now */
        goto done;
    }
    if (await_job(sv, c, j)) {
        rc = MHD_NO; /* the client is gone */
        goto done;
    }
    if (strcmp(j->finish, "stop") && strcmp(j->finish, "length")) {
        rc = reply_error(sv, c, !strcmp(j->finish, "error") ? 500 : 503, NULL, NULL, "%s",
                         j->error[0] ? j->error : "the server is shutting down");
        goto done;
    }
    cJSON *o = envelope(sv, id, created, "chat.completion");
    cJSON *ch = cJSON_CreateObject(), *msg = cJSON_AddObjectToObject(ch, "message");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "choices"), ch);
    cJSON_AddNumberToObject(ch, "index", 0);
    cJSON_AddStringToObject(msg, "role", "assistant");
    cJSON_AddStringToObject(msg, "content", j->content.data ? j->content.data : "");
    if (j->reasoning.len) cJSON_AddStringToObject(msg, "reasoning_content", j->reasoning.data);
    cJSON_AddStringToObject(ch, "finish_reason", j->finish);
    cJSON_AddItemToObject(o, "usage", usage(j));
    rc = reply_json(sv, c, 200, o);
done:
    job_release(j);
    free(ids), free(full);
    chat_req_free(&r);
    cJSON_Delete(q);
    return rc;
}
