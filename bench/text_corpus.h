/* text_corpus.h: a deterministic mixed-language text corpus for the tokenizer benchmark
 * (English prose, C and Python code, Chinese and Japanese, emoji, accented and Cyrillic
 * words), generated rather than stored so the repository stays small. */
#ifndef VKSEEK_TEXT_CORPUS_H
#define VKSEEK_TEXT_CORPUS_H

#include <stddef.h>
#include <stdint.h>

/* A malloc'd NUL-terminated UTF-8 text of about `bytes` bytes (whole paragraphs, never
 * more than `bytes`), the same for the same seed. *len gets its length; NULL when out of
 * memory. */
char *text_corpus(size_t bytes, uint32_t seed, size_t *len);

#endif
