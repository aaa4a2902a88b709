/* test_memory.c: the engine keeps to its memory plan (engine/plan.c). Requests at the plan's
 * limits run through the scheduler: a chat whose prompt fills the context on a DeepSeek-V3
 * stack, decoding in every slot, and the built-in model drawing two pictures from a
 * prompt of the longest length an image request allows. The device memory's peak stays
 * within the plan, no stream outgrows the reserved scratch, and for the chat (which uses
 * every part the plan counts) the plan is within 10% of the peak, so it cannot pass by
 * being large. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine/loader.h"
#include "engine/scheduler.h"
#include "harness.h"

static int sink(const gen_event *e, void *user)
{
    if (e->kind == GEN_END) *(int *)user = strcmp(e->finish, "error") ? 1 : -1;
    return 0;
}

/* Runs the requests to their ends; then the peak against m's plan. tight: the plan may
 * exceed the peak by at most 10%. */
static void run_and_check(const char *what, model *m, scheduler *s, sched_request *r, int n,
                          int tight)
{
    char err[512];
    int ended[8] = {0};
    gpu_memory_peak_reset(m->ctx);
    for (int i = 0; i < n; i++) {
        r[i].sink = sink, r[i].user = &ended[i];
        th_expect(sched_submit(s, &r[i], err, sizeof err) >= 0, "%s: submit: %s", what, err);
    }
    for (int guard = 0; sched_pending(s) && guard < 100000; guard++)
        if (sched_step(s, err, sizeof err)) th_expect(0, "%s: step: %s", what, err);
    for (int i = 0; i < n; i++) th_expect(ended[i] == 1, "%s: request %d finished", what, i);
    uint64_t peak = gpu_memory_peak(m->ctx), plan = plan_total(&m->plan);
    char str[160];
    printf("%s: peak %.2f MB, plan %.2f MB (%s); scratch used %.2f of %.2f MB\n", what,
           peak / 1e6, plan / 1e6, plan_str(&m->plan, str, sizeof str),
           gpu_scratch_peak(m->ctx) / 1e6, m->plan.scratch / 1e6);
    th_expect(peak <= plan, "%s: the peak %.3f MB is within the plan %.3f MB", what, peak / 1e6,
              plan / 1e6);
    th_expect(gpu_scratch_peak(m->ctx) <= m->plan.scratch,
              "%s: no stream outgrew the planned scratch", what);
    if (tight)
        th_expect(plan <= peak * 1.1, "%s: the plan %.3f MB is within 10%% of the peak %.3f MB",
                  what, plan / 1e6, peak / 1e6);
}

/* DeepSeek-V3 (tiny): a prompt filling the context in two slots, then decoding in both. */
static void test_chat(void)
{
    char err[512];
    enum { CTX = 500, SLOTS = 2, GEN = 4 };
    model_options mo = {.device = -1, .quant = QUANT_KEEP, .n_seq = SLOTS, .n_ctx = CTX};
    model *m = model_open("data/tiny-chat", &mo, err, sizeof err);
    scheduler *s = m ? sched_new(m, NULL, err, sizeof err) : NULL;
    if (th_expect(s != NULL, "open tiny-chat: %s", err)) {
        int32_t ids[CTX];
        for (int i = 0; i < CTX; i++) ids[i] = 2 + (int32_t)th_randu(200);
        sched_request r[SLOTS];
        for (int i = 0; i < SLOTS; i++) {
            r[i] = (sched_request){.kind = REQ_CHAT, .ids = ids, .n = CTX - GEN - i};
            r[i].gen.sampling = sampler_defaults();
            r[i].gen.max_tokens = GEN;
        }
        run_and_check("chat", m, s, r, SLOTS, 1);
    }
    sched_free(s);
    model_close(m);
}

/* The built-in model (Janus towers): two pictures from the longest prompt generate allows. */
static void test_pictures(void)
{
    char err[512];
    model_options mo = {.device = -1, .quant = QUANT_KEEP, .n_seq = 4, .image_ctx = 1,
                        .need_tokenizer = 1};
    model *m = model_open("../models/vkseek-shapes", &mo, err, sizeof err);
    janus *j = m ? janus_load(m, QUANT_KEEP, err, sizeof err) : NULL;
    scheduler *s = j ? sched_new(m, j, err, sizeof err) : NULL;
    if (th_expect(s != NULL, "open the built-in model: %s", err)) {
        int32_t ids[MODEL_IMAGE_PROMPT];
        for (int i = 0; i < MODEL_IMAGE_PROMPT; i++) ids[i] = 2 + (int32_t)th_randu(200);
        sched_request r = {.kind = REQ_IMAGE, .ids = ids, .n = MODEL_IMAGE_PROMPT,
                           .n_images = 2, .pad_id = 1};
        r.image.cfg = 5;
        r.image.sampling = sampler_defaults();
        run_and_check("pictures", m, s, &r, 1, 0);
    }
    sched_free(s);
    janus_free(j);
    model_close(m);
}

int main(void)
{
    th_init("test_memory");
    test_chat();
    test_pictures();
    return th_finish();
}
