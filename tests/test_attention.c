/* test_attention.c: attention over a cache: causal and not, grouped-query heads, several
 * sequences, contexts longer than a chunk, f16 caches, and MLA's absorbed form (one
 * 576-wide K head shared by all query heads, V a view of its first 512 dims). */
#include <stdio.h>
#include <stdlib.h>
#include "harness.h"
#include "ref.h"

typedef struct {
    int64_t dk, dv, H, Hkv, T, S, ctx;
    int n_kv, pos0, causal, f16, mla;
} shape;

/* An I32 tensor of v[0..n), or NULL. */
static gpu_tensor *index_tensor(const int *v, int64_t n)
{
    if (!v) return NULL;
    float *f = th_alloc((size_t)n * 4);
    for (int64_t i = 0; i < n; i++) f[i] = (float)v[i];
    gpu_tensor *t = th_tensor(GPU_I32, n, 1, 1, 1, f);
    free(f);
    return t;
}

static void round_f16(float *p, int64_t n)
{
    /* the reference sees what an f16 cache holds */
    gpu_tensor *t = th_tensor(GPU_F16, n, 1, 1, 1, p);
    TH_OK(gpu_read_f32(T, t, p));
    gpu_free(T, t);
}

/* slot, pos: each sequence's cache slot (of n_slot) and position offset, or NULL */
static void test_placed(shape s, int64_t n_slot, const int *slot, const int *pos)
{
    int64_t C = slot ? n_slot : s.S;
    int64_t nq = s.dk * s.H * s.T * s.S, nk = s.dk * s.Hkv * s.ctx * C;
    int64_t nv = s.mla ? 0 : s.dv * s.Hkv * s.ctx * C, no = s.dv * s.H * s.T * s.S;
    float *q = th_randv(nq, 1.0f), *k = th_randv(nk, 1.0f), *v = s.mla ? k : th_randv(nv, 1.0f);
    if (s.f16) {
        round_f16(k, nk);
        if (!s.mla) round_f16(v, nv);
    }
    gpu_type kt = s.f16 ? GPU_F16 : GPU_F32;
    gpu_tensor *Q = th_tensor(GPU_F32, s.dk, s.H, s.T, s.S, q);
    gpu_tensor *K = th_tensor(kt, s.dk, s.Hkv, s.ctx, C, k);
    gpu_tensor *V = s.mla ? gpu_view(T, K, s.dv, s.Hkv, s.ctx, C, s.dk, s.dk * s.Hkv,
                                     s.dk * s.Hkv * s.ctx, 0)
                          : th_tensor(kt, s.dv, s.Hkv, s.ctx, C, v);
    gpu_tensor *O = th_out(s.dv, s.H, s.T, s.S);
    gpu_tensor *Sl = index_tensor(slot, s.S), *Ps = index_tensor(pos, s.S);
    float scale = 1.0f / 12.0f;
    TH_OK(gpu_attention(T, O, Q, K, V, s.n_kv, s.pos0, Sl, Ps, scale, s.causal));
    float *got = th_read(O), *want = th_alloc((size_t)no * 4);
    int64_t knb[4] = {0, s.dk, s.dk * s.Hkv, s.dk * s.Hkv * s.ctx};
    int64_t vnb[4] = {0, s.dv, s.dv * s.Hkv, s.dv * s.Hkv * s.ctx};
    ref_attention(want, q, k, v, s.dk, s.dv, s.H, s.Hkv, s.T, s.S, s.n_kv, s.pos0, slot, pos,
                  scale, s.causal, knb, s.mla ? knb : vnb);
    char what[200];
    snprintf(what, sizeof what,
             "attention dk=%lld dv=%lld H=%lld Hkv=%lld T=%lld S=%lld n_kv=%d pos0=%d%s%s%s%s",
             (long long)s.dk, (long long)s.dv, (long long)s.H, (long long)s.Hkv, (long long)s.T,
             (long long)s.S, s.n_kv, s.pos0, s.causal ? " causal" : "", s.f16 ? " f16" : "",
             s.mla ? " mla" : "", slot ? " slots and positions per sequence" : "");
    th_check(what, want, got, no, 2e-5);
    free(q), free(k), free(got), free(want);
    if (!s.mla) free(v);
    gpu_free(T, Q), gpu_free(T, K), gpu_free(T, V), gpu_free(T, O), gpu_free(T, Sl),
        gpu_free(T, Ps);
}

static void test_attention(shape s) { test_placed(s, s.S, NULL, NULL); }

int main(void)
{
    th_init("test_attention");
    /* decode: one token at the end of the cache */
    test_attention((shape){64, 64, 4, 4, 1, 1, 100, 37, 36, 1, 0, 0});
    /* prefill, causal, GQA 8:2, two sequences, the cache holds a 5-token prefix */
    test_attention((shape){32, 32, 8, 2, 13, 2, 40, 18, 5, 1, 0, 0});
    /* non-causal (SigLIP, the VQ decoder's attention): every query sees every key */
    test_attention((shape){16, 16, 4, 4, 16, 1, 16, 16, 0, 0, 0, 0});
    /* a longer prefill after a prefix (GQA, f16 cache), and MLA's absorbed form over a
     * 20-token prefill */
    test_attention((shape){64, 64, 4, 2, 37, 1, 200, 137, 100, 1, 1, 0});
    test_attention((shape){576, 512, 16, 1, 20, 1, 60, 60, 40, 1, 1, 1});
    /* a 256-token prompt, GQA 32:8, f16 cache: rows enough to need no chunks */
    test_attention((shape){128, 128, 32, 8, 256, 1, 256, 256, 0, 1, 1, 0});
    /* long context: many chunks merged; f16 cache */
    test_attention((shape){128, 128, 2, 1, 2, 1, 3000, 2999, 2997, 1, 1, 0});
    /* value dim != key dim */
    test_attention((shape){48, 24, 6, 3, 3, 1, 70, 70, 67, 1, 0, 0});
    /* MLA absorbed: one 576-wide head for 16 query heads, V = first 512 dims of K */
    test_attention((shape){576, 512, 16, 1, 1, 1, 300, 130, 129, 1, 0, 1});
    test_attention((shape){576, 512, 8, 1, 4, 1, 80, 80, 76, 1, 1, 1});
    /* a 64-token block after a 30k-token prefix: on lavapipe the loop cap forces chunks */
    test_attention((shape){64, 64, 1, 1, 64, 1, 30000, 30000, 29936, 1, 0, 0});
    /* MLA decode over 33k positions, f16 cache */
    test_attention((shape){576, 512, 16, 1, 1, 1, 33000, 33000, 32999, 1, 1, 1});
    /* a tiny scratch budget: chunk partials are made and merged a few tokens at a time */
    setenv("VKSEEK_ATTN_SCRATCH", "4096", 1);
    test_attention((shape){32, 32, 8, 2, 13, 2, 300, 290, 277, 1, 0, 0});
    test_attention((shape){576, 512, 4, 1, 3, 1, 200, 200, 197, 1, 1, 1});
    unsetenv("VKSEEK_ATTN_SCRATCH");
    /* a scheduler's batch: sequences in their own cache slots at their own places (decode,
     * then a 3-token step; one sequence far along so its cache splits into chunks) */
    int slot[3] = {4, 0, 2}, pos[3] = {9, 0, 1500};
    test_placed((shape){64, 64, 4, 2, 1, 3, 1600, 1501, 0, 1, 0, 0}, 5, slot, pos);
    test_placed((shape){32, 32, 4, 4, 3, 3, 1600, 1503, 0, 1, 1, 0}, 5, slot, pos);
    test_placed((shape){576, 512, 8, 1, 1, 3, 1600, 1501, 0, 1, 0, 1}, 6, slot, pos);
    return th_finish();
}
