/* scheduler.h: every request (a chat, a chat about pictures, images from a prompt) becomes
 * sequences in one scheduler, which advances all of them together, one batched GPU step at
 * a time (continuous batching): a new request takes free cache slots and joins at the next
 * step, a finished one leaves and frees them. Each request's output is its stream of typed
 * events (generate.h).
 *
 * A step: admit queued requests that fit the free slots (in order); prefill one chunk of
 * one waiting prompt; then one decode step for every sequence past its prompt, chat tokens
 * and image tokens in the same batch. A chat reuses the slot whose cached tokens share the
 * longest prefix with its prompt (a conversation's next turn re-reads only the new part).
 *
 * Threads: sched_submit, sched_cancel and sched_wait may be called from any thread;
 * sched_step from one thread only (it owns the GPU). Sinks run on the stepping thread. */
#ifndef VKSEEK_SCHEDULER_H
#define VKSEEK_SCHEDULER_H

#include "engine/generate.h"
#include "engine/janus.h"

typedef struct scheduler scheduler;

typedef enum { REQ_CHAT, REQ_IMAGE } req_kind;

typedef struct {
    req_kind kind;
    const int32_t *ids;        /* the prompt (an image prompt ends with <begin_of_image>) */
    int n;
    gen_sink sink;
    void *user;
    /* REQ_CHAT */
    gen_params gen;
    const float *pixels;       /* Janus: n_pictures preprocessed [3][S][S] pictures whose */
    int n_pictures;            /* features replace the ids equal to picture_id, in order */
    int32_t picture_id;
    /* REQ_IMAGE */
    int n_images;              /* 2 x n_images cache slots, conditional and unconditional */
    janus_gen_params image;
    int32_t pad_id;            /* the unconditional rows' prompt: BOS, pads, <begin_of_image> */
} sched_request;

/* Prompt tokens a step reads (in all of a request's rows), so running sequences keep
 * moving and activations stay bounded (engine/plan.c). */
#define SCHED_PREFILL_TOKENS 512

/* A scheduler over m's cache slots (lm_seqs); j (NULL for text-only models) for pictures
 * and images. */
scheduler *sched_new(model *m, janus *j, char *err, size_t errlen);
/* Ends every request (their sinks get an END "cancelled") and refuses new ones; the caller
 * becomes the stepping thread. For shutting down while other threads may still submit. */
void sched_close(scheduler *s);
/* sched_close, then frees (no other thread may use s any more). */
void sched_free(scheduler *s);

/* Queues a request (its data is copied); its id (>= 0), or -1 with err set when it can
 * never run (an empty or too long prompt, more slots than the model has, bad parameters),
 * -2 after sched_close. */
int sched_submit(scheduler *s, const sched_request *r, char *err, size_t errlen);
/* Ends a request at the next step (END "cancelled"); unknown or finished ids are ignored. */
void sched_cancel(scheduler *s, int id);
/* Requests queued or running. */
int sched_pending(scheduler *s);
/* Blocks until a request is pending or timeout_ms passes (serving loops). */
void sched_wait(scheduler *s, int timeout_ms);

/* One step. 0, or -1 with err set when the device failed (the requests it touched end with
 * "error"; the scheduler stays usable). */
int sched_step(scheduler *s, char *err, size_t errlen);
/* Steps until request id has ended (the CLI's way: submit, then run). */
int sched_run(scheduler *s, int id, char *err, size_t errlen);

/* Counters for /metrics and tests, from any thread (queued and running as of the last step,
 * plus what was submitted since). */
typedef struct {
    uint64_t requests, tokens, images, steps, batched_rows;
    uint64_t drafts, accepted; /* speculative decoding: MTP drafts checked, and accepted */
    double step_s;             /* time spent in steps */
    int queued, running;
    uint64_t device_memory;    /* bytes held on the device after the last step */
} sched_stats;
sched_stats sched_get_stats(scheduler *s);

#endif
