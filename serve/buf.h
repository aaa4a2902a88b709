/* buf.h: a growable byte string, kept NUL-terminated. */
#ifndef VKSEEK_SERVE_BUF_H
#define VKSEEK_SERVE_BUF_H

#include <stddef.h>

typedef struct {
    char *data;
    size_t len, cap;
} buf;
int buf_add(buf *b, const void *p, size_t n);   /* -1 when out of memory */
int buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_free(buf *b);

#endif
