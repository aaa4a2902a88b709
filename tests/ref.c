/* ref.c: see ref.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ref.h"

float ref_half(uint16_t h)
{
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m + 1024, e - 25);
    return (float)(s ? -v : v);
}

static float bf16(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

void ref_dequant(gpu_type type, const void *raw, int64_t rows, int64_t K, float *out)
{
    const uint8_t *b = raw;
    int64_t n = rows * K;
    if (type == GPU_F32) {
        memcpy(out, raw, (size_t)n * 4);
        return;
    }
    if (type == GPU_F16 || type == GPU_BF16) {
        for (int64_t i = 0; i < n; i++) {
            uint16_t h = (uint16_t)(b[2 * i] | b[2 * i + 1] << 8);
            out[i] = type == GPU_F16 ? ref_half(h) : bf16(h);
        }
        return;
    }
    int64_t qbytes = type == GPU_Q8_0 ? n : n / 2;
    const uint8_t *scales = b + ((qbytes + 255) / 256) * 256;
    for (int64_t blk = 0; blk < n / 32; blk++) {
        float d = ref_half((uint16_t)(scales[2 * blk] | scales[2 * blk + 1] << 8));
        for (int j = 0; j < 32; j++) {
            int q;
            if (type == GPU_Q8_0) {
                q = (int8_t)b[blk * 32 + j];
            } else {
                uint8_t byte = b[blk * 16 + (j & 15)];
                q = (j < 16 ? byte & 15 : byte >> 4) - 8;
            }
            out[blk * 32 + j] = d * (float)q;
        }
    }
}

void ref_matmul(float *y, const float *W, const float *x, int64_t N, int64_t K, int64_t M)
{
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            double s = 0;
            for (int64_t k = 0; k < K; k++) s += (double)W[n * K + k] * x[m * K + k];
            y[m * N + n] = (float)s;
        }
}

void ref_rmsnorm(float *y, const float *x, const float *w, int64_t n, int64_t rows, float eps)
{
    for (int64_t r = 0; r < rows; r++) {
        double ss = 0;
        for (int64_t i = 0; i < n; i++) ss += (double)x[r * n + i] * x[r * n + i];
        double inv = 1 / sqrt(ss / n + eps);
        for (int64_t i = 0; i < n; i++) y[r * n + i] = (float)(x[r * n + i] * inv * w[i]);
    }
}

void ref_layernorm(float *y, const float *x, const float *w, const float *b, int64_t n,
                   int64_t rows, float eps)
{
    for (int64_t r = 0; r < rows; r++) {
        double mean = 0, var = 0;
        for (int64_t i = 0; i < n; i++) mean += x[r * n + i];
        mean /= n;
        for (int64_t i = 0; i < n; i++) var += (x[r * n + i] - mean) * (x[r * n + i] - mean);
        double inv = 1 / sqrt(var / n + eps);
        for (int64_t i = 0; i < n; i++)
            y[r * n + i] = (float)((x[r * n + i] - mean) * inv * w[i] + (b ? b[i] : 0));
    }
}

void ref_groupnorm(float *y, const float *x, const float *w, const float *b, int64_t hw,
                   int64_t C, int64_t B, int groups, float eps)
{
    int64_t cg = C / groups, n = cg * hw;
    for (int64_t bt = 0; bt < B; bt++)
        for (int g = 0; g < groups; g++) {
            const float *p = x + (bt * C + g * cg) * hw;
            double mean = 0, var = 0;
            for (int64_t i = 0; i < n; i++) mean += p[i];
            mean /= n;
            for (int64_t i = 0; i < n; i++) var += (p[i] - mean) * (p[i] - mean);
            double inv = 1 / sqrt(var / n + eps);
            for (int64_t i = 0; i < n; i++) {
                int64_t c = g * cg + i / hw;
                y[(bt * C + g * cg) * hw + i] = (float)((p[i] - mean) * inv * w[c] + (b ? b[c] : 0));
            }
        }
}

void ref_rope(float *x, int64_t head_dim, int64_t n_head, int64_t n_tok, int64_t n_seq,
              int n_rot, int half_mode, float base, const gpu_rope_scaling *sc, int pos0,
              const int *pos)
{
    int half = n_rot / 2;
    gpu_rope_kind kind = sc ? sc->kind : GPU_ROPE_PLAIN;
    double *freq = malloc((size_t)half * sizeof *freq);
    for (int i = 0; i < half; i++) {
        /* the frequency as f32, as the official code computes it */
        double f = (float)pow(base, -2.0 * i / n_rot);
        if (kind == GPU_ROPE_LINEAR) f /= sc->factor;
        if (kind == GPU_ROPE_YARN) {
            /* correction dims from the rotations beta_fast/beta_slow make in orig_ctx */
            double lo = floor(n_rot * log(sc->orig_ctx / (sc->beta_fast * 2 * M_PI)) / (2 * log(base)));
            double hi = ceil(n_rot * log(sc->orig_ctx / (sc->beta_slow * 2 * M_PI)) / (2 * log(base)));
            lo = fmax(lo, 0), hi = fmin(hi, n_rot - 1);
            if (lo == hi) hi += 0.001;
            double ramp = fmin(fmax((i - lo) / (hi - lo), 0), 1);
            f = f / sc->factor * ramp + f * (1 - ramp);
        }
        if (kind == GPU_ROPE_LLAMA3) {
            /* transformers' _compute_llama3_parameters */
            double wl = 2 * M_PI / f, lw = sc->orig_ctx / sc->low_freq_factor;
            double hw = sc->orig_ctx / sc->high_freq_factor;
            double scaled = wl > lw ? f / sc->factor : f;
            double smooth = (sc->orig_ctx / wl - sc->low_freq_factor) /
                            (sc->high_freq_factor - sc->low_freq_factor);
            f = (wl >= hw && wl <= lw) ? (1 - smooth) * scaled / sc->factor + smooth * scaled : scaled;
        }
        freq[i] = (float)f;
    }
    double mscale = sc && sc->attn_factor > 0 ? sc->attn_factor : 1;
    for (int64_t s = 0; s < n_seq; s++)
        for (int64_t t = 0; t < n_tok; t++)
            for (int64_t h = 0; h < n_head; h++) {
                float *p = x + ((s * n_tok + t) * n_head + h) * head_dim;
                for (int i = 0; i < half; i++) {
                    int at = pos0 + (int)t + (pos ? pos[s] : 0);
                    float angle = (float)at * (float)freq[i]; /* f32 product, as torch */
                    double c = cos(angle) * mscale, sn = sin(angle) * mscale;
                    int a = half_mode ? i : 2 * i, b = half_mode ? i + half : 2 * i + 1;
                    double x0 = p[a], x1 = p[b];
                    p[a] = (float)(x0 * c - x1 * sn);
                    p[b] = (float)(x0 * sn + x1 * c);
                }
            }
    free(freq);
}

void ref_softmax(float *y, const float *x, int64_t n, int64_t rows, float scale)
{
    for (int64_t r = 0; r < rows; r++) {
        double m = -INFINITY, s = 0;
        for (int64_t i = 0; i < n; i++) m = fmax(m, (double)scale * x[r * n + i]);
        for (int64_t i = 0; i < n; i++) s += exp((double)scale * x[r * n + i] - m);
        for (int64_t i = 0; i < n; i++) y[r * n + i] = (float)(exp((double)scale * x[r * n + i] - m) / s);
    }
}

void ref_attention(float *out, const float *q, const float *k, const float *v, int64_t dk,
                   int64_t dv, int64_t H, int64_t Hkv, int64_t T, int64_t S, int n_kv, int pos0,
                   const int *slot, const int *pos, float scale, int causal,
                   const int64_t knb[4], const int64_t vnb[4])
{
    double *p = malloc((size_t)n_kv * sizeof *p);
    for (int64_t s = 0; s < S; s++)
        for (int64_t t = 0; t < T; t++)
            for (int64_t h = 0; h < H; h++) {
                int64_t hk = h / (H / Hkv);
                const float *qr = q + ((s * T + t) * H + h) * dk;
                int64_t c = slot ? slot[s] : s; /* the cache slot */
                int at = pos0 + (int)t + (pos ? pos[s] : 0);
                int limit = causal ? (int)fmin(n_kv, at + 1) : n_kv;
                double m = -INFINITY, sum = 0;
                for (int j = 0; j < limit; j++) {
                    double acc = 0;
                    for (int64_t d = 0; d < dk; d++)
                        acc += (double)qr[d] * k[knb[0] + d + hk * knb[1] + j * knb[2] + c * knb[3]];
                    p[j] = acc * scale;
                    m = fmax(m, p[j]);
                }
                for (int j = 0; j < limit; j++) sum += (p[j] = exp(p[j] - m));
                float *o = out + ((s * T + t) * H + h) * dv;
                for (int64_t d = 0; d < dv; d++) {
                    double acc = 0;
                    for (int j = 0; j < limit; j++)
                        acc += p[j] * v[vnb[0] + d + hk * vnb[1] + j * vnb[2] + c * vnb[3]];
                    o[d] = (float)(acc / sum);
                }
            }
    free(p);
}

float ref_silu(float x) { return (float)(x / (1 + exp(-(double)x))); }
float ref_gelu(float x) { return (float)(0.5 * x * (1 + erf(x / sqrt(2.0)))); }
float ref_gelu_tanh(float x)
{
    double u = sqrt(2 / M_PI) * (x + 0.044715 * (double)x * x * x);
    return (float)(0.5 * x * (1 + tanh(u)));
}

void ref_conv2d(float *y, const float *x, const float *w, const float *bias, int64_t W,
                int64_t H, int64_t Cin, int64_t Cout, int64_t B, int k)
{
    int pad = k / 2;
    for (int64_t b = 0; b < B; b++)
        for (int64_t co = 0; co < Cout; co++)
            for (int64_t yy = 0; yy < H; yy++)
                for (int64_t xx = 0; xx < W; xx++) {
                    double s = bias ? bias[co] : 0;
                    for (int64_t ci = 0; ci < Cin; ci++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++) {
                                int64_t sy = yy + ky - pad, sx = xx + kx - pad;
                                if (sy < 0 || sy >= H || sx < 0 || sx >= W) continue;
                                s += (double)w[((co * Cin + ci) * k + ky) * k + kx] *
                                     x[((b * Cin + ci) * H + sy) * W + sx];
                            }
                    y[((b * Cout + co) * H + yy) * W + xx] = (float)s;
                }
}

void ref_upsample2x(float *y, const float *x, int64_t W, int64_t H, int64_t planes)
{
    for (int64_t p = 0; p < planes; p++)
        for (int64_t yy = 0; yy < 2 * H; yy++)
            for (int64_t xx = 0; xx < 2 * W; xx++)
                y[(p * 2 * H + yy) * 2 * W + xx] = x[(p * H + yy / 2) * W + xx / 2];
}

void ref_topk(float *vals, int32_t *ids, const float *x, int64_t n, int64_t rows, int k)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *p = x + r * n;
        for (int j = 0; j < k; j++) {
            int64_t best = -1;
            for (int64_t i = 0; i < n; i++) {
                int taken = 0;
                for (int q = 0; q < j; q++) taken |= ids[r * k + q] == i;
                if (taken) continue;
                if (best < 0 || p[i] > p[best]) best = i;
            }
            ids[r * k + j] = (int32_t)best;
            vals[r * k + j] = p[best];
        }
    }
}
