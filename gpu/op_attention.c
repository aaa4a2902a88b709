/* op_attention.c: attention over a KV cache, split over the sequence: one dispatch scores
 * and accumulates chunks of cache rows per (token, head), a second merges the chunks with
 * the online-softmax rule. Grouped-query heads read their shared K/V head; V may be a
 * strided view of K (MLA's absorbed form: K 576 wide, V its first 512). */
#include <stdio.h>
#include "internal.h"

#define ATTN_MAX_DK 576   /* attention.comp's shared query buffer */

int gpu_attention(gpu_ctx *ctx, gpu_tensor *out, gpu_tensor *q, gpu_tensor *k, gpu_tensor *v,
                  int n_kv, int pos0, float scale, int causal)
{
    if (ctx->failed) return -1;
    const char *op = "attention";
    char sq[160], sk[160], sv[160], so[160];
    if (gpu_check_type(ctx, op, q, GPU_F32) || gpu_check_type(ctx, op, out, GPU_F32) ||
        gpu_check_contiguous(ctx, op, q) || gpu_check_contiguous(ctx, op, out))
        return -1;
    if ((k->type != GPU_F32 && k->type != GPU_F16) || v->type != k->type)
        return gpu_fail(ctx, "attention: K %s and V %s must both be f32 or both f16",
                        gpu_shape_str(k, sk, sizeof sk), gpu_shape_str(v, sv, sizeof sv));
    int64_t dk = q->ne[0], H = q->ne[1], T = q->ne[2], S = q->ne[3];
    int64_t dv = v->ne[0], Hkv = k->ne[1];
    if (k->ne[0] != dk || dk > ATTN_MAX_DK || v->ne[1] != Hkv || Hkv < 1 || H % Hkv ||
        k->ne[2] < n_kv || v->ne[2] < n_kv || k->ne[3] != S || v->ne[3] != S || n_kv < 1 ||
        out->ne[0] != dv || out->ne[1] != H || out->ne[2] != T || out->ne[3] != S ||
        pos0 < 0 || k->nb[0] != 1 || v->nb[0] != 1 || T * S > 65535 || H > 65535)
        return gpu_fail(ctx, "attention: shapes do not fit (n_kv %d): q %s, k %s, v %s, out %s",
                        n_kv, gpu_shape_str(q, sq, sizeof sq), gpu_shape_str(k, sk, sizeof sk),
                        gpu_shape_str(v, sv, sizeof sv), gpu_shape_str(out, so, sizeof so));
    uint32_t wg = ctx->wg, n_chunks = gpu_div_up((uint64_t)n_kv, wg);
    uint64_t rows = (uint64_t)H * T * S;
    gpu_tensor part, ml;
    if (gpu_scratch(ctx, (int64_t)(n_chunks * rows * dv), &part) ||
        gpu_scratch(ctx, (int64_t)(n_chunks * rows * 2), &ml))
        return -1;
    uint32_t q_off, k_off, v_off;
    gpu_bind b[5];
    if (gpu_bind_tensor(ctx, &b[0], q, 0, &q_off) || gpu_bind_tensor(ctx, &b[1], k, 0, &k_off) ||
        gpu_bind_tensor(ctx, &b[2], v, 0, &v_off) || gpu_bind_tensor(ctx, &b[3], &part, 1, NULL) ||
        gpu_bind_tensor(ctx, &b[4], &ml, 1, NULL))
        return -1;
    struct {
        uint32_t dk, dv, n_head, n_tok, group, n_kv, pos0, causal;
        uint32_t k_off, k_nb1, k_nb2, k_nb3, v_off, v_nb1, v_nb2, v_nb3;
        uint32_t q_off, n_seq;
        float scale;
    } pc = {(uint32_t)dk, (uint32_t)dv, (uint32_t)H, (uint32_t)T, (uint32_t)(H / Hkv),
            (uint32_t)n_kv, (uint32_t)pos0, causal != 0,
            k_off, (uint32_t)k->nb[1], (uint32_t)k->nb[2], (uint32_t)k->nb[3],
            v_off, (uint32_t)v->nb[1], (uint32_t)v->nb[2], (uint32_t)v->nb[3],
            q_off, (uint32_t)S, scale};
    char shader[24];
    snprintf(shader, sizeof shader, "attention_%s", k->type == GPU_F16 ? "f16" : "f32");
    gpu_dispatch_desc d = {.op = op, .shader = shader, .binds = b, .n_binds = 5, .push = &pc,
                           .push_size = sizeof pc};
    d.n_spec = gpu_spec_base(ctx, d.spec, wg);
    d.groups[0] = n_chunks, d.groups[1] = (uint32_t)H, d.groups[2] = (uint32_t)(T * S);
    d.loop_iters = (uint64_t)dk / wg + 1 + (uint64_t)dk + ((uint64_t)dv / wg + 1) * wg + 64;
    if (gpu_dispatch(ctx, &d)) return -1;

    gpu_bind m[3];
    b[3].write = b[4].write = 0;
    m[0] = b[3], m[1] = b[4];
    if (gpu_bind_tensor(ctx, &m[2], out, 1, NULL)) return -1;
    struct { uint32_t dv, rows, n_chunks; } mc = {(uint32_t)dv, (uint32_t)rows, n_chunks};
    gpu_dispatch_desc md = {.op = "attention_merge", .shader = "attention_merge", .binds = m,
                            .n_binds = 3, .push = &mc, .push_size = sizeof mc};
    md.n_spec = gpu_spec_base(ctx, md.spec, wg);
    gpu_grid(ctx, rows, md.groups);
    md.loop_iters = 2 * (uint64_t)n_chunks + ((uint64_t)dv / wg + 1) * n_chunks + 8;
    return gpu_dispatch(ctx, &md);
}
