/* generate.h: a request's output as a stream of typed events. A session is one sequence's
 * KV cache and the tokens in it; each request gives the whole prompt (a chat's conversation
 * so far) and the part the cache already holds is reused. The CLI, and later the server and
 * the preview window, consume this stream. */
#ifndef VKSEEK_GENERATE_H
#define VKSEEK_GENERATE_H

#include "engine/model.h"
#include "text/sampler.h"

typedef enum { GEN_TEXT, GEN_REASONING, GEN_END } gen_kind;

typedef struct {
    gen_kind kind;
    const char *text;          /* GEN_TEXT, GEN_REASONING: a piece of UTF-8 */
    size_t len;
    /* GEN_END */
    int n_prompt, n_cached;    /* prompt tokens, of which the cache already held n_cached */
    int n_gen;                 /* tokens generated */
    double prefill_s, decode_s;
    const char *finish;        /* "stop" (EOS or a stop string), "length", "cancelled" */
} gen_event;

/* Receives events in order; a non-zero return cancels the generation. */
typedef int (*gen_sink)(const gen_event *e, void *user);

typedef struct {
    sampler_params sampling;
    int max_tokens;            /* <= 0: until EOS or a full context */
    const char *const *stop;   /* stop strings (not emitted) */
    int n_stop;
    int reasoning;             /* 0 none, 1 a leading <think> opens it, 2 the prompt opened it */
} gen_params;

typedef struct session session;

session *session_new(model *m, char *err, size_t errlen);
void session_free(session *s);
/* Forgets the cached tokens (a new conversation). */
void session_reset(session *s);
/* Prefills prompt[0..n) (reusing the cached prefix) and generates, streaming to sink.
 * embeds, when not NULL, are the prompt's embeddings [D, n, 1] to use instead of the ids'
 * (Janus: image features spliced in); the cache is then not reused. -1 with err set on
 * failure (an END event is not sent then). */
int session_generate(session *s, const int32_t *prompt, int n, gpu_tensor *embeds,
                     const gen_params *p, gen_sink sink, void *user, char *err, size_t errlen);

#endif
