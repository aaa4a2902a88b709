/* utf8.h: UTF-8 for the tokenizer: strict validation (no overlong forms, surrogates or
 * code points past U+10FFFF), one-character decoding that tells "incomplete" apart from
 * "invalid", repair with U+FFFD by Unicode's maximal-subpart rule (what Hugging Face's
 * decoders and Rust's from_utf8_lossy do), and the White_Space property. */
#ifndef VKSEEK_UTF8_H
#define VKSEEK_UTF8_H

#include <stddef.h>
#include <stdint.h>
#include "text/tk_buf.h"

/* The character at s[0..n), n > 0: its length (1-4) with *cp set; 0 when s is a valid
 * but incomplete start of one (more bytes could complete it); -k when the first k
 * bytes (k >= 1) are a maximal invalid subpart, to be replaced by one U+FFFD. */
int tk_utf8_next(const uint8_t *s, size_t n, uint32_t *cp);

/* Offset of the first byte that is not part of a valid character, n if all are valid. */
size_t tk_utf8_check(const uint8_t *s, size_t n);

/* Appends s[0..n) to out with each maximal invalid subpart replaced by U+FFFD. When
 * `final` is 0 an incomplete character at the end is not appended; its length is
 * returned through *held (else *held is 0). 0 ok, -1 out of memory. */
int tk_utf8_repair(const uint8_t *s, size_t n, int final, tk_bytes *out, size_t *held);

/* Unicode White_Space (what Oniguruma's and Rust's notion of whitespace is). */
int tk_is_white_space(uint32_t cp);

/* Encodes cp (< 0x110000) into out[0..4); returns its length. */
int tk_utf8_encode(uint32_t cp, uint8_t out[4]);

#endif
