/* prompt.h: what a request's text becomes before the scheduler sees it, shared by the CLI
 * and the server: a conversation rendered by its chat template and tokenized, Janus picture
 * placeholders grown to the image's token span, and Janus' text-to-image prompt. */
#ifndef VKSEEK_PROMPT_H
#define VKSEEK_PROMPT_H

#include "engine/model.h"
#include "text/chat.h"

/* The conversation's ids by template t (BOS is in the rendered text). 0, or -1 with err. */
int prompt_chat(const model *m, chat_template t, const chat_msg *msgs, int n, int32_t **ids,
                size_t *n_ids, char *err, size_t errlen);

/* Janus: every <image_placeholder> in ids[0..n) grown to <begin_of_image>, per_image
 * placeholders, <end_of_image> (what Janus' processor does after tokenizing), in a new
 * array *out; *ph is the placeholder's id. 0, or -1 with err. */
int prompt_expand_pictures(const model *m, const int32_t *ids, size_t n, int per_image,
                           int32_t **out, size_t *n_out, int32_t *ph, char *err, size_t errlen);

/* Janus text-to-image: "<|User|>: {text}\n\n<|Assistant|>:<begin_of_image>" as ids, and the
 * pad id the unconditional rows use. 0, or -1 with err. */
int prompt_image(const model *m, const char *text, int32_t **ids, size_t *n_ids, int32_t *pad,
                 char *err, size_t errlen);

#endif
