/* reasoning.h: splits a model's streamed output into reasoning (the think block, before
 * </think>) and content (after it), as R1 and its distills write them, whatever the pieces'
 * boundaries: a tag split across pieces is held back until it is known to be one or not.
 * Works on text (after detokenizing), never on ids; knows nothing of stop strings (stop.h). */
#ifndef VKSEEK_REASONING_H
#define VKSEEK_REASONING_H

#include <stddef.h>

typedef enum {
    REASONING_NONE, /* no think block: everything is content (V3, V2, Janus) */
    REASONING_AUTO, /* a <think> at the very start opens the block; otherwise all is content */
    REASONING_OPEN, /* the prompt opened the block (R1's "<think>\n", chat_template_opens_think):
                       the output starts inside it; a <think> at the very start is still removed */
} reasoning_mode;

typedef struct reasoning reasoning;

/* What one call released, each valid until the next call on the splitter (lengths may be 0;
 * reasoning always comes before content). Tags are never included: a leading <think> is
 * dropped with one "\n" right after it (what R1's prompt prefix holds), </think> is
 * dropped, and so are up to two "\n" that begin the content. */
typedef struct {
    const char *reasoning;
    size_t reasoning_len;
    const char *content;
    size_t content_len;
} reasoning_out;

reasoning *reasoning_new(reasoning_mode mode, char *err, size_t errlen); /* NULL: bad mode/OOM */
void reasoning_free(reasoning *r);

/* Feeds len bytes of output text (any split, even inside a tag or a UTF-8 character). */
int reasoning_feed(reasoning *r, const char *text, size_t len, reasoning_out *out, char *err,
                   size_t errlen);
/* End of output: releases what was held back (a partial tag is text after all). The
 * splitter then starts over in its mode. */
int reasoning_finish(reasoning *r, reasoning_out *out, char *err, size_t errlen);

/* 1 while the output is inside the think block (no </think> yet): a generation that ends
 * here ran out of tokens while reasoning. */
int reasoning_in_think(const reasoning *r);

#endif
