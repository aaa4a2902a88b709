/* op_rope.c: rotary position embedding, both pair layouts, with linear, YaRN and Llama 3
 * context extension. The frequency table is computed on the host in double, rounded to
 * f32 as the reference implementations do, and kept per parameter set. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

struct gpu_rope_table {
    int n_rot;
    float base;
    gpu_rope_scaling sc;
    gpu_tensor *freq;
};

/* The frequencies in double, rounded to f32 as the reference implementations keep them.
 * YaRN (DeepSeek-V3's inference code): frequencies below the correction band are divided by
 * the factor, those above kept, a linear ramp between. Llama 3 (transformers): by
 * wavelength, long ones divided, short ones kept, a smooth blend between. */
static void make_freqs(float *f, int n_rot, float base, const gpu_rope_scaling *s)
{
    int half = n_rot / 2;
    double lo = 0, hi = 0;
    if (s->kind == GPU_ROPE_YARN) {
        double lb = log(base);
        lo = floor(n_rot * log(s->orig_ctx / (s->beta_fast * 2 * M_PI)) / (2 * lb));
        hi = ceil(n_rot * log(s->orig_ctx / (s->beta_slow * 2 * M_PI)) / (2 * lb));
        if (lo < 0) lo = 0;
        if (hi > n_rot - 1) hi = n_rot - 1;
        if (lo == hi) hi += 0.001;
    }
    for (int i = 0; i < half; i++) {
        double fr = (float)(1.0 / pow(base, (double)(2 * i) / n_rot));
        if (s->kind == GPU_ROPE_LINEAR) {
            fr /= s->factor;
        } else if (s->kind == GPU_ROPE_YARN) {
            double ramp = ((double)i - lo) / (hi - lo);
            ramp = ramp < 0 ? 0 : ramp > 1 ? 1 : ramp;
            fr = fr / s->factor * ramp + fr * (1 - ramp);
        } else if (s->kind == GPU_ROPE_LLAMA3) {
            double wavelen = 2 * M_PI / fr;
            double low_wl = s->orig_ctx / s->low_freq_factor, high_wl = s->orig_ctx / s->high_freq_factor;
            if (wavelen > low_wl) {
                fr /= s->factor;
            } else if (wavelen >= high_wl) {
                double smooth = (s->orig_ctx / wavelen - s->low_freq_factor) /
                                (s->high_freq_factor - s->low_freq_factor);
                fr = (1 - smooth) * fr / s->factor + smooth * fr;
            }
        }
        f[i] = (float)fr;
    }
}

static gpu_tensor *rope_table(gpu_ctx *ctx, int n_rot, float base, const gpu_rope_scaling *sc)
{
    gpu_rope_scaling y = {0};
    if (sc && sc->kind != GPU_ROPE_PLAIN) y = *sc;
    y.attn_factor = 0; /* not part of the frequencies */
    for (int i = 0; i < ctx->n_rope_tables; i++) {
        struct gpu_rope_table *t = &ctx->rope_tables[i];
        if (t->n_rot == n_rot && t->base == base && memcmp(&t->sc, &y, sizeof y) == 0)
            return t->freq;
    }
    struct gpu_rope_table *p =
        realloc(ctx->rope_tables, (size_t)(ctx->n_rope_tables + 1) * sizeof *p);
    if (!p) {
        gpu_fail(ctx, "out of host memory");
        return NULL;
    }
    ctx->rope_tables = p;
    float f[512];
    make_freqs(f, n_rot, base, &y);
    gpu_tensor *t = gpu_new(ctx, GPU_F32, n_rot / 2, 1, 1, 1, "rope_freqs");
    if (!t || gpu_upload(ctx, t, f, GPU_F32)) {
        gpu_free(ctx, t);
        return NULL;
    }
    p[ctx->n_rope_tables++] = (struct gpu_rope_table){n_rot, base, y, t};
    return t;
}

void gpu_rope_tables_free(gpu_ctx *ctx)
{
    for (int i = 0; i < ctx->n_rope_tables; i++) gpu_free(ctx, ctx->rope_tables[i].freq);
    free(ctx->rope_tables);
    ctx->rope_tables = NULL;
    ctx->n_rope_tables = 0;
}

int gpu_rope(gpu_ctx *ctx, gpu_tensor *x, int n_rot, gpu_rope_mode mode, float freq_base,
             const gpu_rope_scaling *sc, int pos0, gpu_tensor *pos)
{
    if (ctx->failed) return -1;
    char sx[160];
    if (gpu_check_type(ctx, "rope", x, GPU_F32) || gpu_check_contiguous(ctx, "rope", x) ||
        (pos && (gpu_check_type(ctx, "rope", pos, GPU_I32) ||
                 gpu_check_contiguous(ctx, "rope", pos))))
        return -1;
    if (pos && gpu_nelem(pos) != x->ne[3])
        return gpu_fail(ctx, "rope: %lld positions for %lld sequences", (long long)gpu_nelem(pos),
                        (long long)x->ne[3]);
    if (mode != GPU_ROPE_INTERLEAVED && mode != GPU_ROPE_HALF)
        return gpu_fail(ctx, "rope: unknown mode %d", (int)mode);
    if (n_rot < 2 || n_rot % 2 || n_rot > x->ne[0] || n_rot > 1024 || pos0 < 0 || freq_base <= 0)
        return gpu_fail(ctx, "rope: n_rot %d, pos0 %d, base %g do not fit %s", n_rot, pos0,
                        freq_base, gpu_shape_str(x, sx, sizeof sx));
    if (sc && (sc->kind > GPU_ROPE_LLAMA3 || (sc->kind != GPU_ROPE_PLAIN && !(sc->factor > 0)) ||
               (sc->kind == GPU_ROPE_LLAMA3 && !(sc->high_freq_factor > sc->low_freq_factor))))
        return gpu_fail(ctx, "rope: bad scaling parameters");
    gpu_tensor *f = rope_table(ctx, n_rot, freq_base, sc);
    if (!f) return -1;
    gpu_bind b[3];
    uint32_t pos_off = 0;
    if (gpu_bind_tensor(ctx, &b[0], x, 1, NULL) || gpu_bind_tensor(ctx, &b[1], f, 0, NULL) ||
        gpu_bind_tensor(ctx, &b[2], pos ? pos : f, 0, &pos_off)) /* f: unread stand-in */
        return -1;
    struct {
        uint32_t head_dim, n_head, n_tok, n_seq, n_rot, mode, pos0;
        float attn_factor;
        uint32_t pos_off, has_pos;
    } pc = {(uint32_t)x->ne[0], (uint32_t)x->ne[1], (uint32_t)x->ne[2], (uint32_t)x->ne[3],
            (uint32_t)n_rot, (uint32_t)mode, (uint32_t)pos0,
            sc && sc->attn_factor > 0 ? sc->attn_factor : 1.0f, pos_off, pos != NULL};
    gpu_dispatch_desc d = {.op = "rope", .shader = "rope", .binds = b, .n_binds = 3, .push = &pc,
                           .push_size = sizeof pc, .loop_iters = 1};
    d.n_spec = gpu_spec_base(ctx, d.spec, ctx->wg);
    gpu_grid(ctx, gpu_div_up((uint64_t)(n_rot / 2) * x->ne[1] * x->ne[2] * x->ne[3], ctx->wg),
             d.groups);
    return gpu_dispatch(ctx, &d);
}
