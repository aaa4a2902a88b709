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
#include "vision/preprocess.h"

typedef struct {
    chat_msg *msgs;
    char **texts;                 /* owned message texts */
    int n;
    float *pixels;                /* [n_pictures][3][S][S] */
    int n_pictures;
    gen_params gp;
    char *stop[SERVE_MAX_STOP];
    int stream, include_usage;
} chat_req;

static void chat_req_free(chat_req *r)
{
    for (int i = 0; i < r->n; i++) free(r->texts[i]);
    for (int i = 0; i < r->gp.n_stop; i++) free(r->stop[i]);
    free(r->msgs), free(r->texts), free(r->pixels);
}

/* The picture an image_url names, preprocessed into picture slot k. 0, or -1 with err. */
static int load_picture(server *sv, const char *url, chat_req *r, char *err, size_t errlen)
{
    uint8_t *bytes = NULL;
    size_t n = 0;
    image im = {0};
    const char *g = strstr(url, "/gallery/");
    int rc = -1;
    if (!strncmp(url, "data:", 5)) {
        const char *comma = strchr(url, ',');
        if (!comma || !strstr(url, ";base64") || strstr(url, ";base64") > comma) {
            snprintf(err, errlen, "an image data: URL must be base64 (data:image/png;base64,...)");
            return -1;
        }
        if (base64_decode(comma + 1, strlen(comma + 1), &bytes, &n)) {
            snprintf(err, errlen, "the image data: URL is not valid base64");
            return -1;
        }
        rc = image_decode("image_url", bytes, n, &im, err, errlen);
    } else if (g && (g == url || !strncmp(url, "http://", 7) || !strncmp(url, "https://", 8))) {
        char id[GALLERY_ID_LEN + 1] = "", path[4096];
        const char *dot = strstr(g + 9, ".png");
        if (dot && dot - (g + 9) == GALLERY_ID_LEN && !dot[4])
            memcpy(id, g + 9, GALLERY_ID_LEN);
        if (gallery_path(sv->g, id, path, sizeof path)) {
            snprintf(err, errlen, "%.200s is not an image of this server's gallery", url);
            return -1;
        }
        rc = image_load(path, &im, err, errlen);
        if (rc) snprintf(err, errlen, "gallery image %s does not exist", id);
    } else {
        snprintf(err, errlen, "image_url must be a data: URL or this server's /gallery/ID.png; "
                              "remote URLs are not fetched");
        return -1;
    }
    free(bytes);
    if (rc) return -1;
    int S = sv->m->cfg.vision.image_size;
    float *p = realloc(r->pixels, (size_t)(r->n_pictures + 1) * 3 * S * S * sizeof *p);
    if (p) r->pixels = p;
    rc = p ? janus_preprocess(&im, S, p + (int64_t)r->n_pictures * 3 * S * S, err, errlen) : -1;
    if (!p) snprintf(err, errlen, "out of memory");
    if (!rc) r->n_pictures++;
    image_free(&im);
    return rc;
}

/* One message's content as text (picture parts as placeholders, pictures loaded). */
static char *message_text(server *sv, const cJSON *content, int user, chat_req *r, char *param,
                          char *err, size_t errlen)
{
    buf b = {0};
    buf_add(&b, "", 0);
    if (cJSON_IsString(content)) {
        buf_add(&b, content->valuestring, strlen(content->valuestring));
        return b.data;
    }
    if (cJSON_IsNull(content) || !content) return b.data;
    if (!cJSON_IsArray(content)) {
        snprintf(err, errlen, "content must be a string or an array of parts");
        goto fail;
    }
    const cJSON *part;
    cJSON_ArrayForEach(part, content)
    {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type");
        if (!cJSON_IsString(type)) {
            snprintf(err, errlen, "every content part needs a string 'type'");
            goto fail;
        }
        if (!strcmp(type->valuestring, "text")) {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
            if (!cJSON_IsString(t)) {
                snprintf(err, errlen, "a text part needs a string 'text'");
                goto fail;
            }
            buf_add(&b, t->valuestring, strlen(t->valuestring));
        } else if (!strcmp(type->valuestring, "image_url")) {
            const cJSON *iu = cJSON_GetObjectItemCaseSensitive(part, "image_url");
            const cJSON *u = cJSON_IsString(iu) ? iu : cJSON_GetObjectItemCaseSensitive(iu, "url");
            if (!cJSON_IsString(u)) {
                snprintf(err, errlen, "an image_url part needs image_url.url");
                goto fail;
            }
            if (!user || !sv->j) {
                snprintf(err, errlen, "%s", !sv->j ? "this model does not read pictures"
                                                   : "pictures go in user messages");
                goto fail;
            }
            if (r->n_pictures == SERVE_MAX_PICTURES) {
                snprintf(err, errlen, "at most %d pictures in a request", SERVE_MAX_PICTURES);
                goto fail;
            }
            if (load_picture(sv, u->valuestring, r, err, errlen)) goto fail;
            buf_add(&b, "<image_placeholder>\n", 20);
        } else {
            snprintf(err, errlen, "unknown content part type '%.40s'", type->valuestring);
            goto fail;
        }
    }
    if (!b.data) snprintf(err, errlen, "out of memory");
    return b.data;
fail:
    snprintf(param, 64, "messages");
    buf_free(&b);
    return NULL;
}

/* The request's fields into r. 0, or -1 with err and the offending param. */
static int parse(server *sv, const cJSON *q, chat_req *r, char *param, char *err, size_t errlen)
{
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(q, "messages");
    int n = cJSON_GetArraySize(msgs);
    snprintf(param, 64, "messages");
    if (!cJSON_IsArray(msgs) || n < 1 || n > CHAT_MAX_MESSAGES)
        return snprintf(err, errlen, "'messages' must be a non-empty array"), -1;
    int has_system = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs)
    {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        has_system |= cJSON_IsString(role) && (!strcmp(role->valuestring, "system") ||
                                               !strcmp(role->valuestring, "developer"));
    }
    int extra = sv->tmpl == CHAT_JANUS && !has_system; /* Janus' own system prompt */
    r->msgs = calloc((size_t)(n + extra), sizeof *r->msgs);
    r->texts = calloc((size_t)(n + extra), sizeof *r->texts);
    if (!r->msgs || !r->texts) return snprintf(err, errlen, "out of memory"), -1;
    if (extra) {
        r->texts[0] = strdup(CHAT_JANUS_SYSTEM_PROMPT);
        r->msgs[r->n++] = (chat_msg){CHAT_SYSTEM, r->texts[0]};
    }
    cJSON_ArrayForEach(m, msgs)
    {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        const char *rs = cJSON_IsString(role) ? role->valuestring : "";
        chat_role cr = !strcmp(rs, "user")       ? CHAT_USER
                       : !strcmp(rs, "assistant") ? CHAT_ASSISTANT
                       : !strcmp(rs, "system") || !strcmp(rs, "developer") ? CHAT_SYSTEM
                                                                            : (chat_role)-1;
        if ((int)cr < 0)
            return snprintf(err, errlen, "message %d: role must be system, user or assistant",
                             r->n), -1;
        char *t = message_text(sv, cJSON_GetObjectItemCaseSensitive(m, "content"),
                               cr == CHAT_USER, r, param, err, errlen);
        if (!t) return -1;
        r->texts[r->n] = t;
        r->msgs[r->n] = (chat_msg){cr, t};
        r->n++;
    }
    if (r->msgs[r->n - 1].role == CHAT_ASSISTANT)
        return snprintf(err, errlen, "the last message must not be the assistant's"), -1;
    /* sampling and length */
    double temp = 1, top_p = 1, max = 0, nn = 1, seed = -1;
    int ctx = lm_ctx(sv->m->lm);
    const char *num[] = {"temperature", "top_p", "max_tokens", "max_completion_tokens", "n", "seed"};
    /* max_tokens past the context means "until the context is full" */
    double lo[] = {0, 1e-9, 1, 1, 1, 0}, hi[] = {2, 1, 1e18, 1e18, 1, 9007199254740992.0 /* 2^53 */};
    double *dst[] = {&temp, &top_p, &max, &max, &nn, &seed};
    for (int i = 0; i < 6; i++) {
        snprintf(param, 64, "%s", num[i]);
        if (field_number(q, num[i], lo[i], hi[i], dst[i], err, errlen)) return -1;
    }
    r->gp.sampling = sampler_defaults();
    r->gp.sampling.temperature = (float)temp;
    r->gp.sampling.top_p = (float)top_p;
    r->gp.sampling.seed = seed >= 0 ? (uint64_t)seed : (uint64_t)time(NULL) ^ (uint64_t)clock();
    r->gp.max_tokens = max > ctx ? ctx : (int)max;
    r->gp.reasoning = chat_template_opens_think(sv->tmpl) ? 2 : 1;
    const cJSON *stop = cJSON_GetObjectItemCaseSensitive(q, "stop");
    snprintf(param, 64, "stop");
    if (cJSON_IsString(stop)) {
        if (stop->valuestring[0] && !(r->stop[r->gp.n_stop++] = strdup(stop->valuestring)))
            return snprintf(err, errlen, "out of memory"), -1;
    } else if (cJSON_IsArray(stop)) {
        const cJSON *s;
        cJSON_ArrayForEach(s, stop)
        {
            if (!cJSON_IsString(s) || !s->valuestring[0] || r->gp.n_stop == SERVE_MAX_STOP)
                return snprintf(err, errlen, "'stop' takes up to %d non-empty strings",
                                SERVE_MAX_STOP), -1;
            if (!(r->stop[r->gp.n_stop++] = strdup(s->valuestring)))
                return snprintf(err, errlen, "out of memory"), -1;
        }
    } else if (stop && !cJSON_IsNull(stop)) {
        return snprintf(err, errlen, "'stop' must be a string or an array of strings"), -1;
    }
    r->gp.stop = (const char *const *)r->stop;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(q, "stream");
    snprintf(param, 64, "stream");
    if (st && !cJSON_IsBool(st) && !cJSON_IsNull(st))
        return snprintf(err, errlen, "'stream' must be true or false"), -1;
    r->stream = cJSON_IsTrue(st);
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(q, "stream_options");
    r->include_usage = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(so, "include_usage"));
    return 0;
}

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
    if (!j->done && j->content.len == s->sent_c && j->reasoning.len == s->sent_r) job_wait(j, 15000);
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
    if (parse(sv, q, &r, param, err, sizeof err)) {
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
