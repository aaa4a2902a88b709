/* job.c: a request's events, from the engine thread's sink to the connection waiting on
 * them. The sink only copies under the job's lock and signals; the connection formats. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "serve/internal.h"

job *job_new(int n_images)
{
    job *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    if (n_images > 0 && !(j->ids = calloc((size_t)n_images, sizeof *j->ids))) {
        free(j);
        return NULL;
    }
    j->n_images = n_images;
    j->refs = 2;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    return j;
}

void job_release(job *j)
{
    if (!j) return;
    pthread_mutex_lock(&j->mu);
    int last = --j->refs == 0;
    pthread_mutex_unlock(&j->mu);
    if (!last) return;
    buf_free(&j->content);
    buf_free(&j->reasoning);
    free(j->meta.prompt), free(j->meta.model), free(j->ids);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    free(j);
}

void job_wait(job *j, int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
    pthread_cond_timedwait(&j->cv, &j->mu, &ts);
}

/* Image i into the gallery (engine thread; outside the job's lock: it writes a file). */
static int save_image(job *j, const gen_event *e, char *err, size_t errlen)
{
    gallery_entry meta = j->meta;
    meta.seed += (uint64_t)e->image;
    image im = {e->size, e->size, (uint8_t *)e->rgb};
    if (gallery_add(j->g, &im, &meta, err, errlen)) return -1;
    pthread_mutex_lock(&j->mu);
    memcpy(j->ids[e->image], meta.id, sizeof meta.id);
    j->n_saved++;
    pthread_mutex_unlock(&j->mu);
    return 0;
}

int job_sink(const gen_event *e, void *user)
{
    job *j = user;
    char err[512] = "";
    int fail = e->kind == GEN_IMAGE_DONE && e->image < j->n_images && save_image(j, e, err, sizeof err);
    pthread_mutex_lock(&j->mu);
    int oom = 0;
    if (e->kind == GEN_TEXT) oom = buf_add(&j->content, e->text, e->len);
    else if (e->kind == GEN_REASONING) oom = buf_add(&j->reasoning, e->text, e->len);
    else if (e->kind == GEN_IMAGE_PROGRESS) j->step = e->step, j->total = e->total;
    if (fail || oom) snprintf(j->error, sizeof j->error, "%s", oom ? "out of memory" : err);
    int stop = j->abandoned || fail || oom;
    int end = e->kind == GEN_END;
    if (end) {
        j->done = 1;
        snprintf(j->finish, sizeof j->finish, "%s", j->error[0] ? "error" : e->finish);
        if (e->error && !j->error[0]) snprintf(j->error, sizeof j->error, "%s", e->error);
        j->n_prompt = e->n_prompt, j->n_cached = e->n_cached, j->n_gen = e->n_gen;
    }
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    if (end) job_release(j); /* the scheduler's reference */
    return stop;
}
