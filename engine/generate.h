/* generate.h: a request's output as a stream of typed events, and the text side of it: a
 * chat sequence's sampled tokens turned into text and reasoning pieces (UTF-8 held whole,
 * stop strings cut, <think> split off). The scheduler (scheduler.h) produces the events;
 * the CLI, the server and the preview window consume them. */
#ifndef VKSEEK_GENERATE_H
#define VKSEEK_GENERATE_H

#include <stdint.h>
#include "engine/model.h"
#include "text/sampler.h"

typedef enum {
    GEN_TEXT,            /* a piece of the answer */
    GEN_REASONING,       /* a piece of the reasoning (inside <think>) */
    GEN_IMAGE_PROGRESS,  /* every image's codes so far */
    GEN_IMAGE_DONE,      /* one finished image */
    GEN_END              /* the last event of a request */
} gen_kind;

typedef struct {
    gen_kind kind;
    const char *text;          /* GEN_TEXT, GEN_REASONING: a piece of UTF-8 */
    size_t len;
    /* GEN_IMAGE_PROGRESS: codes [n_images][total], the first `step` of each drawn;
     * GEN_IMAGE_DONE: image `image`'s codes and pixels rgb [size][size][3] */
    int n_images, image, step, total, size;
    const int32_t *codes;
    const uint8_t *rgb;
    /* GEN_END */
    int n_prompt, n_cached;    /* prompt tokens, of which the cache already held n_cached */
    int n_gen;                 /* tokens generated (image tokens count once per image) */
    int n_drafts, n_accepted;  /* speculative decoding: MTP drafts checked, and accepted */
    double queue_s, prefill_s, decode_s; /* waiting for a slot, the prompt, the rest */
    const char *finish;        /* "stop" (EOS or a stop string), "length", "cancelled",
                                  "error" (error says why) */
    const char *error;
} gen_event;

/* Receives events in order; a non-zero return cancels the request. */
typedef int (*gen_sink)(const gen_event *e, void *user);

typedef struct {
    sampler_params sampling;
    int max_tokens;            /* <= 0: until EOS or a full context */
    const char *const *stop;   /* stop strings (not emitted) */
    int n_stop;
    int reasoning;             /* 0 none, 1 a leading <think> opens it, 2 the prompt opened it */
} gen_params;

/* One chat sequence's text output. */
typedef struct text_out text_out;

text_out *text_out_new(const tokenizer *tok, const gen_params *p, char *err, size_t errlen);
void text_out_free(text_out *t);
/* Emits token id's text. 0: go on; 1: done (a stop string matched, or the sink cancelled:
 * text_out_cancelled tells which); -1 with err set. */
int text_out_token(text_out *t, int32_t id, gen_sink sink, void *user, char *err,
                   size_t errlen);
/* Emits what the holders kept back (not after a stop string or a cancel). 0, 1 (the sink
 * cancelled) or -1. */
int text_out_finish(text_out *t, gen_sink sink, void *user, char *err, size_t errlen);
int text_out_cancelled(const text_out *t);

#endif
