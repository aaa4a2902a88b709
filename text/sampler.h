/* sampler.h: picks the next token from one row of logits on the host: repetition penalty,
 * temperature, top-k, top-p, min-p, then a draw from the renormalised distribution with
 * the sampler's own PRNG and exp, so a seed and a row give the same token on every machine.
 * Never touches the GPU and never allocates per call (buffers grow to the vocabulary once). */
#ifndef VKSEEK_SAMPLER_H
#define VKSEEK_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#define SAMPLER_MAX_VOCAB (1 << 24)   /* bound on n_vocab */
#define SAMPLER_MAX_WINDOW (1 << 20)  /* bound on penalty_last_n */

typedef struct {
    float temperature;     /* 0: greedy argmax (ties to the lowest id); else logits / T */
    int top_k;             /* keep the k most likely; 0 = off */
    float top_p;           /* keep the smallest most-likely set with mass >= top_p; 1 = off */
    float min_p;           /* keep p >= min_p * p_max; 0 = off */
    float repeat_penalty;  /* HF/llama.cpp: l > 0 ? l / r : l * r for ids in the window; 1 = off */
    int penalty_last_n;    /* the window: the last n ids of the history; 0 = penalty off */
    uint64_t seed;         /* PRNG seed */
} sampler_params;

typedef struct sampler sampler;

/* Every filter off, temperature 1, window 64, seed 0. */
sampler_params sampler_defaults(void);

/* NULL with a message when a parameter is out of range (temperature < 0 or not finite,
 * top_k < 0, top_p outside (0, 1], min_p outside [0, 1], repeat_penalty <= 0 or not
 * finite, penalty_last_n outside [0, SAMPLER_MAX_WINDOW]) or memory runs out. */
sampler *sampler_new(const sampler_params *p, char *err, size_t errlen);
void sampler_free(sampler *s);

/* The next token id from logits[0..n_vocab), or -1 with a message. The penalty is
 * applied to logits in place (the row is scratch). history[0..n_history) are the ids so
 * far (prompt and generated, oldest first); the last penalty_last_n of them are penalised,
 * each distinct id once. Ties in every ordering go to the lower id.
 * Errors, never a silent fallback: a NaN or +inf logit, every logit -inf, n_vocab outside
 * [1, SAMPLER_MAX_VOCAB], or (penalty on) a history id outside [0, n_vocab).
 * Cost: O(n_vocab) plus a sort of only the top-p boundary, never of the whole row. */
int sampler_sample(sampler *s, float *logits, int n_vocab, const int32_t *history,
                   int n_history, char *err, size_t errlen);

/* The distribution sampler_sample would draw from (same steps, no draw, PRNG untouched):
 * the kept ids and their renormalised probabilities, in no particular order, in ids/probs
 * (room for cap entries; cap >= n_vocab is always enough). Returns the number kept, or -1
 * with a message (the errors above, or more than cap kept). Greedy keeps one id, p = 1. */
int sampler_dist(sampler *s, float *logits, int n_vocab, const int32_t *history,
                 int n_history, int32_t *ids, double *probs, int cap, char *err,
                 size_t errlen);

#endif
