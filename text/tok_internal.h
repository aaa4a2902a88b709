/* tok_internal.h: the tokenizer's state as its files share it (tokenizer.h is the public
 * face). Loading fills it (tokenizer_load.c); encoding reads it and uses the scratch
 * parts under `lock` (tokenizer.c, pretokenize.c, bpe.c). Not for use outside text/. */
#ifndef VKSEEK_TOK_INTERNAL_H
#define VKSEEK_TOK_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <cjson/cJSON.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdint.h>
#include "text/hashmap.h"
#include "text/tk_buf.h"
#include "text/tokenizer.h"

/* Bounds on what a tokenizer file may declare: far above any real tokenizer (the largest
 * known vocabularies are ~260k), low enough that a corrupt file cannot exhaust memory. */
#define TK_MAX_ID (1 << 24)
#define TK_MAX_TOKEN_BYTES 65536
#define TK_MAX_FILE_BYTES ((size_t)1 << 30)

/* A compiled pattern with its match buffers (used under the tokenizer's lock). */
typedef struct {
    pcre2_code *code;
    pcre2_match_data *md;
    pcre2_match_context *mc;
    pcre2_jit_stack *stack;
    int jit;
} tk_regex;

/* Rewrites an Oniguruma pattern as PCRE2 (into out). 0 ok, -1 with a message. */
int tk_onig_translate(const char *re, size_t n, tk_bytes *out, char *err, size_t errlen);
/* Compiles an Oniguruma pattern, or a literal string when `literal`. NULL with a message. */
tk_regex *tk_regex_compile(const char *pattern, size_t n, int literal, char *err, size_t errlen);
void tk_regex_free(tk_regex *r);

/* Hugging Face's SplitDelimiterBehavior. */
typedef enum {
    TK_REMOVED,
    TK_ISOLATED,
    TK_MERGED_WITH_PREVIOUS,
    TK_MERGED_WITH_NEXT,
    TK_CONTIGUOUS,
} tk_behavior;

/* One span of a piece during a split. */
typedef struct {
    size_t start, end;
    int match;  /* matched the pattern (after invert); for Removed: to be dropped */
} tk_span;

typedef struct {
    tk_span *p;
    size_t n, cap;
} tk_spans;

/* One pre-tokenizer of the sequence: a Split, or the final ByteLevel. */
typedef struct {
    int byte_level;         /* 0: Split; 1: ByteLevel (always the last stage) */
    tk_regex *re;           /* Split's pattern; ByteLevel's GPT-2 regex when use_regex, else NULL */
    tk_behavior behavior;   /* Split only */
    int invert;             /* Split only */
    int add_prefix_space;   /* ByteLevel only */
    tk_spans spans;         /* scratch: the spans of the piece being split */
    tk_bytes prefixed;      /* scratch: " " + piece for add_prefix_space */
} tk_stage;

/* Added tokens, matched in the text before the pre-tokenizer: a byte trie per pass. */
typedef struct {
    int32_t child;    /* first child node, -1 none */
    int32_t sibling;  /* next node with the same parent, -1 none */
    int32_t token;    /* index into tokenizer.added, -1 if no token ends here */
    uint8_t byte;
} tk_trie_node;

typedef struct {
    tk_trie_node *nodes;  /* nodes[0] is the root */
    size_t n, cap;
    uint8_t first[256];   /* 1 for bytes that start some token (fast skip) */
} tk_trie;

typedef struct {
    int32_t id;
    int lstrip, rstrip;  /* absorb whitespace on that side into the match */
    int special;
    int normalized;      /* matched after normalisation, in the second pass */
} tk_added;

/* Symbols of the word being merged, and the merge queue. */
typedef struct {
    int32_t id;
    int32_t prev, next;
    uint32_t len;  /* bytes covered; 0 once merged into its left neighbour */
} tk_sym;

struct tokenizer {
    /* Every id's text: bytes [text_off[id], text_off[id] + text_len[id]) of `texts`;
     * text_len -1 for ids nothing defines. */
    int32_t n_ids;         /* largest id + 1 */
    tk_bytes texts;
    uint64_t *text_off;
    int32_t *text_len;
    uint8_t *special;      /* per id: an added token marked special */

    /* The BPE model. */
    tk_strmap vocab;       /* token bytes -> id, for entries spelled in the byte alphabet */
    tk_strmap vocab_other; /* vocabulary strings outside the byte alphabet -> id */
    tk_pairmap merges;     /* (left id, right id) -> (rank, merged id) */
    int32_t byte_id[256];  /* the token of each single byte, -1 if none */
    int ignore_merges;     /* a pre-token that is itself a token is not merged */
    int32_t unk;           /* unk_token id or -1 */
    int fuse_unk;

    /* Added tokens. */
    tk_added *added;
    size_t n_added;
    tk_strmap added_by_content; /* content -> index into added */
    tk_trie trie_raw;           /* normalized: false, matched in the raw text */
    tk_trie trie_norm;          /* normalized: true, matched in the normalised text */

    int nfc;               /* the normalizer: none (0) or NFC (1) */
    tk_stage *stages;      /* the pre-tokenizer sequence; the last is ByteLevel */
    int n_stages;

    int32_t bos, eos;      /* -1 if none */
    int add_bos;           /* tokenizer_config.json's add_bos_token (or its default) */

    /* Encoding scratch, used under lock. */
    pthread_mutex_t lock;
    tk_strmap cache;       /* pre-token bytes -> (offset into cache_ids, count) */
    tk_ids cache_ids;
    tk_sym *syms;
    size_t syms_cap;
    uint64_t *heap;        /* merge candidates, rank << 32 | left symbol; 3 * heap_cap slots */
    size_t heap_cap;
    tk_bytes norm;         /* the normalised text of one segment */
};

/* bpe.c */
/* The byte-level alphabet: the code point that stands for each byte in vocabulary strings. */
uint32_t tk_byte_char(uint8_t b);
/* Decodes a vocabulary string spelled in the byte alphabet into raw bytes (appended to
 * out). 1 ok, 0 if a character is outside the alphabet, -1 out of memory. */
int tk_bytelevel_decode(const char *s, size_t n, tk_bytes *out);
/* Appends the ids of one pre-token (raw bytes) to out. 0 ok, -1 out of memory. */
int tk_bpe(tokenizer *t, const uint8_t *s, size_t n, tk_ids *out);

/* pretokenize.c */
/* Runs stages [stage, n_stages) over one piece of normalised text and BPE-encodes the
 * resulting pre-tokens into out. 0 ok, -1 with a message. */
int tk_pretokenize(tokenizer *t, int stage, const uint8_t *s, size_t n, tk_ids *out,
                   char *err, size_t errlen);
void tk_stage_free(tk_stage *st);

/* added_tokens.c */
/* Adds s[0..n) as token `index`. 0 ok, -1 out of memory. */
int tk_trie_add(tk_trie *tr, const uint8_t *s, size_t n, int32_t index);
void tk_trie_free(tk_trie *tr);
/* The leftmost-longest added-token match in s[from..n): 1 with [*start, *end) (widened by
 * lstrip/rstrip) and the index into t->added; 0 if none. */
int tk_trie_find(const tokenizer *t, const tk_trie *tr, const uint8_t *s, size_t n, size_t from,
                 size_t *start, size_t *end, int32_t *index);

/* tokenizer_load.c / tokenizer_pipeline.c: loading. Errors name the file being read. */
typedef struct {
    tokenizer *t;
    const char *path;  /* the file being read, for messages */
    char *err;
    size_t errlen;
} tk_loader;
/* Writes "path: message" to the loader's err; returns -1. */
int tk_fail(tk_loader *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reads and parses a JSON file (bounded size). NULL with a message; *missing is set when
 * the file does not exist (then no message). */
cJSON *tk_read_json(const char *path, int *missing, char *err, size_t errlen);
/* An integer-valued JSON number in [lo, hi]: 0 and *v, else -1. */
int tk_json_int(const cJSON *j, int64_t lo, int64_t hi, int64_t *v);
/* Optional boolean member: *v unchanged when absent or null; -1 if another type. */
int tk_json_bool(tk_loader *ld, const cJSON *obj, const char *what, const char *key, int *v);
/* The normalizer, the pre-tokenizer stages and the decoder check (before the model). */
int tk_load_pipeline(tk_loader *ld, const cJSON *root);
/* The post-processor (after the model): the BOS a TemplateProcessing puts before the
 * text goes to *template_bos (-1 if none). */
int tk_load_post_processor(tk_loader *ld, const cJSON *root, int32_t *template_bos);
/* BOS/EOS and add_bos from DIR/tokenizer_config.json (optional file). */
int tk_load_config(tokenizer *t, const char *dir, int32_t template_bos, char *err, size_t errlen);
/* NFC of s[0..n) into out (replacing its contents). 0 ok, -1 with errno set. */
int tk_nfc(const uint8_t *s, size_t n, tk_bytes *out);

/* Writes s[0..n) into buf as a short printable one-line snippet for error messages. */
const char *tk_snippet(const char *s, size_t n, char *buf, size_t cap);

#endif
