/* stop.h: stop strings on streamed output text. Text that could be the start of a stop
 * string is held back until it is known not to be (then released) or a whole stop string
 * has arrived (then generation stops; the text before it is released, the stop string and
 * anything after it never are). Byte-exact matching on text, independent of how the
 * tokenizer split it. Put it before reasoning.h's splitter to stop inside reasoning too. */
#ifndef VKSEEK_STOP_H
#define VKSEEK_STOP_H

#include <stddef.h>

#define STOP_MAX_STRINGS 32
#define STOP_MAX_LEN 256 /* bytes of one stop string */

typedef struct stop_matcher stop_matcher;

/* What a call released: text[0..len) (valid until the next call), and whether a stop
 * string completed, and which (its index in the list given to stop_new). */
typedef struct {
    const char *text;
    size_t len;
    int stopped;
    int which; /* -1 when not stopped */
} stop_out;

/* n in [0, STOP_MAX_STRINGS] non-empty strings of at most STOP_MAX_LEN bytes (copied).
 * NULL with a message otherwise. With n = 0 text passes straight through. */
stop_matcher *stop_new(const char *const *stops, int n, char *err, size_t errlen);
void stop_free(stop_matcher *m);

/* Feeds len bytes. The first stop string to be complete wins: the one ending earliest in
 * the text, and of those ending at the same byte the longest. After a stop, feeding more is
 * an error until stop_reset. */
int stop_feed(stop_matcher *m, const char *text, size_t len, stop_out *out, char *err,
              size_t errlen);
/* End of output with no stop: releases the held text. Then the matcher is reset. */
void stop_finish(stop_matcher *m, stop_out *out);
/* Forgets held text and a stop, for a new generation. */
void stop_reset(stop_matcher *m);

#endif
