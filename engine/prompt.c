/* prompt.c: see prompt.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine/prompt.h"

int prompt_chat(const model *m, chat_template t, const chat_msg *msgs, int n, int32_t **ids,
                size_t *n_ids, char *err, size_t errlen)
{
    chat_specials sp;
    char *text;
    size_t len;
    if (chat_specials_from_tokenizer(m->tok, &sp, err, errlen) ||
        chat_render(t, msgs, n, 1, &sp, &text, &len, err, errlen))
        return -1;
    int rc = tok_encode(m->tok, text, len, 0, ids, n_ids, err, errlen);
    free(text);
    return rc;
}

int prompt_expand_pictures(const model *m, const int32_t *ids, size_t n, int per_image,
                           int32_t **out, size_t *n_out, int32_t *ph, char *err, size_t errlen)
{
    int32_t boi = tok_token_id(m->tok, "<begin_of_image>");
    int32_t eoi = tok_token_id(m->tok, "<end_of_image>");
    *ph = tok_token_id(m->tok, "<image_placeholder>");
    if (boi < 0 || eoi < 0 || *ph < 0)
        return snprintf(err, errlen, "the tokenizer has no <begin_of_image>, <end_of_image> or "
                                     "<image_placeholder>"), -1;
    size_t k = 0, cap = n;
    for (size_t i = 0; i < n; i++) cap += ids[i] == *ph ? (size_t)per_image + 1 : 0;
    int32_t *o = malloc(cap * sizeof *o);
    if (!o) return snprintf(err, errlen, "out of memory"), -1;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] != *ph) {
            o[k++] = ids[i];
            continue;
        }
        o[k++] = boi;
        for (int p = 0; p < per_image; p++) o[k++] = *ph;
        o[k++] = eoi;
    }
    *out = o, *n_out = k;
    return 0;
}

int prompt_image(const model *m, const char *text, int32_t **ids, size_t *n_ids, int32_t *pad,
                 char *err, size_t errlen)
{
    chat_msg msg = {CHAT_USER, text};
    chat_specials sp;
    char *r, *full;
    size_t len;
    if ((*pad = tok_token_id(m->tok, "<｜▁pad▁｜>")) < 0)
        return snprintf(err, errlen, "the tokenizer has no <｜▁pad▁｜>"), -1;
    if (chat_specials_from_tokenizer(m->tok, &sp, err, errlen) ||
        chat_render(CHAT_JANUS, &msg, 1, 1, &sp, &r, &len, err, errlen))
        return -1;
    if (!(full = malloc(len + 32))) {
        free(r);
        return snprintf(err, errlen, "out of memory"), -1;
    }
    snprintf(full, len + 32, "%s<begin_of_image>", r);
    int rc = tok_encode(m->tok, full, strlen(full), 0, ids, n_ids, err, errlen);
    free(r), free(full);
    return rc;
}
