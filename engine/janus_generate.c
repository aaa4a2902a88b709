/* janus_generate.c: Janus text-to-image, as the official generation loop computes it: the
 * conditional and unconditional rows of every image run as one batch, their gen_head logits
 * combine as u + w (c - u), a token is drawn, and fed back through gen_embed and gen_aligner
 * to both rows, for every one of the image's tokens over the KV cache. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine/janus.h"

int janus_generate(janus *j, const int32_t *ids, int n, int32_t pad_id, int n_images,
                   const janus_gen_params *p, int32_t *codes, janus_progress cb, void *user,
                   char *err, size_t errlen)
{
    model *m = janus_model(j);
    int rows = 2 * n_images, K = janus_codebook(j), T = janus_image_tokens(j), rc = -1;
    if (rows != lm_seqs(m->lm))
        return snprintf(err, errlen, "%d images need the model opened for %d sequences, not %d",
                        n_images, rows, lm_seqs(m->lm)), -1;
    if (n < 2) return snprintf(err, errlen, "the image prompt is empty"), -1;
    if (n + T > lm_ctx(m->lm))
        return snprintf(err, errlen, "the prompt (%d tokens) and %d image tokens do not fit the "
                                     "context of %d", n, T, lm_ctx(m->lm)), -1;
    int32_t *batch = malloc((size_t)rows * n * sizeof *batch), *tok = malloc((size_t)rows * 4);
    float *logits = malloc((size_t)rows * K * 4), *mix = malloc((size_t)K * 4);
    sampler **smp = calloc((size_t)n_images, sizeof *smp);
    if (!batch || !tok || !logits || !mix || !smp) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    for (int i = 0; i < n_images; i++) {
        sampler_params sp = p->sampling;
        sp.seed += (uint64_t)i;
        if (!(smp[i] = sampler_new(&sp, err, errlen))) goto done;
        int32_t *c = batch + (int64_t)2 * i * n, *u = c + n;
        memcpy(c, ids, (size_t)n * 4);
        memcpy(u, ids, (size_t)n * 4);
        for (int k = 1; k + 1 < n; k++) u[k] = pad_id; /* BOS and <begin_of_image> stay */
    }
    gpu_tensor *x = lm_embed(m->lm, batch, n, err, errlen);
    int ok = x && lm_forward(m->lm, x, n, 0, 0, NULL, err, errlen) == 0;
    gpu_free(m->ctx, x);
    for (int t = 0; t < T && ok; t++) {
        if (janus_gen_logits(j, lm_last_hidden(m->lm), rows, logits, err, errlen)) goto done;
        for (int i = 0; i < n_images; i++) {
            const float *c = logits + (int64_t)2 * i * K, *u = c + K;
            for (int k = 0; k < K; k++) mix[k] = u[k] + p->cfg * (c[k] - u[k]);
            int id = sampler_sample(smp[i], mix, K, NULL, 0, err, errlen);
            if (id < 0) goto done;
            codes[(int64_t)i * T + t] = tok[2 * i] = tok[2 * i + 1] = id;
        }
        if (cb && cb(t, T, codes, user)) {
            snprintf(err, errlen, "cancelled");
            goto done;
        }
        if (t + 1 == T) break;
        gpu_tensor *xi = janus_gen_embed(j, tok, rows, err, errlen);
        ok = xi && lm_forward(m->lm, xi, 1, n + t, 0, NULL, err, errlen) == 0;
        gpu_free(m->ctx, xi);
    }
    rc = ok ? 0 : -1;
done:
    for (int i = 0; smp && i < n_images; i++) sampler_free(smp[i]);
    free(smp), free(batch), free(tok), free(logits), free(mix);
    return rc;
}
