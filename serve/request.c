/* request.c: chat and image request bodies into requests. Every field is type- and
 * range-checked; pictures (data: URLs or this server's gallery) are decoded and preprocessed
 * here, so a request the scheduler sees is well-formed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "serve/buf.h"
#include "serve/request.h"
#include "vision/preprocess.h"

void chat_req_free(chat_req *r)
{
    for (int i = 0; i < r->n; i++) free(r->texts[i]);
    for (int i = 0; i < r->gp.n_stop; i++) free(r->stop[i]);
    free(r->msgs), free(r->texts), free(r->pixels);
}

/* A number field in [lo, hi] (absent: *v unchanged): 0, or -1 with a message in err. */
static int field_number(const cJSON *o, const char *name, double lo, double hi, double *v, char *err,
                 size_t errlen)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!f || cJSON_IsNull(f)) return 0;
    if (!cJSON_IsNumber(f) || !(f->valuedouble >= lo && f->valuedouble <= hi))
        return snprintf(err, errlen, "'%s' must be a number from %g to %g", name, lo, hi), -1;
    *v = f->valuedouble;
    return 0;
}

/* The picture an image_url names, preprocessed into picture slot k. 0, or -1 with err. */
static int load_picture(const req_model *m, const char *url, chat_req *r, char *err, size_t errlen)
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
        if (!m->g || gallery_path(m->g, id, path, sizeof path)) {
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
    int S = m->picture_size;
    float *p = realloc(r->pixels, (size_t)(r->n_pictures + 1) * 3 * S * S * sizeof *p);
    if (p) r->pixels = p;
    rc = p ? janus_preprocess(&im, S, p + (int64_t)r->n_pictures * 3 * S * S, err, errlen) : -1;
    if (!p) snprintf(err, errlen, "out of memory");
    if (!rc) r->n_pictures++;
    image_free(&im);
    return rc;
}

/* One message's content as text (picture parts as placeholders, pictures loaded). */
static char *message_text(const req_model *m, const cJSON *content, int user, chat_req *r,
                          char *param, char *err, size_t errlen)
{
    buf b = {0};
    int oom = buf_add(&b, "", 0);
    if (cJSON_IsString(content)) {
        oom |= buf_add(&b, content->valuestring, strlen(content->valuestring));
    } else if (content && !cJSON_IsNull(content) && !cJSON_IsArray(content)) {
        snprintf(err, errlen, "content must be a string or an array of parts");
        goto fail;
    }
    const cJSON *part, *parts = cJSON_IsArray(content) ? content : NULL;
    cJSON_ArrayForEach(part, parts)
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
            oom |= buf_add(&b, t->valuestring, strlen(t->valuestring));
        } else if (!strcmp(type->valuestring, "image_url")) {
            const cJSON *iu = cJSON_GetObjectItemCaseSensitive(part, "image_url");
            const cJSON *u = cJSON_IsString(iu) ? iu : cJSON_GetObjectItemCaseSensitive(iu, "url");
            if (!cJSON_IsString(u)) {
                snprintf(err, errlen, "an image_url part needs image_url.url");
                goto fail;
            }
            if (!user || !m->picture_size) {
                snprintf(err, errlen, "%s", !m->picture_size ? "this model does not read pictures"
                                                             : "pictures go in user messages");
                goto fail;
            }
            if (r->n_pictures == SERVE_MAX_PICTURES) {
                snprintf(err, errlen, "at most %d pictures in a request", SERVE_MAX_PICTURES);
                goto fail;
            }
            if (load_picture(m, u->valuestring, r, err, errlen)) goto fail;
            oom |= buf_add(&b, "<image_placeholder>\n", 20);
        } else {
            snprintf(err, errlen, "unknown content part type '%.40s'", type->valuestring);
            goto fail;
        }
    }
    if (!oom) return b.data;
    snprintf(err, errlen, "out of memory");
fail:
    snprintf(param, 64, "messages");
    buf_free(&b);
    return NULL;
}

int chat_req_parse(const cJSON *q, const req_model *model, chat_req *r, char *param, char *err,
                   size_t errlen)
{
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(q, "messages");
    int n = cJSON_GetArraySize(msgs);
    snprintf(param, 64, "messages");
    if (!cJSON_IsArray(msgs) || n < 1 || n > CHAT_MAX_MESSAGES)
        return snprintf(err, errlen, "'messages' must be an array of 1 to %d messages",
                        CHAT_MAX_MESSAGES), -1;
    int has_system = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs)
    {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        has_system |= cJSON_IsString(role) && (!strcmp(role->valuestring, "system") ||
                                               !strcmp(role->valuestring, "developer"));
    }
    int extra = model->tmpl == CHAT_JANUS && !has_system; /* Janus' own system prompt */
    r->msgs = calloc((size_t)(n + extra), sizeof *r->msgs);
    r->texts = calloc((size_t)(n + extra), sizeof *r->texts);
    if (!r->msgs || !r->texts) return snprintf(err, errlen, "out of memory"), -1;
    if (extra) {
        if (!(r->texts[0] = strdup(CHAT_JANUS_SYSTEM_PROMPT)))
            return snprintf(err, errlen, "out of memory"), -1;
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
        char *t = message_text(model, cJSON_GetObjectItemCaseSensitive(m, "content"),
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
    int ctx = model->ctx;
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
    r->gp.reasoning = chat_template_opens_think(model->tmpl) ? 2 : 1;
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

int image_req_parse(const cJSON *q, const req_model *m, image_req *r, char *param, char *err,
                    size_t errlen)
{
    char native[32];
    snprintf(native, sizeof native, "%dx%d", m->image_size, m->image_size);
    *r = (image_req){.n = 1, .seed = -1, .cfg = 5, .temperature = 1};
    snprintf(param, 64, "model");
    if (!m->image_size)
        return snprintf(err, errlen, "the model '%s' does not make images", m->id), -1;
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(q, "prompt");
    snprintf(param, 64, "prompt");
    if (!cJSON_IsString(p) || !p->valuestring[0] || strlen(p->valuestring) > SERVE_MAX_PROMPT_BYTES)
        return snprintf(err, errlen, "'prompt' must be a string of 1 to %d bytes",
                        SERVE_MAX_PROMPT_BYTES), -1;
    r->prompt = p->valuestring;
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(q, "size");
    snprintf(param, 64, "size");
    if (size && !cJSON_IsNull(size) && (!cJSON_IsString(size) || strcmp(size->valuestring, native)))
        return snprintf(err, errlen, "size %.40s is not available: this model makes %s images "
                        "(sizes: %s)", cJSON_IsString(size) ? size->valuestring : "?", native,
                        native), -1;
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(q, "response_format");
    snprintf(param, 64, "response_format");
    r->b64 = cJSON_IsString(fmt) && !strcmp(fmt->valuestring, "b64_json");
    if (fmt && !cJSON_IsNull(fmt) && !r->b64 && !(cJSON_IsString(fmt) && !strcmp(fmt->valuestring, "url")))
        return snprintf(err, errlen, "response_format is url or b64_json"), -1;
    double n = 1;
    const char *num[] = {"n", "seed", "cfg", "temperature"};
    double lo[] = {1, 0, 0, 0}, hi[] = {m->max_images, 9007199254740992.0 /* 2^53: exact in JSON */, 100, 100};
    double *dst[] = {&n, &r->seed, &r->cfg, &r->temperature};
    for (int i = 0; i < 4; i++) {
        snprintf(param, 64, "%s", num[i]);
        if (field_number(q, num[i], lo[i], hi[i], dst[i], err, errlen)) {
            if (i == 0) snprintf(err + strlen(err), errlen - strlen(err), " (--max-batch / 2 on this server)");
            return -1;
        }
    }
    r->n = (int)n;
    return 0;
}
