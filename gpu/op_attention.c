/* op_attention.c: attention over a KV cache, split over the sequence: one dispatch scores
 * and accumulates chunks of cache rows per (token, head), a second merges the chunks with
 * the online-softmax rule. Two kernels: attention_rows.comp (many tokens: one subgroup per
 * query row, a workgroup's rows sharing the cache rows they read) and attention.comp (one
 * workgroup per query row). Grouped-query heads read their shared K/V head; V may be a
 * strided view of K (MLA's absorbed form: K 576 wide, V its first 512). */
#include <stdio.h>
#include <stdlib.h>
#include "internal.h"

#define ATTN_MAX_DK 576            /* attention.comp's shared query buffer */
#define ATTN_MAX_DPT 16            /* output dims per invocation */
#define ATTN_MAX_CHUNKS 32         /* cache chunks per query row, for parallelism */
#define ATTN_TARGET_GROUPS 4096    /* workgroups worth splitting the cache for */
#define ATTN_ROWS_STEP 4           /* attention_rows.comp: positions per loop trip (KB) */
#define ATTN_ROWS_TARGET_GROUPS 128 /* its workgroups worth splitting the cache for */
#define ATTN_SCRATCH_BYTES (32u << 20) /* chunk partials per pass */

/* An optional per-sequence I32 [n_seq] index, bound in binding b (stand-in: q, unread). */
static int bind_seq_index(gpu_ctx *ctx, gpu_bind *b, gpu_tensor *idx, gpu_tensor *q,
                          uint32_t *off)
{
    *off = 0;
    if (!idx) return gpu_bind_tensor(ctx, b, q, 0, NULL);
    if (gpu_check_type(ctx, "attention", idx, GPU_I32) ||
        gpu_check_contiguous(ctx, "attention", idx))
        return -1;
    if (gpu_nelem(idx) != q->ne[3])
        return gpu_fail(ctx, "attention: %s has %lld entries for %lld sequences", idx->name,
                        (long long)gpu_nelem(idx), (long long)q->ne[3]);
    return gpu_bind_tensor(ctx, b, idx, 0, off);
}

/* How a call runs: its kernel, the chunks of the cache per query row, and the query tokens
 * per pass (blk). aligned: K and V suit attention_rows.comp's 4-element vector reads. */
typedef struct {
    int rows;                    /* attention_rows.comp */
    uint32_t wg_rows, dpt;       /* its rows per workgroup; attention.comp's dims per thread */
    uint64_t unit, trip_cost;    /* positions per loop trip, and a trip's loop count */
    uint64_t n_chunks;
    uint32_t trips_per_chunk;
    int64_t blk;
} attn_plan;

static attn_plan plan(const gpu_ctx *ctx, int64_t dk, int64_t dv, int64_t H, int64_t Hkv,
                      int64_t T, int64_t S, int64_t n_kv, int aligned)
{
    attn_plan p;
    /* Many query rows per K/V head (prefill): attention_rows.comp, one subgroup per row,
     * the rows of a workgroup sharing the cache rows they read. Few (decode): attention.comp,
     * one workgroup per row, its invocations splitting the cache positions and the output
     * dims. */
    uint32_t wg = ctx->wg, sg = ctx->subgroup_size;
    p.dpt = gpu_div_up((uint64_t)dv, wg);
    p.rows = ctx->attn_rows_min && T >= ctx->attn_rows_min && ctx->subgroup_arith &&
             sg && wg % sg == 0 && dk % (4 * sg) == 0 && dv % (4 * sg) == 0 && aligned;
    p.wg_rows = p.rows ? wg / sg : 1;
    /* Chunks of the cache per query row: enough workgroups for parallelism when there are
     * few (decode), and enough that no invocation loops past lavapipe's cap. */
    p.unit = p.rows ? ATTN_ROWS_STEP : wg;
    p.trip_cost = p.rows ? (uint64_t)(dk + dv) / (4 * sg) + 2 /* if not unrolled */
                         : (uint64_t)dk + (uint64_t)p.dpt * wg + 32;
    uint64_t groups = p.rows ? (uint64_t)Hkv * S * gpu_div_up((uint64_t)T * (H / Hkv), p.wg_rows)
                             : (uint64_t)H * T * S;
    uint64_t n_trips = gpu_div_up((uint64_t)n_kv, p.unit);
    uint64_t max_trips = ctx->is_lavapipe ? (GPU_LAVAPIPE_LOOP_CAP - 2048) / p.trip_cost : n_trips;
    uint64_t n_chunks = gpu_div_up(p.rows ? ATTN_ROWS_TARGET_GROUPS : ATTN_TARGET_GROUPS, groups);
    if (n_chunks > ATTN_MAX_CHUNKS) n_chunks = ATTN_MAX_CHUNKS;
    if (n_chunks * max_trips < n_trips) n_chunks = gpu_div_up(n_trips, max_trips);
    if (n_chunks > n_trips) n_chunks = n_trips;
    p.trips_per_chunk = gpu_div_up(n_trips, n_chunks);
    p.n_chunks = gpu_div_up(n_trips, p.trips_per_chunk);
    /* Tokens per pass, so the chunk partials stay within a fixed scratch budget
     * ($VKSEEK_ATTN_SCRATCH overrides it, for tests). */
    uint64_t budget = ATTN_SCRATCH_BYTES;
    const char *e = getenv("VKSEEK_ATTN_SCRATCH");
    if (e && atoll(e) > 0) budget = (uint64_t)atoll(e);
    uint64_t per_tok = p.n_chunks > 1 ? p.n_chunks * H * S * (uint64_t)(dv + 2) * 4 : 0;
    int64_t blk = per_tok ? (int64_t)(budget / per_tok) : T;
    if (blk < 1) blk = 1;
    if (blk > T) blk = T;
    if (blk * S > 65535) blk = 65535 / S;
    if (p.rows && gpu_div_up((uint64_t)blk * (H / Hkv), p.wg_rows) * S > 65535)
        blk = (int64_t)(65535 / S * p.wg_rows / (H / Hkv));
    p.blk = blk < 1 ? 1 : blk;
    return p;
}

/* The chunk partials of a plan: outputs [dv] and (max, sum) per chunk, head, token, row. */
static void partial_sizes(const attn_plan *p, int64_t dv, int64_t H, int64_t S, int64_t *part,
                          int64_t *ml)
{
    *part = (int64_t)p->n_chunks * H * p->blk * S * dv;
    *ml = (int64_t)p->n_chunks * H * p->blk * S * 2;
}

uint64_t gpu_attention_scratch(const gpu_ctx *ctx, int64_t dk, int64_t dv, int64_t H,
                               int64_t Hkv, int64_t T, int64_t S, int64_t n_kv)
{
    uint64_t most = 0;
    for (int aligned = 0; aligned < 2; aligned++) {
        attn_plan p = plan(ctx, dk, dv, H, Hkv, T, S, n_kv, aligned);
        int64_t part, ml;
        partial_sizes(&p, dv, H, S, &part, &ml);
        uint64_t b = p.n_chunks > 1 ? gpu_temp_bytes(ctx, part) + gpu_temp_bytes(ctx, ml) : 0;
        if (b > most) most = b;
    }
    return most;
}

int gpu_attention(gpu_ctx *ctx, gpu_tensor *out, gpu_tensor *q, gpu_tensor *k, gpu_tensor *v,
                  int n_kv, int pos0, gpu_tensor *slot, gpu_tensor *pos, float scale, int causal)
{
    if (ctx->failed) return -1;
    const char *op = "attention";
    char sq[160], sk[160], sv[160], so[160];
    if (gpu_check_type(ctx, op, q, GPU_F32) || gpu_check_type(ctx, op, out, GPU_F32) ||
        gpu_check_contiguous(ctx, op, q) || gpu_check_contiguous(ctx, op, out))
        return -1;
    if (gpu_check_distinct(ctx, op, out, q) || gpu_check_distinct(ctx, op, out, k) ||
        gpu_check_distinct(ctx, op, out, v))
        return -1;
    if ((k->type != GPU_F32 && k->type != GPU_F16) || v->type != k->type)
        return gpu_fail(ctx, "attention: K %s and V %s must both be f32 or both f16",
                        gpu_shape_str(k, sk, sizeof sk), gpu_shape_str(v, sv, sizeof sv));
    int64_t dk = q->ne[0], H = q->ne[1], T = q->ne[2], S = q->ne[3];
    int64_t dv = v->ne[0], Hkv = k->ne[1];
    if (k->ne[0] != dk || dk > ATTN_MAX_DK || v->ne[1] != Hkv || Hkv < 1 || H % Hkv ||
        k->ne[2] < n_kv || v->ne[2] < n_kv || v->ne[3] != k->ne[3] ||
        (slot ? k->ne[3] < 1 : k->ne[3] != S) || n_kv < 1 ||
        out->ne[0] != dv || out->ne[1] != H || out->ne[2] != T || out->ne[3] != S ||
        pos0 < 0 || k->nb[0] != 1 || v->nb[0] != 1 || T * S > 65535 || H > 65535)
        return gpu_fail(ctx, "attention: shapes do not fit (n_kv %d): q %s, k %s, v %s, out %s",
                        n_kv, gpu_shape_str(q, sq, sizeof sq), gpu_shape_str(k, sk, sizeof sk),
                        gpu_shape_str(v, sv, sizeof sv), gpu_shape_str(out, so, sizeof so));
    int f16 = k->type == GPU_F16;
    uint64_t vec = 4 * (f16 ? 2 : 4); /* attention_rows.comp reads K and V as 4-vectors */
    int aligned = (k->nb[1] | k->nb[2] | k->nb[3] | v->nb[1] | v->nb[2] | v->nb[3]) % 4 == 0 &&
                  k->offset % vec == 0 && v->offset % vec == 0;
    attn_plan p = plan(ctx, dk, dv, H, Hkv, T, S, n_kv, aligned);
    uint32_t wg = ctx->wg, sg = ctx->subgroup_size;
    int rows = p.rows;
    uint64_t n_chunks = p.n_chunks, unit = p.unit, trip_cost = p.trip_cost;
    uint32_t wg_rows = p.wg_rows, dpt = p.dpt, trips_per_chunk = p.trips_per_chunk;
    int64_t blk = p.blk;
    if (!rows && dpt > ATTN_MAX_DPT)
        return gpu_fail(ctx, "attention: value width %lld exceeds %d per workgroup of %u",
                        (long long)dv, ATTN_MAX_DPT, wg);

    uint32_t q_off, k_off, v_off, slot_off, pos_off;
    gpu_bind b[7], m[3];
    if (gpu_bind_tensor(ctx, &b[0], q, 0, &q_off) || gpu_bind_tensor(ctx, &b[1], k, 0, &k_off) ||
        gpu_bind_tensor(ctx, &b[2], v, 0, &v_off) ||
        bind_seq_index(ctx, &b[5], slot, q, &slot_off) ||
        bind_seq_index(ctx, &b[6], pos, q, &pos_off))
        return -1;
    gpu_tensor part, ml;
    if (n_chunks > 1) {
        int64_t n_part, n_ml;
        partial_sizes(&p, dv, H, S, &n_part, &n_ml);
        if (gpu_scratch(ctx, n_part, &part) || gpu_scratch(ctx, n_ml, &ml) ||
            gpu_bind_tensor(ctx, &b[3], &part, 1, NULL) || gpu_bind_tensor(ctx, &b[4], &ml, 1, NULL))
            return -1;
        m[0] = b[3], m[1] = b[4];
        m[0].write = m[1].write = 0;
        if (gpu_bind_tensor(ctx, &m[2], out, 1, NULL)) return -1;
    } else {
        if (gpu_bind_tensor(ctx, &b[3], out, 1, NULL)) return -1;
        b[4] = b[3]; /* unused in direct mode */
    }
    char shader[24];
    snprintf(shader, sizeof shader, "attention_%s%s", rows ? "rows_" : "", f16 ? "f16" : "f32");
    for (int64_t t0 = 0; t0 < T; t0 += blk) {
        int64_t nt = T - t0 < blk ? T - t0 : blk;
        struct {
            uint32_t dk, dv, n_head, n_tok, group, n_kv, pos0, causal;
            uint32_t k_off, k_nb1, k_nb2, k_nb3, v_off, v_nb1, v_nb2, v_nb3;
            uint32_t q_off, t0, n_tok_blk, per_chunk, direct;
            float scale;
            uint32_t slot_off, pos_off, n_slot, has_slot, has_pos;
        } pc = {(uint32_t)dk, (uint32_t)dv, (uint32_t)H, (uint32_t)T, (uint32_t)(H / Hkv),
                (uint32_t)n_kv, (uint32_t)pos0, causal != 0,
                k_off, (uint32_t)k->nb[1], (uint32_t)k->nb[2], (uint32_t)k->nb[3],
                v_off, (uint32_t)v->nb[1], (uint32_t)v->nb[2], (uint32_t)v->nb[3],
                q_off, (uint32_t)t0, (uint32_t)nt, (uint32_t)(trips_per_chunk * unit),
                n_chunks == 1, scale,
                slot_off, pos_off, (uint32_t)k->ne[3], slot != NULL, pos != NULL};
        gpu_dispatch_desc d = {.op = op, .shader = shader, .binds = b, .n_binds = 7, .push = &pc,
                               .push_size = sizeof pc};
        d.n_spec = gpu_spec_base(ctx, d.spec, wg);
        d.groups[0] = (uint32_t)n_chunks;
        if (rows) {
            d.spec[d.n_spec++] = (uint32_t)dk, d.spec[d.n_spec++] = (uint32_t)dv;
            d.spec[d.n_spec++] = sg;
            d.groups[1] = (uint32_t)Hkv;
            d.groups[2] = (uint32_t)(gpu_div_up((uint64_t)nt * (H / Hkv), wg_rows) * S);
        } else {
            d.spec[d.n_spec++] = dpt;
            d.groups[1] = (uint32_t)H, d.groups[2] = (uint32_t)(nt * S);
        }
        d.loop_iters = trips_per_chunk * trip_cost + (uint64_t)dk / wg + 16;
        if (gpu_dispatch(ctx, &d)) return -1;
        if (n_chunks == 1) continue;
        uint64_t rows = (uint64_t)H * nt * S;
        struct { uint32_t dv, rows, n_chunks, n_head, n_tok, t0, n_tok_blk; } mc = {
            (uint32_t)dv, (uint32_t)rows, (uint32_t)n_chunks, (uint32_t)H, (uint32_t)T,
            (uint32_t)t0, (uint32_t)nt};
        gpu_dispatch_desc md = {.op = "attention_merge", .shader = "attention_merge", .binds = m,
                                .n_binds = 3, .push = &mc, .push_size = sizeof mc};
        md.n_spec = gpu_spec_base(ctx, md.spec, wg);
        gpu_grid(ctx, rows, md.groups);
        md.loop_iters = 2 * n_chunks + ((uint64_t)dv / wg + 1) * n_chunks + 8;
        if (gpu_dispatch(ctx, &md)) return -1;
    }
    return 0;
}
