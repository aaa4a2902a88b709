/* moe.c: see moe.h. Scores in double: near-ties between experts must break as the
 * reference's f32 math does, and f32 values are exact in double. */
#include <math.h>
#include <stdlib.h>
#include "text/moe.h"

/* Index of the largest of v[0..n) not yet taken (first on ties). */
static int best(const double *v, const char *taken, int n)
{
    int b = -1;
    for (int i = 0; i < n; i++)
        if (!taken[i] && (b < 0 || v[i] > v[b])) b = i;
    return b;
}

void moe_route(const lm_config *c, const float *logits, const float *bias, int n, int32_t *idx,
               float *w)
{
    int E = c->n_routed_experts, k = c->n_experts_per_tok, G = c->n_group;
    double *s = malloc((size_t)E * sizeof *s), *sel = malloc((size_t)E * sizeof *sel);
    double *gs = malloc((size_t)(G > 0 ? G : 1) * sizeof *gs);
    char *taken = malloc((size_t)(E > G ? E : G));
    for (int t = 0; t < n && s && sel && gs && taken; t++) {
        const float *l = logits + (int64_t)t * E;
        if (c->scoring == SCORE_SIGMOID) {
            for (int e = 0; e < E; e++) s[e] = (float)(1.0 / (1.0 + exp(-(double)l[e])));
        } else {
            double m = -INFINITY, sum = 0;
            for (int e = 0; e < E; e++) m = fmax(m, l[e]);
            for (int e = 0; e < E; e++) sum += exp((double)l[e] - m);
            for (int e = 0; e < E; e++) s[e] = (float)(exp((double)l[e] - m) / sum);
        }
        for (int e = 0; e < E; e++) sel[e] = (float)(s[e] + (bias ? bias[e] : 0.0f));
        /* keep only the best topk_group groups */
        if (G > 1 && c->topk_method != TOPK_GREEDY) {
            int per = E / G;
            for (int g = 0; g < G; g++) {
                const double *v = sel + g * per;
                if (bias) { /* sum of the top two */
                    int a = 0;
                    for (int i = 1; i < per; i++) if (v[i] > v[a]) a = i;
                    int b = a == 0 ? 1 : 0;
                    for (int i = 0; i < per; i++) if (i != a && v[i] > v[b]) b = i;
                    gs[g] = per > 1 ? v[a] + v[b] : v[a];
                } else {
                    gs[g] = v[0];
                    for (int i = 1; i < per; i++) gs[g] = fmax(gs[g], v[i]);
                }
            }
            for (int g = 0; g < G; g++) taken[g] = 0;
            for (int j = 0; j < c->topk_group; j++) taken[best(gs, taken, G)] = 1;
            for (int g = 0; g < G; g++)
                if (!taken[g])
                    for (int i = 0; i < per; i++) sel[g * per + i] = -INFINITY;
        }
        for (int e = 0; e < E; e++) taken[e] = 0;
        double sum = 0;
        for (int j = 0; j < k; j++) {
            int e = best(sel, taken, E);
            taken[e] = 1;
            idx[(int64_t)t * k + j] = e;
            w[(int64_t)t * k + j] = (float)s[e];   /* the unbiased score */
            sum += (float)s[e];
        }
        /* Renormalise when asked; scale always for V3, only without renormalising for V2
         * (the two Hugging Face implementations; they agree on every released config). */
        int renorm = c->norm_topk_prob && k > 1;
        for (int j = 0; j < k; j++) {
            float *v = &w[(int64_t)t * k + j];
            if (renorm) *v = (float)(*v / (sum + 1e-20));
            if (c->arch == LM_DEEPSEEK_V3 || !renorm) *v *= c->routed_scaling_factor;
        }
    }
    free(s), free(sel), free(gs), free(taken);
}
