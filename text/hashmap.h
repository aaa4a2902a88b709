/* hashmap.h: the tokenizer's two hash tables: byte strings -> two ints (vocabulary,
 * added tokens, the pre-token cache) and id pairs -> (rank, merged id) (BPE merges).
 * Open addressing with linear probing; keys are copied into the map. */
#ifndef VKSEEK_HASHMAP_H
#define VKSEEK_HASHMAP_H

#include <stddef.h>
#include <stdint.h>
#include "text/tk_buf.h"

typedef struct {
    uint64_t off;   /* key's offset in the map's key arena */
    uint32_t len;   /* key length; UINT32_MAX marks an empty slot */
    uint32_t hash;  /* low bits of the key's hash, compared before the bytes */
    int32_t a, b;   /* the values */
} tk_strslot;

typedef struct {
    tk_strslot *slots;
    size_t cap;       /* power of two, at least twice count */
    size_t count;
    tk_bytes keys;
} tk_strmap;

/* 0 ok, -1 out of memory. `expect`: how many keys will be put (a sizing hint). */
int tk_strmap_init(tk_strmap *m, size_t expect);
void tk_strmap_free(tk_strmap *m);
/* Empties the map, keeping its memory. */
void tk_strmap_clear(tk_strmap *m);
/* Inserts or overwrites key -> (a, b). Keys are at most 2^31 bytes. 0 ok, -1 out of memory. */
int tk_strmap_put(tk_strmap *m, const void *key, size_t len, int32_t a, int32_t b);
/* 1 and the values when key is present, else 0. */
int tk_strmap_get(const tk_strmap *m, const void *key, size_t len, int32_t *a, int32_t *b);

typedef struct {
    uint64_t key;      /* left << 32 | right; UINT64_MAX marks an empty slot */
    int32_t rank, id;
} tk_pairslot;

typedef struct {
    tk_pairslot *slots;
    size_t cap, count;
} tk_pairmap;

int tk_pairmap_init(tk_pairmap *m, size_t expect);
void tk_pairmap_free(tk_pairmap *m);
/* Ids are non-negative. Inserts or overwrites. 0 ok, -1 out of memory. */
int tk_pairmap_put(tk_pairmap *m, int32_t left, int32_t right, int32_t rank, int32_t id);
/* 1 and (rank, id) when the pair has a merge, else 0. */
int tk_pairmap_get(const tk_pairmap *m, int32_t left, int32_t right, int32_t *rank, int32_t *id);

#endif
