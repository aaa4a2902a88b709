/* sampler.c: see sampler.h. Reproducibility across machines rests on three things: the
 * PRNG is ours (xoshiro256** seeded by splitmix64), exp is ours (a table and +, -, *,
 * which IEEE 754 pins down, where libm's exp may differ in the last bit), and this file is
 * compiled without FMA contraction (CMakeLists.txt): every weight is the same bits anywhere. */
#include "text/sampler.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
#error "sampler.c needs plain IEEE double arithmetic (FLT_EVAL_METHOD 0) to be reproducible"
#endif

typedef struct {
    double x;    /* (logit - max logit) / T: <= 0, the max is 0 */
    double w;    /* exp(x), unnormalised probability; the max has w = 1 */
    int32_t id;
} cand;

struct sampler {
    sampler_params p;
    uint64_t rng[4];  /* xoshiro256** state */
    int cap;          /* room in c and mark */
    cand *c;
    uint32_t *mark;   /* mark[id] == stamp: id already penalised in this call */
    uint32_t stamp;
};

sampler_params sampler_defaults(void)
{
    sampler_params p = {.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f,
                        .repeat_penalty = 1.0f, .penalty_last_n = 64, .seed = 0};
    return p;
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next_u64(sampler *s)
{
    uint64_t *r = s->rng;
    uint64_t out = rotl(r[1] * 5, 7) * 9, t = r[1] << 17;
    r[2] ^= r[0];
    r[3] ^= r[1];
    r[1] ^= r[2];
    r[0] ^= r[3];
    r[2] ^= t;
    r[3] = rotl(r[3], 45);
    return out;
}

/* Uniform in [0, 1) with 53 random bits. */
static double next_unit(sampler *s) { return (double)(next_u64(s) >> 11) * 0x1.0p-53; }

/* 2^(j/64) for j = 0..63, correctly rounded. */
static const double EXP2_J64[64] = {
    0x1.0000000000000p+0, 0x1.02c9a3e778061p+0, 0x1.059b0d3158574p+0, 0x1.0874518759bc8p+0,
    0x1.0b5586cf9890fp+0, 0x1.0e3ec32d3d1a2p+0, 0x1.11301d0125b51p+0, 0x1.1429aaea92de0p+0,
    0x1.172b83c7d517bp+0, 0x1.1a35beb6fcb75p+0, 0x1.1d4873168b9aap+0, 0x1.2063b88628cd6p+0,
    0x1.2387a6e756238p+0, 0x1.26b4565e27cddp+0, 0x1.29e9df51fdee1p+0, 0x1.2d285a6e4030bp+0,
    0x1.306fe0a31b715p+0, 0x1.33c08b26416ffp+0, 0x1.371a7373aa9cbp+0, 0x1.3a7db34e59ff7p+0,
    0x1.3dea64c123422p+0, 0x1.4160a21f72e2ap+0, 0x1.44e086061892dp+0, 0x1.486a2b5c13cd0p+0,
    0x1.4bfdad5362a27p+0, 0x1.4f9b2769d2ca7p+0, 0x1.5342b569d4f82p+0, 0x1.56f4736b527dap+0,
    0x1.5ab07dd485429p+0, 0x1.5e76f15ad2148p+0, 0x1.6247eb03a5585p+0, 0x1.6623882552225p+0,
    0x1.6a09e667f3bcdp+0, 0x1.6dfb23c651a2fp+0, 0x1.71f75e8ec5f74p+0, 0x1.75feb564267c9p+0,
    0x1.7a11473eb0187p+0, 0x1.7e2f336cf4e62p+0, 0x1.82589994cce13p+0, 0x1.868d99b4492edp+0,
    0x1.8ace5422aa0dbp+0, 0x1.8f1ae99157736p+0, 0x1.93737b0cdc5e5p+0, 0x1.97d829fde4e50p+0,
    0x1.9c49182a3f090p+0, 0x1.a0c667b5de565p+0, 0x1.a5503b23e255dp+0, 0x1.a9e6b5579fdbfp+0,
    0x1.ae89f995ad3adp+0, 0x1.b33a2b84f15fbp+0, 0x1.b7f76f2fb5e47p+0, 0x1.bcc1e904bc1d2p+0,
    0x1.c199bdd85529cp+0, 0x1.c67f12e57d14bp+0, 0x1.cb720dcef9069p+0, 0x1.d072d4a07897cp+0,
    0x1.d5818dcfba487p+0, 0x1.da9e603db3285p+0, 0x1.dfc97337b9b5fp+0, 0x1.e502ee78b3ff6p+0,
    0x1.ea4afa2a490dap+0, 0x1.efa1bee615a27p+0, 0x1.f50765b6e4540p+0, 0x1.fa7c1819e90d8p+0,
};

/* e^x for x <= 0, the same bits everywhere: x = (64k + j) ln2/64 + r with |r| <= ln2/128
 * (ln2/64 split so that n * LN2_64_HI is exact), e^r by its Taylor series to r^5
 * (relative error < 1e-16), times 2^(j/64) from the table and 2^k built from its bits.
 * Results below DBL_MIN are 0: such a weight is nothing next to the max's 1. */
static double det_exp(double x)
{
    static const double INV_LN2_64 = 0x1.71547652b82fep+6; /* 64 / ln 2 */
    static const double LN2_64_HI = 0x1.62e42fee00000p-7;  /* 32 significant bits */
    static const double LN2_64_LO = 0x1.a39ef35793c76p-39;
    if (!(x >= -708.0)) return 0.0;
    int n = (int)(x * INV_LN2_64 - 0.5); /* nearest, as the cast truncates and x <= 0 */
    double r = (x - n * LN2_64_HI) - n * LN2_64_LO;
    double p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120)))));
    int j = ((n % 64) + 64) % 64, k = (n - j) / 64; /* k >= -1022: 2^k is normal */
    uint64_t bits = (uint64_t)(k + 1023) << 52;
    double scale;
    memcpy(&scale, &bits, sizeof scale);
    return scale * (EXP2_J64[j] * p);
}

static int validate(const sampler_params *p, char *err, size_t errlen)
{
    const char *bad = NULL;
    if (!(p->temperature >= 0.0f) || isinf(p->temperature))
        bad = "temperature must be finite and >= 0";
    else if (p->top_k < 0)
        bad = "top_k must be >= 0 (0 = off)";
    else if (!(p->top_p > 0.0f && p->top_p <= 1.0f))
        bad = "top_p must be in (0, 1] (1 = off)";
    else if (!(p->min_p >= 0.0f && p->min_p <= 1.0f))
        bad = "min_p must be in [0, 1] (0 = off)";
    else if (!(p->repeat_penalty > 0.0f) || isinf(p->repeat_penalty))
        bad = "repeat_penalty must be finite and > 0 (1 = off)";
    else if (p->penalty_last_n < 0 || p->penalty_last_n > SAMPLER_MAX_WINDOW)
        bad = "penalty_last_n must be in [0, 1048576] (0 = off)";
    if (bad) snprintf(err, errlen, "sampler: %s", bad);
    return bad ? -1 : 0;
}

sampler *sampler_new(const sampler_params *p, char *err, size_t errlen)
{
    if (validate(p, err, errlen)) return NULL;
    sampler *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "sampler: out of memory");
        return NULL;
    }
    s->p = *p;
    uint64_t x = p->seed;
    for (int i = 0; i < 4; i++) s->rng[i] = splitmix64(&x);
    return s;
}

void sampler_free(sampler *s)
{
    if (!s) return;
    free(s->c);
    free(s->mark);
    free(s);
}

static int reserve(sampler *s, int n, char *err, size_t errlen)
{
    if (n <= s->cap) return 0;
    cand *c = malloc((size_t)n * sizeof *c);
    uint32_t *mark = calloc((size_t)n, sizeof *mark);
    if (!c || !mark) {
        free(c);
        free(mark);
        snprintf(err, errlen, "sampler: out of memory for %d candidates", n);
        return -1;
    }
    free(s->c);
    free(s->mark);
    s->c = c;
    s->mark = mark;
    s->stamp = 0;
    s->cap = n;
    return 0;
}

/* Rejects rows no distribution can come from; returns the largest logit's index. */
static int check_row(const float *l, int n, char *err, size_t errlen)
{
    int best = -1;
    for (int i = 0; i < n; i++) {
        if (isnan(l[i]) || (isinf(l[i]) && l[i] > 0)) {
            snprintf(err, errlen, "sampler: logit %d is %s", i, isnan(l[i]) ? "NaN" : "+inf");
            return -1;
        }
        if (l[i] > -INFINITY && (best < 0 || l[i] > l[best])) best = i;
    }
    if (best < 0) snprintf(err, errlen, "sampler: every one of the %d logits is -inf", n);
    return best;
}

/* HF RepetitionPenaltyLogitsProcessor / llama.cpp penalty_repeat: once per distinct id. */
static int penalize(sampler *s, float *l, int n, const int32_t *hist, int nh, int *changed,
                    char *err, size_t errlen)
{
    float r = s->p.repeat_penalty;
    int from = nh > s->p.penalty_last_n ? nh - s->p.penalty_last_n : 0;
    if (r == 1.0f || from >= nh) return 0;
    if (!hist) {
        snprintf(err, errlen, "sampler: history is NULL but n_history is %d", nh);
        return -1;
    }
    if (++s->stamp == 0) { /* wrapped: forget every old mark */
        memset(s->mark, 0, (size_t)s->cap * sizeof *s->mark);
        s->stamp = 1;
    }
    for (int i = from; i < nh; i++) {
        int32_t id = hist[i];
        if (id < 0 || id >= n) {
            snprintf(err, errlen, "sampler: history[%d] = %d is outside the vocabulary [0, %d)",
                     i, (int)id, n);
            return -1;
        }
        if (s->mark[id] == s->stamp) continue;
        s->mark[id] = s->stamp;
        l[id] = l[id] > 0 ? l[id] / r : l[id] * r;
        *changed = 1;
    }
    return 0;
}

/* The total order every selection uses: larger x first, then the lower id. */
static int before(const cand *a, const cand *b)
{
    return a->x > b->x || (a->x == b->x && a->id < b->id);
}

static int cmp_cand(const void *pa, const void *pb)
{
    const cand *a = pa, *b = pb;
    return before(a, b) ? -1 : before(b, a) ? 1 : 0;
}

static void swap(cand *a, cand *b)
{
    cand t = *a;
    *a = *b;
    *b = t;
}

/* Quickselect: afterwards c[0..k) are the k first of c[0..n) in the total order (in no
 * particular order among themselves). O(n) expected; keys are distinct (ids are). */
static void select_top(cand *c, int n, int k)
{
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        /* median of three to c[hi] as the pivot */
        if (before(&c[mid], &c[lo])) swap(&c[mid], &c[lo]);
        if (before(&c[hi], &c[lo])) swap(&c[hi], &c[lo]);
        if (before(&c[mid], &c[hi])) swap(&c[mid], &c[hi]);
        int store = lo;
        for (int i = lo; i < hi; i++)
            if (before(&c[i], &c[hi])) swap(&c[i], &c[store++]);
        swap(&c[store], &c[hi]);
        if (store == k - 1 || store == k) return;
        if (store < k) lo = store + 1;
        else hi = store - 1;
    }
}

/* Walks c[0..n) in the total order, adding weights to acc until it reaches need; sorts
 * only as much as the walk needs, in chunks that double. Returns how many it took (n when
 * rounding keeps the sum just under need). */
static int walk_sorted(cand *c, int n, double acc, double need)
{
    int lo = 0, chunk = 64;
    while (lo < n) {
        int k = chunk < n - lo ? chunk : n - lo;
        if (k < n - lo) select_top(c + lo, n - lo, k);
        qsort(c + lo, (size_t)k, sizeof *c, cmp_cand);
        for (int i = lo; i < lo + k; i++) {
            acc += c[i].w;
            if (acc >= need) return i + 1;
        }
        lo += k;
        chunk *= 2;
    }
    return n;
}

/* Buckets of x for top-p: x in [-TP_RANGE, 0] in TP_BUCKETS equal steps, everything below
 * in the last one (w < 1e-27 there). Larger x, lower bucket. */
#define TP_BUCKETS 1024
#define TP_RANGE 64.0
static int bucket(double x)
{
    double b = -x * (TP_BUCKETS / TP_RANGE);
    return b < TP_BUCKETS - 1 ? (int)b : TP_BUCKETS - 1;
}

/* Keeps the smallest most-likely set whose mass reaches p of the total. Without sorting the
 * row: whole buckets are kept from the top while their mass stays under p, and only the
 * bucket where p is crossed is ordered (walk_sorted). Returns the new count, moving the
 * kept candidates to the front. */
static int top_p_cut(cand *c, int m, double p)
{
    double mass[TP_BUCKETS] = {0}, z = 0.0;
    int count[TP_BUCKETS] = {0};
    for (int i = 0; i < m; i++) {
        int b = bucket(c[i].x);
        mass[b] += c[i].w;
        count[b]++;
        z += c[i].w;
    }
    double need = p * z, acc = 0.0;
    int cut = 0, front = 0; /* buckets [0, cut) are kept whole: front candidates */
    while (cut < TP_BUCKETS - 1 && acc + mass[cut] < need) {
        acc += mass[cut];
        front += count[cut];
        cut++;
    }
    int a = 0;
    for (int i = 0; i < m; i++)
        if (bucket(c[i].x) < cut) swap(&c[i], &c[a++]);
    int e = front;
    for (int i = front; i < m; i++)
        if (bucket(c[i].x) == cut) swap(&c[i], &c[e++]);
    return front + walk_sorted(c + front, e - front, acc, need);
}

/* The k largest logits (ties to the lower id) by a heap of the k best so far, whose root is
 * the worst of them: most of a row costs one comparison. Leaves x = logit. Returns the
 * number kept (fewer than k when fewer are finite). */
static int top_k_heap(cand *h, const float *l, int n, int k)
{
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (l[i] == -INFINITY) continue;
        cand e = {.x = l[i], .w = 0.0, .id = i};
        int at;
        if (m < k) {
            at = m++;
            while (at > 0 && before(&h[(at - 1) / 2], &e)) { /* parent better: move it down */
                h[at] = h[(at - 1) / 2];
                at = (at - 1) / 2;
            }
        } else if (before(&e, &h[0])) {
            at = 0;
            for (;;) { /* sift down towards the worse child */
                int ch = 2 * at + 1;
                if (ch >= m) break;
                if (ch + 1 < m && before(&h[ch], &h[ch + 1])) ch++;
                if (!before(&e, &h[ch])) break;
                h[at] = h[ch];
                at = ch;
            }
        } else {
            continue;
        }
        h[at] = e;
    }
    return m;
}

/* Runs every step before the draw. Leaves the kept candidates in s->c and returns their
 * number (>= 1), or -1 with a message. */
static int filter(sampler *s, float *l, int n, const int32_t *hist, int nh, char *err,
                  size_t errlen)
{
    if (n < 1 || n > SAMPLER_MAX_VOCAB) {
        snprintf(err, errlen, "sampler: n_vocab %d outside [1, %d]", n, SAMPLER_MAX_VOCAB);
        return -1;
    }
    if (!l) {
        snprintf(err, errlen, "sampler: logits is NULL");
        return -1;
    }
    if (nh < 0) {
        snprintf(err, errlen, "sampler: n_history %d is negative", nh);
        return -1;
    }
    if (reserve(s, n, err, errlen)) return -1;
    int best = check_row(l, n, err, errlen), changed = 0; /* argmax, lowest id on ties */
    if (best < 0 || penalize(s, l, n, hist, nh, &changed, err, errlen)) return -1;
    /* again after the penalty, which can also overflow a logit to +-inf */
    if (changed && (best = check_row(l, n, err, errlen)) < 0) return -1;
    cand *c = s->c;
    if (s->p.temperature == 0.0f) {
        c[0] = (cand){.x = 0.0, .w = 1.0, .id = best};
        return 1;
    }
    /* x = (l - max) / T in double: no overflow however small T is, and the max is 0. */
    double lmax = l[best], t = s->p.temperature;
    int m = 0;
    if (s->p.top_k > 0) {
        m = top_k_heap(c, l, n, s->p.top_k);
        for (int i = 0; i < m; i++) c[i].x = (c[i].x - lmax) / t;
    } else {
        for (int i = 0; i < n; i++) {
            if (l[i] == -INFINITY) continue;
            c[m].x = ((double)l[i] - lmax) / t;
            c[m].id = i;
            m++;
        }
    }
    for (int i = 0; i < m; i++) c[i].w = det_exp(c[i].x);
    if (s->p.top_p < 1.0f && m > 1) m = top_p_cut(c, m, s->p.top_p);
    if (s->p.min_p > 0.0f) {
        /* p_i / p_max = w_i / 1; the max itself always stays (min_p <= 1) */
        double floor_w = s->p.min_p;
        int k = 0;
        for (int i = 0; i < m; i++)
            if (c[i].w >= floor_w) c[k++] = c[i];
        m = k;
    }
    return m;
}

int sampler_sample(sampler *s, float *logits, int n_vocab, const int32_t *history,
                   int n_history, char *err, size_t errlen)
{
    int m = filter(s, logits, n_vocab, history, n_history, err, errlen);
    if (m < 0) return -1;
    if (m == 1) return s->c[0].id;
    const cand *c = s->c;
    double z = 0.0;
    for (int i = 0; i < m; i++) z += c[i].w;
    double u = next_unit(s) * z, acc = 0.0;
    int last = 0;
    for (int i = 0; i < m; i++) {
        if (c[i].w == 0.0) continue;
        acc += c[i].w;
        if (u < acc) return c[i].id;
        last = i;
    }
    return c[last].id; /* u landed on the rounding slack past the last sum */
}

int sampler_dist(sampler *s, float *logits, int n_vocab, const int32_t *history,
                 int n_history, int32_t *ids, double *probs, int cap, char *err,
                 size_t errlen)
{
    int m = filter(s, logits, n_vocab, history, n_history, err, errlen);
    if (m < 0) return -1;
    if (m > cap) {
        snprintf(err, errlen, "sampler: %d tokens kept, room for %d", m, cap);
        return -1;
    }
    double z = 0.0;
    for (int i = 0; i < m; i++) z += s->c[i].w;
    for (int i = 0; i < m; i++) {
        ids[i] = s->c[i].id;
        probs[i] = s->c[i].w / z;
    }
    return m;
}
