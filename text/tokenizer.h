/* tokenizer.h: byte-level BPE tokenizers from Hugging Face tokenizer.json files
 * (DeepSeek-LLM/Janus, DeepSeek-V2/V3/R1, Qwen2/2.5/3, Llama-3), encoding exactly as the
 * Hugging Face `tokenizers` library does, and decoding, also one id at a time.
 * Functions that can fail return 0 / -1 (or NULL) and write a one-line message to err. */
#ifndef VKSEEK_TOKENIZER_H
#define VKSEEK_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

typedef struct tokenizer tokenizer;

/* Loads DIR/tokenizer.json and, if present, DIR/tokenizer_config.json (BOS/EOS tokens and
 * whether to add BOS). NULL with a message on any problem with either file. */
tokenizer *tok_load(const char *model_dir, char *err, size_t errlen);
void tok_free(tokenizer *t);

/* Encodes len bytes of UTF-8 text (NULs allowed). Added tokens in the text become their
 * ids. With add_bos, BOS is prepended if the tokenizer has one. On success *ids is a
 * malloc'd array of *n_ids ids (free it). Invalid UTF-8 is an error. Thread-safe (calls
 * on one tokenizer are serialised). */
int tok_encode(tokenizer *t, const char *text, size_t len, int add_bos, int32_t **ids,
               size_t *n_ids, char *err, size_t errlen);

/* Decodes ids to text: byte-level tokens to their bytes, added tokens (special ones
 * too) to their content; bytes that do not form valid UTF-8 become U+FFFD. On success
 * *text is a malloc'd NUL-terminated string of *len bytes (free it). An id that is no
 * token is an error. */
int tok_decode(const tokenizer *t, const int32_t *ids, size_t n_ids, char **text, size_t *len,
               char *err, size_t errlen);

/* Streaming decoder: feed ids one at a time and get the text they complete; a character
 * split across tokens is held back until its last byte arrives. */
typedef struct tok_stream tok_stream;
tok_stream *tok_stream_new(const tokenizer *t);  /* NULL when out of memory */
void tok_stream_free(tok_stream *s);
/* The complete UTF-8 text that id adds (possibly empty) in *text / *len, valid until the
 * next call on s. A sequence that can no longer become valid is emitted as U+FFFD. */
int tok_stream_push(tok_stream *s, int32_t id, const char **text, size_t *len, char *err,
                    size_t errlen);
/* Ends the stream: the held bytes of an unfinished character, as U+FFFD (or nothing).
 * The stream can then be reused. */
int tok_stream_finish(tok_stream *s, const char **text, size_t *len, char *err, size_t errlen);

/* Largest id + 1 (vocabulary and added tokens). */
int32_t tok_vocab_size(const tokenizer *t);
/* The id of a token: an added token's content ("<｜User｜>"), or a vocabulary entry as
 * tokenizer.json spells it ("Ġthe"). -1 if there is none. */
int32_t tok_token_id(const tokenizer *t, const char *token);
/* The text of one id (its decoded bytes, not NUL-terminated), NULL if id is no token. */
const char *tok_token_text(const tokenizer *t, int32_t id, size_t *len);
int32_t tok_bos(const tokenizer *t);  /* BOS id, -1 if none */
int32_t tok_eos(const tokenizer *t);  /* EOS id, -1 if none */
/* Whether the config asks for BOS to be prepended (add_bos_token, or its default). */
int tok_add_bos(const tokenizer *t);
/* Whether id is an added token marked special. */
int tok_is_special(const tokenizer *t, int32_t id);

#endif
