/* pickle.h: the subset of the Python pickle protocol (2-5) that torch.save writes for a
 * state_dict, decoded into a small value tree. Nothing is ever executed: the few globals it
 * accepts (OrderedDict, the torch tensor/parameter rebuild functions, storage types, dtypes)
 * become tagged nodes for the caller to interpret; any other opcode or global is refused. */
#ifndef VKSEEK_PICKLE_H
#define VKSEEK_PICKLE_H

#include <stddef.h>
#include <stdint.h>
#include "engine/tensor_file.h"

#define PICKLE_MAX_BYTES (256u << 20) /* data.pkl of a 7B model is a few hundred KB */
#define PICKLE_MAX_STR (1u << 16)     /* one string's bytes */
#define PICKLE_MAX_DEPTH 32           /* open MARKs, and containers inside containers */
#define PICKLE_MAX_STACK (1u << 20)   /* values on the stack at once */
#define PICKLE_MAX_MEMO (1u << 24)    /* memo slots */

typedef enum {
    PK_NONE,
    PK_BOOL,
    PK_INT,
    PK_FLOAT,
    PK_STR,
    PK_TUPLE,
    PK_LIST,
    PK_DICT,    /* from EMPTY_DICT/DICT or OrderedDict() */
    PK_GLOBAL,  /* a whitelisted name, see pk_global */
    PK_STORAGE, /* a persistent id ('storage', type, key, location, numel) */
    PK_CALL,    /* REDUCE of a rebuild function: fn(args), recorded, not run */
} pk_kind;

typedef enum {
    PG_ORDERED_DICT,      /* collections.OrderedDict */
    PG_REBUILD_TENSOR_V2, /* torch._utils._rebuild_tensor_v2 */
    PG_REBUILD_PARAMETER, /* torch._utils._rebuild_parameter */
    PG_STORAGE_TYPE,      /* torch.FloatStorage etc.; dtype says which */
    PG_DTYPE,             /* torch.float32 etc.; dtype says which */
} pk_global;

typedef struct pk_value pk_value;
struct pk_value {
    pk_kind kind;
    int depth;        /* containers: 1 + deepest container inside, as built */
    pk_value *next;   /* every value of a document, for freeing */
    union {
        int b;                                    /* PK_BOOL */
        int64_t i;                                /* PK_INT */
        double f;                                 /* PK_FLOAT */
        struct { char *s; size_t len; } str;      /* PK_STR: UTF-8, NUL-terminated, no NUL */
        struct {
            pk_value **items; /* PK_DICT: key, value, key, value... in insertion order */
            size_t n, cap;
            int ordered;      /* PK_DICT made by OrderedDict() */
        } seq;                /* PK_TUPLE, PK_LIST, PK_DICT */
        struct { pk_global g; tf_dtype dtype; const char *name; } global;
        struct { tf_dtype dtype; const char *key; int64_t numel; } storage;
        struct { pk_global fn; const pk_value *args; } call; /* args is a PK_TUPLE */
    } u;
};

typedef struct {
    const pk_value *root; /* what STOP returned */
    pk_value *all;        /* owner of every value */
} pk_doc;

/* Decodes the pickle in data[0, n). label names it in messages ("file: pickle ...").
 * Dict keys may repeat (all pairs are kept); callers decide. 0 ok; -1 with err. */
int pickle_load(const uint8_t *data, size_t n, const char *label, pk_doc *doc, char *err,
                size_t errlen);
void pickle_free(pk_doc *doc);

#endif
