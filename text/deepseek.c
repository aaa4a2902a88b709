/* deepseek.c: DeepSeek V2/V3/R1 layers: multi-head latent attention and mixture of
 * experts (placeholder until the stack lands: loading reports it as not yet supported). */
#include <stdio.h>
#include "text/lm_internal.h"

static int ds_load(lm *m, const checkpoint *ck, const char *prefix, char *err, size_t errlen)
{
    (void)m, (void)ck, (void)prefix;
    snprintf(err, errlen, "%s language models are not supported yet", lm_arch_name(m->c.arch));
    return -1;
}
static void ds_free(lm *m) { (void)m; }
static int ds_acts(lm *m, int n_tok, int n_seq, char *err, size_t errlen)
{
    (void)m, (void)n_tok, (void)n_seq, (void)err, (void)errlen;
    return -1;
}
static int ds_layer(lm *m, int i, gpu_tensor *x, int n_tok, int pos, char *err, size_t errlen)
{
    (void)m, (void)i, (void)x, (void)n_tok, (void)pos, (void)err, (void)errlen;
    return -1;
}

const lm_stack deepseek_stack = {ds_load, ds_free, ds_acts, ds_layer};
