/* test_sampler.c: the host sampler: parameter checks, greedy argmax, reproducible draws,
 * the exact set each filter keeps (hand-built rows and a full-vocabulary row against a
 * full-sort reference), repetition penalty arithmetic, a chi-square test of draws against
 * softmax, and rows with NaN / inf. Fixed seeds: every run is the same. No GPU. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "text/sampler.h"
#include "check.h"

#define V3_VOCAB 129280

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "test_sampler: out of memory\n");
        exit(1);
    }
    return p;
}

/* Test-side generator (splitmix64), independent of the sampler's. */
static uint64_t trng = 12345;
static uint64_t tnext(void)
{
    uint64_t z = (trng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Logits of a spread like a real LM head's: exact in float, from integers only. */
static float *random_row(int n)
{
    float *l = xmalloc((size_t)n * sizeof *l);
    for (int i = 0; i < n; i++) l[i] = (float)(int)(tnext() % 24001) / 1000.0f - 12.0f;
    return l;
}

static sampler *make(sampler_params p)
{
    char err[256];
    sampler *s = sampler_new(&p, err, sizeof err);
    if (!s) {
        fprintf(stderr, "test_sampler: %s\n", err);
        exit(1);
    }
    return s;
}

static void test_params_are_validated(void)
{
    struct {
        const char *what;
        sampler_params p;
    } bad[] = {
        {"negative temperature", {.temperature = -0.1f, .top_p = 1, .repeat_penalty = 1}},
        {"NaN temperature", {.temperature = NAN, .top_p = 1, .repeat_penalty = 1}},
        {"infinite temperature", {.temperature = INFINITY, .top_p = 1, .repeat_penalty = 1}},
        {"negative top_k", {.temperature = 1, .top_k = -1, .top_p = 1, .repeat_penalty = 1}},
        {"top_p 0", {.temperature = 1, .top_p = 0, .repeat_penalty = 1}},
        {"top_p above 1", {.temperature = 1, .top_p = 1.01f, .repeat_penalty = 1}},
        {"NaN top_p", {.temperature = 1, .top_p = NAN, .repeat_penalty = 1}},
        {"negative min_p", {.temperature = 1, .top_p = 1, .min_p = -0.01f, .repeat_penalty = 1}},
        {"min_p above 1", {.temperature = 1, .top_p = 1, .min_p = 1.5f, .repeat_penalty = 1}},
        {"penalty 0", {.temperature = 1, .top_p = 1, .repeat_penalty = 0}},
        {"negative penalty", {.temperature = 1, .top_p = 1, .repeat_penalty = -1}},
        {"NaN penalty", {.temperature = 1, .top_p = 1, .repeat_penalty = NAN}},
        {"negative window", {.temperature = 1, .top_p = 1, .repeat_penalty = 1,
                             .penalty_last_n = -1}},
        {"huge window", {.temperature = 1, .top_p = 1, .repeat_penalty = 1,
                         .penalty_last_n = SAMPLER_MAX_WINDOW + 1}},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char err[256] = "";
        sampler *s = sampler_new(&bad[i].p, err, sizeof err);
        check(!s && strncmp(err, "sampler: ", 9) == 0, "%s is rejected with a message (got '%s')",
              bad[i].what, err);
        sampler_free(s);
    }
    sampler_params ok = sampler_defaults();
    ok.temperature = 0;
    ok.min_p = 1;
    char err[256];
    sampler *s = sampler_new(&ok, err, sizeof err);
    check(s != NULL, "greedy with min_p 1 is accepted");
    sampler_free(s);
}

static void test_greedy_is_argmax_lowest_id_on_ties(void)
{
    sampler_params p = sampler_defaults();
    p.temperature = 0;
    p.top_k = 3; /* filters do not matter to greedy */
    sampler *s = make(p);
    float *l = random_row(V3_VOCAB);
    int want = 0;
    for (int i = 1; i < V3_VOCAB; i++)
        if (l[i] > l[want]) want = i;
    char err[256];
    int got = sampler_sample(s, l, V3_VOCAB, NULL, 0, err, sizeof err);
    check(got == want, "greedy: argmax of a V3-sized row is %d, got %d", want, got);
    l[70000] = l[want] + 1;
    l[90000] = l[want] + 1;
    l[80000] = l[want] + 1;
    got = sampler_sample(s, l, V3_VOCAB, NULL, 0, err, sizeof err);
    check(got == 70000, "greedy: a three-way tie goes to the lowest id 70000, got %d", got);
    float neg[4] = {-INFINITY, -5, -3, -3};
    got = sampler_sample(s, neg, 4, NULL, 0, err, sizeof err);
    check(got == 2, "greedy: negative row with -inf, tie at -3 -> 2, got %d", got);
    free(l);
    sampler_free(s);
}

static void draw_seq(uint64_t seed, const float *row, int n, int *out, int count)
{
    sampler_params p = sampler_defaults();
    p.temperature = 0.8f;
    p.top_k = 50;
    p.top_p = 0.95f;
    p.seed = seed;
    sampler *s = make(p);
    float *l = xmalloc((size_t)n * sizeof *l);
    char err[256];
    for (int i = 0; i < count; i++) {
        memcpy(l, row, (size_t)n * sizeof *l);
        out[i] = sampler_sample(s, l, n, NULL, 0, err, sizeof err);
    }
    free(l);
    sampler_free(s);
}

static void test_same_seed_same_tokens(void)
{
    enum { N = 200 };
    trng = 777;
    float *row = random_row(V3_VOCAB);
    int a[N], b[N], c[N];
    draw_seq(42, row, V3_VOCAB, a, N);
    draw_seq(42, row, V3_VOCAB, b, N);
    draw_seq(43, row, V3_VOCAB, c, N);
    int same_ab = memcmp(a, b, sizeof a) == 0, diff_ac = 0, distinct = 0;
    for (int i = 0; i < N; i++) {
        diff_ac += a[i] != c[i];
        int seen = 0;
        for (int j = 0; j < i; j++) seen |= a[j] == a[i];
        distinct += !seen;
    }
    check(same_ab, "seed 42 twice gives the same %d tokens", N);
    check(diff_ac > N / 4, "seeds 42 and 43 differ in %d of %d draws (want > %d)", diff_ac, N,
          N / 4);
    check(distinct > 5, "the draws are not constant (%d distinct ids)", distinct);
    free(row);
}

/* The exact tokens for one seed and row (exact in float): pins the PRNG, the exp and the
 * draw. The ids come from tools/sampler_pin.py, a separate Python re-implementation, so a
 * compiler, libm or port that changes any of them fails here. */
static void test_sequence_is_pinned(void)
{
    float row[64];
    for (int i = 0; i < 64; i++) row[i] = (float)((i * 37) % 64) / 16.0f;
    sampler_params p = sampler_defaults();
    p.seed = 2024;
    sampler *s = make(p);
    char err[256];
    int got[16];
    for (int i = 0; i < 16; i++) {
        float l[64];
        memcpy(l, row, sizeof l);
        got[i] = sampler_sample(s, l, 64, NULL, 0, err, sizeof err);
    }
    static const int pinned[16] = {5, 50, 5, 12, 50, 17, 24, 17, 36, 5, 46, 58, 57, 23, 50, 12};
    int ok = memcmp(got, pinned, sizeof got) == 0;
    if (!check(ok, "seed 2024 on the 64-entry row gives the pinned sequence")) {
        printf("  got:");
        for (int i = 0; i < 16; i++) printf(" %d", got[i]);
        printf("\n");
    }
    /* every probability bit for bit, folded with FNV-1a as the script does */
    float l[64];
    memcpy(l, row, sizeof l);
    int32_t ids[64];
    double probs[64], by_id[64] = {0};
    int m = sampler_dist(s, l, 64, NULL, 0, ids, probs, 64, err, sizeof err);
    for (int i = 0; i < m; i++) by_id[ids[i]] = probs[i];
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < 64; i++) {
        uint64_t bits;
        memcpy(&bits, &by_id[i], sizeof bits);
        h = (h ^ bits) * 0x100000001b3ull;
    }
    check(m == 64 && h == 0xe2ab068df717132full,
          "the 64 probabilities match tools/sampler_pin.py bit for bit (hash %016llx)",
          (unsigned long long)h);
    sampler_free(s);
}

/* Runs sampler_dist and returns the kept ids as a sorted array (count in *n). */
static int dist(sampler_params p, const float *row, int n, int32_t *ids, double *probs)
{
    sampler *s = make(p);
    float *l = xmalloc((size_t)n * sizeof *l);
    memcpy(l, row, (size_t)n * sizeof *l);
    char err[256];
    int m = sampler_dist(s, l, n, NULL, 0, ids, probs, n, err, sizeof err);
    if (m < 0) printf("  sampler_dist: %s\n", err);
    free(l);
    sampler_free(s);
    return m;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Checks that dist() keeps exactly the ids in want (any order). */
static void expect_set(const char *what, sampler_params p, const float *row, int n,
                       const int32_t *want, int nwant)
{
    int32_t *ids = xmalloc((size_t)n * sizeof *ids);
    double *probs = xmalloc((size_t)n * sizeof *probs);
    int m = dist(p, row, n, ids, probs);
    int32_t *w = xmalloc((size_t)(nwant ? nwant : 1) * sizeof *w);
    memcpy(w, want, (size_t)nwant * sizeof *w);
    if (m > 0) qsort(ids, (size_t)m, sizeof *ids, cmp_i32);
    qsort(w, (size_t)nwant, sizeof *w, cmp_i32);
    int ok = m == nwant && memcmp(ids, w, (size_t)nwant * sizeof *w) == 0;
    if (!check(ok, "%s: keeps exactly %d ids (kept %d)", what, nwant, m)) {
        int shown = m < 12 ? m : 12;
        printf("  kept:");
        for (int i = 0; i < shown; i++) printf(" %d", (int)ids[i]);
        printf("%s\n  want:", m > shown ? " ..." : "");
        for (int i = 0; i < nwant && i < 12; i++) printf(" %d", (int)w[i]);
        printf("\n");
    }
    free(ids);
    free(probs);
    free(w);
}

static void test_filters_keep_the_right_sets(void)
{
    /* probabilities 0.4 0.3 0.15 0.1 0.05 placed on ids 3 0 4 1 2 */
    float row[5];
    row[3] = logf(0.4f);
    row[0] = logf(0.3f);
    row[4] = logf(0.15f);
    row[1] = logf(0.1f);
    row[2] = logf(0.05f);
    sampler_params p = sampler_defaults();
    expect_set("no filter", p, row, 5, (int32_t[]){0, 1, 2, 3, 4}, 5);
    p.top_k = 2;
    expect_set("top_k 2", p, row, 5, (int32_t[]){3, 0}, 2);
    p.top_k = 1;
    expect_set("top_k 1", p, row, 5, (int32_t[]){3}, 1);
    p.top_k = 9;
    expect_set("top_k above the vocabulary is off", p, row, 5, (int32_t[]){0, 1, 2, 3, 4}, 5);
    p = sampler_defaults();
    p.top_p = 0.39f;
    expect_set("top_p 0.39 (first alone reaches it)", p, row, 5, (int32_t[]){3}, 1);
    p.top_p = 0.69f;
    expect_set("top_p 0.69", p, row, 5, (int32_t[]){3, 0}, 2);
    p.top_p = 0.71f;
    expect_set("top_p 0.71", p, row, 5, (int32_t[]){3, 0, 4}, 3);
    p.top_p = 0.96f;
    expect_set("top_p 0.96", p, row, 5, (int32_t[]){3, 0, 4, 1, 2}, 5);
    p.top_p = 0.72f;
    expect_set("top_p 0.72 alone", p, row, 5, (int32_t[]){3, 0, 4}, 3);
    p.top_k = 4; /* renormalised over 0.95: cumulative 0.421, 0.737 >= 0.72 */
    expect_set("top_k 4 then top_p 0.72 (top-p sees the renormalised set)", p, row, 5,
               (int32_t[]){3, 0}, 2);
    p = sampler_defaults();
    p.min_p = 0.3f; /* ratios 1, 0.75, 0.375, 0.25, 0.125 */
    expect_set("min_p 0.3", p, row, 5, (int32_t[]){3, 0, 4}, 3);
    p.min_p = 0.2f;
    expect_set("min_p 0.2", p, row, 5, (int32_t[]){3, 0, 4, 1}, 4);
    p.min_p = 1.0f;
    expect_set("min_p 1 keeps the top only", p, row, 5, (int32_t[]){3}, 1);
    p.temperature = 0.25f; /* ratios become (p_i/p_max)^4: 1, 0.316, 0.0198, ... */
    p.min_p = 0.3f;
    expect_set("min_p 0.3 after temperature 0.25", p, row, 5, (int32_t[]){3, 0}, 2);

    /* ties at the top-k boundary go to the lower ids */
    float flat[6] = {1, 2, 2, 2, 0, 2};
    p = sampler_defaults();
    p.top_k = 2;
    expect_set("top_k 2 with a four-way tie keeps ids 1 and 2", p, flat, 6, (int32_t[]){1, 2},
               2);
    p = sampler_defaults();
    p.top_p = 0.3f; /* each 2 holds 0.2339: the first two tied ids reach 0.3 */
    expect_set("top_p 0.3 within a tie keeps ids 1 and 2", p, flat, 6, (int32_t[]){1, 2}, 2);

    /* -inf entries are never candidates */
    float masked[4] = {-INFINITY, 0, -INFINITY, 0};
    p = sampler_defaults();
    expect_set("-inf entries are dropped", p, masked, 4, (int32_t[]){1, 3}, 2);
}

/* The probabilities come out as softmax(l / T), renormalised over the kept set. */
static void test_dist_probabilities(void)
{
    float row[5] = {1.0f, -0.5f, 2.0f, 0.25f, 0.0f};
    sampler_params p = sampler_defaults();
    p.temperature = 2.0f;
    p.top_k = 3;
    int32_t ids[5];
    double probs[5];
    int m = dist(p, row, 5, ids, probs);
    double z = exp(1.0 / 2) + exp(2.0 / 2) + exp(0.25 / 2), worst = 0;
    for (int i = 0; i < m; i++) {
        double want = exp(row[ids[i]] / 2.0) / z;
        double e = fabs(probs[i] - want);
        if (e > worst) worst = e;
    }
    check(m == 3 && worst < 1e-12, "T=2, top_k 3: probabilities are softmax(l/2) over the 3 "
          "(m=%d, worst error %.3g)", m, worst);
}

/* Full-vocabulary rows against a reference that sorts everything. */
typedef struct {
    float l;
    int32_t id;
} ref_entry;

static int cmp_ref(const void *pa, const void *pb)
{
    const ref_entry *a = pa, *b = pb;
    if (a->l != b->l) return a->l > b->l ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

/* The reference: sort the whole row, then top-k, top-p and min-p by their definitions. */
static int ref_keep(const float *row, int n, sampler_params p, ref_entry *r, int32_t *want)
{
    for (int i = 0; i < n; i++) r[i] = (ref_entry){row[i], i};
    qsort(r, (size_t)n, sizeof *r, cmp_ref);
    int m = p.top_k > 0 && p.top_k < n ? p.top_k : n;
    double z = 0;
    for (int i = 0; i < m; i++) z += exp(((double)r[i].l - r[0].l) / p.temperature);
    if (p.top_p < 1.0f) {
        double acc = 0;
        for (int i = 0; i < m; i++) {
            acc += exp(((double)r[i].l - r[0].l) / p.temperature) / z;
            if (acc >= p.top_p) {
                m = i + 1;
                break;
            }
        }
    }
    int k = 0;
    for (int i = 0; i < m; i++)
        if (exp(((double)r[i].l - r[0].l) / p.temperature) >= p.min_p) want[k++] = r[i].id;
    return k;
}

static void test_filters_on_a_full_vocabulary(void)
{
    float *rows[2];
    trng = 99;
    rows[0] = random_row(V3_VOCAB);
    /* background in [-10, 2] holding ~20% of the mass, and 40 peaks in [8, 9.75] */
    for (int i = 0; i < V3_VOCAB; i++) rows[0][i] = rows[0][i] * 0.5f - 4.0f;
    for (int i = 0; i < 40; i++) rows[0][(i * 3181) % V3_VOCAB] = 8.0f + (float)(i % 8) * 0.25f;
    /* nearly flat: every x falls in one top-p bucket, so the sorted walk does the work */
    rows[1] = xmalloc(V3_VOCAB * sizeof(float));
    for (int i = 0; i < V3_VOCAB; i++) rows[1][i] = (float)(int)(tnext() % 1000) / 100000.0f;
    const struct {
        float t;
        int k;
        float top_p, min_p;
    } cfg[] = {{1, 40, 1, 0},    {1, 5000, 1, 0},      {1, 0, 0.5f, 0},   {1, 0, 0.9f, 0},
               {1, 0, 0.99f, 0}, {0.6f, 0, 0.95f, 0},  {1, 0, 1, 0.001f}, {1, 0, 1, 0.5f},
               {0.7f, 1000, 0.9f, 0.01f}, {1.5f, 0, 0.3f, 0.2f}};
    ref_entry *r = xmalloc(V3_VOCAB * sizeof *r);
    int32_t *want = xmalloc(V3_VOCAB * sizeof *want);
    for (int row = 0; row < 2; row++)
        for (size_t c = 0; c < sizeof cfg / sizeof *cfg; c++) {
            sampler_params p = sampler_defaults();
            p.temperature = cfg[c].t;
            p.top_k = cfg[c].k;
            p.top_p = cfg[c].top_p;
            p.min_p = cfg[c].min_p;
            int k = ref_keep(rows[row], V3_VOCAB, p, r, want);
            char what[128];
            snprintf(what, sizeof what, "%s V3 row, T %.1f top_k %d top_p %.2f min_p %.3f",
                     row ? "flat" : "peaked", p.temperature, p.top_k, p.top_p, p.min_p);
            expect_set(what, p, rows[row], V3_VOCAB, want, k);
        }
    free(r);
    free(want);
    free(rows[0]);
    free(rows[1]);
}

static void test_repetition_penalty(void)
{
    sampler_params p = sampler_defaults();
    p.temperature = 0;
    p.repeat_penalty = 2.0f;
    p.penalty_last_n = 3;
    sampler *s = make(p);
    char err[256];
    /* window = last 3 of {5, 0, 1, 0}: ids 0 (twice, penalised once) and 1; 5 is outside */
    float l[6] = {2.0f, -2.0f, 0.5f, 1.0f, 0.0f, 3.0f};
    int32_t hist[4] = {5, 0, 1, 0};
    sampler_sample(s, l, 6, hist, 4, err, sizeof err);
    float want[6] = {1.0f, -4.0f, 0.5f, 1.0f, 0.0f, 3.0f};
    int worst = -1;
    for (int i = 0; i < 6; i++)
        if (l[i] != want[i]) worst = i;
    check(worst < 0, "penalty 2: positive halved, negative doubled, once per id, window 3 "
          "(first wrong id %d: want %g got %g)", worst, worst < 0 ? 0 : want[worst],
          worst < 0 ? 0 : l[worst]);

    /* the penalty acts before temperature and before greedy picks */
    float g[3] = {3.0f, 2.0f, -1.0f};
    int32_t h1[1] = {0};
    int got = sampler_sample(s, g, 3, h1, 1, err, sizeof err);
    check(got == 1, "greedy after penalty: 3/2 < 2 so id 1 wins, got %d", got);

    float b[3] = {0, 0, 0};
    int32_t h2[2] = {1, 7};
    err[0] = 0;
    got = sampler_sample(s, b, 3, h2, 2, err, sizeof err);
    check(got == -1 && strstr(err, "history[1]"), "history id 7 outside [0,3) is an error "
          "('%s')", err);
    sampler_free(s);

    /* penalty below 1 rewards repeats: l > 0 divided by 0.5 */
    p.repeat_penalty = 0.5f;
    s = make(p);
    float c[2] = {1.0f, 1.5f};
    int32_t h3[1] = {0};
    got = sampler_sample(s, c, 2, h3, 1, err, sizeof err);
    check(got == 0 && c[0] == 2.0f, "penalty 0.5 doubles a positive logit (got id %d, l %g)",
          got, c[0]);
    sampler_free(s);

    /* window 0 turns the penalty off */
    p.repeat_penalty = 2.0f;
    p.penalty_last_n = 0;
    s = make(p);
    float d[2] = {2.0f, 1.5f};
    got = sampler_sample(s, d, 2, h3, 1, err, sizeof err);
    check(got == 0 && d[0] == 2.0f, "window 0: no penalty (got id %d, l %g)", got, d[0]);
    sampler_free(s);
}

/* Pearson's statistic of counts against probabilities. */
static double chi2(const long *count, const double *prob, int k, long n)
{
    double x = 0;
    for (int i = 0; i < k; i++) {
        double e = prob[i] * (double)n;
        x += ((double)count[i] - e) * ((double)count[i] - e) / e;
    }
    return x;
}

/* Draws at T=1 follow softmax. With 9 degrees of freedom P(chi2 > 70) = 1.5e-11, so a
 * correct sampler passes with overwhelming probability; the seed is fixed anyway. The same
 * counts against softmax at T = 1.1 must fail, so the test can see a wrong distribution. */
static void test_draws_match_softmax(void)
{
    enum { K = 10 };
    const long n = 200000;
    const float row[K] = {0.0f, 0.5f, 1.0f, -1.0f, 2.0f, 1.5f, -0.5f, 0.25f, 0.75f, -2.0f};
    sampler_params p = sampler_defaults();
    p.seed = 7;
    sampler *s = make(p);
    long count[K] = {0};
    char err[256];
    for (long i = 0; i < n; i++) {
        float l[K];
        memcpy(l, row, sizeof l);
        int id = sampler_sample(s, l, K, NULL, 0, err, sizeof err);
        if (id < 0 || id >= K) {
            check(0, "draw %ld: %d (%s)", i, id, err);
            break;
        }
        count[id]++;
    }
    double prob[K], wrong[K], z = 0, zw = 0;
    for (int i = 0; i < K; i++) z += exp(row[i]), zw += exp(row[i] / 1.1);
    for (int i = 0; i < K; i++) prob[i] = exp(row[i]) / z, wrong[i] = exp(row[i] / 1.1) / zw;
    double x = chi2(count, prob, K, n), xw = chi2(count, wrong, K, n);
    check(x < 70.0, "T=1 draws vs softmax: chi2 %.2f < 70 (9 dof, %ld draws)", x, n);
    check(xw > 70.0, "the same draws vs softmax at T=1.1: chi2 %.2f > 70", xw);
    sampler_free(s);

    /* top_k 4 at T = 0.7: only the 4 best, renormalised (3 dof: P(chi2 > 50) = 8e-11) */
    p.temperature = 0.7f;
    p.top_k = 4;
    p.seed = 8;
    s = make(p);
    memset(count, 0, sizeof count);
    for (long i = 0; i < n; i++) {
        float l[K];
        memcpy(l, row, sizeof l);
        int id = sampler_sample(s, l, K, NULL, 0, err, sizeof err);
        if (id >= 0 && id < K) count[id]++;
    }
    const int best[4] = {4, 5, 2, 8};
    long c4[4];
    double p4[4], z4 = 0;
    long outside = n;
    for (int i = 0; i < 4; i++) z4 += exp(row[best[i]] / 0.7);
    for (int i = 0; i < 4; i++) {
        c4[i] = count[best[i]];
        p4[i] = exp(row[best[i]] / 0.7) / z4;
        outside -= c4[i];
    }
    x = chi2(c4, p4, 4, n);
    check(outside == 0, "top_k 4: no draw outside the 4 best (%ld)", outside);
    check(x < 50.0, "top_k 4, T=0.7 draws vs renormalised softmax: chi2 %.2f < 50", x);
    sampler_free(s);
}

static void test_bad_rows_are_errors(void)
{
    sampler_params modes[2] = {sampler_defaults(), sampler_defaults()};
    modes[1].temperature = 0;
    for (int m = 0; m < 2; m++) {
        const char *mode = m ? "greedy" : "T=1";
        sampler *s = make(modes[m]);
        char err[256] = "";
        float nan_row[4] = {0, 1, NAN, 2};
        int got = sampler_sample(s, nan_row, 4, NULL, 0, err, sizeof err);
        check(got == -1 && strstr(err, "logit 2 is NaN"), "%s: NaN logit is an error ('%s')",
              mode, err);
        float inf_row[3] = {0, INFINITY, 2};
        err[0] = 0;
        got = sampler_sample(s, inf_row, 3, NULL, 0, err, sizeof err);
        check(got == -1 && strstr(err, "+inf"), "%s: +inf logit is an error ('%s')", mode, err);
        float ninf[3] = {-INFINITY, -INFINITY, -INFINITY};
        err[0] = 0;
        got = sampler_sample(s, ninf, 3, NULL, 0, err, sizeof err);
        check(got == -1 && strstr(err, "-inf"), "%s: all -inf is an error ('%s')", mode, err);
        err[0] = 0;
        got = sampler_sample(s, ninf, 0, NULL, 0, err, sizeof err);
        check(got == -1 && err[0], "%s: n_vocab 0 is an error ('%s')", mode, err);
        float one[3] = {-INFINITY, 5, -INFINITY};
        got = sampler_sample(s, one, 3, NULL, 0, err, sizeof err);
        check(got == 1, "%s: the only finite logit is drawn (got %d)", mode, got);
        sampler_free(s);
    }
    /* a temperature near 0 neither overflows nor makes NaN: it is argmax */
    sampler_params p = sampler_defaults();
    p.temperature = 1e-30f;
    sampler *s = make(p);
    char err[256];
    float row[4] = {1.0f, 3.0f, 2.999f, -1e30f};
    int got = sampler_sample(s, row, 4, NULL, 0, err, sizeof err);
    check(got == 1, "T=1e-30 is argmax (got %d)", got);
    sampler_free(s);
}

int main(void)
{
    test_params_are_validated();
    test_greedy_is_argmax_lowest_id_on_ties();
    test_same_seed_same_tokens();
    test_sequence_is_pinned();
    test_filters_keep_the_right_sets();
    test_dist_probabilities();
    test_filters_on_a_full_vocabulary();
    test_repetition_penalty();
    test_draws_match_softmax();
    test_bad_rows_are_errors();
    return check_finish("test_sampler");
}
