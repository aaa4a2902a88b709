/* images_api.c: POST /v1/images/generations. The prompt's n images run as one request in
 * the scheduler (2n cache slots); each is saved to the gallery as it finishes, and the reply
 * gives gallery URLs ("url", the default) or the PNG files in base64 ("b64_json"). Extensions:
 * "cfg" (guidance weight) and "temperature". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "engine/prompt.h"
#include "serve/internal.h"

/* The saved PNG of a gallery id in base64, or NULL. */
static char *png_base64(server *sv, const char *id)
{
    char path[4096];
    if (gallery_path(sv->g, id, path, sizeof path)) return NULL;
    FILE *f = fopen(path, "rb");
    struct stat st;
    char *out = NULL;
    if (f && !fstat(fileno(f), &st) && st.st_size > 0 && st.st_size < (64 << 20)) {
        uint8_t *b = malloc((size_t)st.st_size);
        if (b && fread(b, 1, (size_t)st.st_size, f) == (size_t)st.st_size)
            out = base64_encode(b, (size_t)st.st_size);
        free(b);
    }
    if (f) fclose(f);
    return out;
}

enum MHD_Result api_images(server *sv, struct MHD_Connection *c, const char *body, size_t len)
{
    enum MHD_Result rc;
    cJSON *q = parse_request(sv, c, body, len, &rc);
    if (!q) return rc;
    char err[512], param[64];
    int32_t *ids = NULL, pad;
    size_t n_ids = 0;
    job *j = NULL;
    req_model rm = server_req_model(sv);
    image_req ir;
    if (image_req_parse(q, &rm, &ir, param, err, sizeof err)) {
        rc = reply_error(sv, c, 400, param, NULL, "%s", err);
        goto done;
    }
    if (prompt_image(sv->m, ir.prompt, &ids, &n_ids, &pad, err, sizeof err)) {
        rc = reply_error(sv, c, 400, "prompt", NULL, "%s", err);
        goto done;
    }
    if (!(j = job_new(ir.n))) {
        rc = reply_error(sv, c, 500, NULL, NULL, "out of memory");
        goto done;
    }
    janus_gen_params gp = {.cfg = (float)ir.cfg, .sampling = sampler_defaults()};
    gp.sampling.temperature = (float)ir.temperature;
    gp.sampling.seed = ir.seed >= 0 ? (uint64_t)ir.seed : (uint64_t)time(NULL) ^ (uint64_t)clock();
    j->g = sv->g;
    j->meta = (gallery_entry){.prompt = strdup(ir.prompt), .model = strdup(sv->model_id),
                              .seed = gp.sampling.seed, .cfg = ir.cfg,
                              .temperature = ir.temperature};
    sched_request sr = {.kind = REQ_IMAGE, .ids = ids, .n = (int)n_ids, .n_images = ir.n,
                        .image = gp, .pad_id = pad};
    if (!j->meta.prompt || !j->meta.model) {
        job_release(j); /* never submitted: the scheduler's reference too */
        rc = reply_error(sv, c, 500, NULL, NULL, "out of memory");
        goto done;
    }
    if (submit_job(sv, c, &sr, j)) {
        rc = MHD_YES;
        goto done;
    }
    if (await_job(sv, c, j)) {
        rc = MHD_NO;
        goto done;
    }
    if (strcmp(j->finish, "stop") || j->n_saved != j->n_images) {
        rc = reply_error(sv, c, !strcmp(j->finish, "cancelled") && !j->error[0] ? 503 : 500, NULL,
                         NULL, "%s", j->error[0] ? j->error : "the server is shutting down");
        goto done;
    }
    char base[300];
    base_url(sv, c, base, sizeof base);
    cJSON *o = cJSON_CreateObject(), *data = cJSON_AddArrayToObject(o, "data");
    cJSON_AddNumberToObject(o, "created", (double)time(NULL));
    for (int i = 0; i < j->n_images; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddItemToArray(data, e);
        if (ir.b64) {
            char *s = png_base64(sv, j->ids[i]);
            if (!s) {
                cJSON_Delete(o);
                rc = reply_error(sv, c, 500, NULL, NULL, "gallery image %s cannot be read", j->ids[i]);
                goto done;
            }
            cJSON_AddStringToObject(e, "b64_json", s);
            free(s);
        } else {
            char url[400];
            snprintf(url, sizeof url, "%s/gallery/%s.png", base, j->ids[i]);
            cJSON_AddStringToObject(e, "url", url);
        }
        cJSON_AddStringToObject(e, "revised_prompt", ir.prompt);
    }
    rc = reply_json(sv, c, 200, o);
done:
    job_release(j);
    free(ids);
    cJSON_Delete(q);
    return rc;
}
