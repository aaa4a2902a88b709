/* pickle.c: a pickle decoder that never runs anything. It keeps the unpickler's stack, mark
 * stack and memo, builds values for the opcodes torch.save emits for a state_dict, and
 * turns whitelisted globals into tags; REDUCE and BINPERSID only record what would have been
 * called. Every length, index and depth from the stream is bounded before use. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine/pickle.h"

typedef struct {
    const uint8_t *p;
    size_t n, pos, op_pos;  /* op_pos: offset of the opcode being decoded */
    const char *label;
    char *err;
    size_t errlen;
    pk_doc *doc;
    pk_value **stack;
    size_t sp, stack_cap;
    size_t marks[PICKLE_MAX_DEPTH]; /* stack heights at each open MARK */
    int n_marks;
    pk_value **memo;
    size_t memo_cap, memo_len;      /* memo_len: slots set, which MEMOIZE uses as its index */
} vm;

__attribute__((format(printf, 2, 3))) static int fail(vm *m, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(m->err, m->errlen, "%s: pickle %s (offset %zu)", m->label, msg, m->op_pos);
    return -1;
}

/* The opcodes this decoder refuses, by name, so the message says what the file wanted. */
static const char *op_name(uint8_t op)
{
    static const struct { uint8_t op; const char *name; } names[] = {
        {'0', "POP"}, {'1', "POP_MARK"}, {'2', "DUP"}, {'F', "FLOAT"}, {'I', "INT"},
        {'L', "LONG"}, {'P', "PERSID"}, {'S', "STRING"}, {'T', "BINSTRING"},
        {'U', "SHORT_BINSTRING"}, {'V', "UNICODE"}, {'B', "BINBYTES"}, {'C', "SHORT_BINBYTES"},
        {'g', "GET"}, {'p', "PUT"}, {'i', "INST"}, {'o', "OBJ"}, {0x81, "NEWOBJ"},
        {0x82, "EXT1"}, {0x83, "EXT2"}, {0x84, "EXT4"}, {0x8b, "LONG4"}, {0x8e, "BINBYTES8"},
        {0x8f, "EMPTY_SET"}, {0x90, "ADDITEMS"}, {0x91, "FROZENSET"}, {0x92, "NEWOBJ_EX"},
        {0x96, "BYTEARRAY8"}, {0x97, "NEXT_BUFFER"}, {0x98, "READONLY_BUFFER"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].op == op) return names[i].name;
    return NULL;
}

/* Copies s into out for a message: printable ASCII kept, anything else as '?'. */
static const char *printable(char *out, size_t cap, const char *s, size_t len)
{
    size_t k = 0;
    for (size_t i = 0; i < len && k + 4 < cap; i++)
        out[k++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    if (len > 0 && k < len && k + 4 >= cap) out[k++] = '.', out[k++] = '.', out[k++] = '.';
    out[k] = 0;
    return out;
}

static int utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            if (c == 0) return 0; /* names become C strings */
            i++;
            continue;
        }
        int len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
        if (len == 0 || c > 0xf4 || n - i < (size_t)len) return 0;
        uint32_t cp = c & (0x3fu >> (len - 1));
        for (int k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return 0;
            cp = cp << 6 | (s[i + k] & 0x3fu);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += (size_t)len;
    }
    return 1;
}

static pk_value *new_value(vm *m, pk_kind kind)
{
    pk_value *v = calloc(1, sizeof *v);
    if (!v) {
        fail(m, "out of memory");
        return NULL;
    }
    v->kind = kind;
    v->depth = kind == PK_TUPLE || kind == PK_LIST || kind == PK_DICT ? 1 : 0;
    v->next = m->doc->all;
    m->doc->all = v;
    return v;
}

static int push(vm *m, pk_value *v)
{
    if (!v) return -1;
    if (m->sp == m->stack_cap) {
        if (m->stack_cap >= PICKLE_MAX_STACK)
            return fail(m, "stack holds more than %u values", PICKLE_MAX_STACK);
        size_t cap = m->stack_cap ? m->stack_cap * 2 : 64;
        pk_value **s = realloc(m->stack, cap * sizeof *s);
        if (!s) return fail(m, "out of memory");
        m->stack = s, m->stack_cap = cap;
    }
    m->stack[m->sp++] = v;
    return 0;
}

/* Height of the stack below which the innermost open MARK forbids popping. */
static size_t fence(const vm *m) { return m->n_marks ? m->marks[m->n_marks - 1] : 0; }

static pk_value *pop(vm *m)
{
    if (m->sp <= fence(m)) {
        fail(m, "stack underflow");
        return NULL;
    }
    return m->stack[--m->sp];
}

static pk_value *top(vm *m)
{
    if (m->sp <= fence(m)) {
        fail(m, "stack underflow");
        return NULL;
    }
    return m->stack[m->sp - 1];
}

/* Closes the innermost MARK; the values above it are stack[*base, sp). */
static int pop_mark(vm *m, size_t *base)
{
    if (m->n_marks == 0) return fail(m, "no MARK to close");
    *base = m->marks[--m->n_marks];
    return 0;
}

static int add_item(vm *m, pk_value *c, pk_value *item)
{
    if (c->u.seq.n == c->u.seq.cap) {
        size_t cap = c->u.seq.cap ? c->u.seq.cap * 2 : 4;
        pk_value **it = realloc(c->u.seq.items, cap * sizeof *it);
        if (!it) return fail(m, "out of memory");
        c->u.seq.items = it, c->u.seq.cap = cap;
    }
    c->u.seq.items[c->u.seq.n++] = item;
    if (item->depth + 1 > c->depth) c->depth = item->depth + 1;
    if (c->depth > PICKLE_MAX_DEPTH)
        return fail(m, "containers nested deeper than %d", PICKLE_MAX_DEPTH);
    return 0;
}

/* A container of kind holding stack[base, sp), which it pops. */
static int collect(vm *m, pk_kind kind, size_t base)
{
    pk_value *c = new_value(m, kind);
    if (!c) return -1;
    for (size_t i = base; i < m->sp; i++)
        if (add_item(m, c, m->stack[i])) return -1;
    m->sp = base;
    return push(m, c);
}

static int need(vm *m, size_t k)
{
    if (m->n - m->pos < k) return fail(m, "is truncated: opcode needs %zu more bytes", k);
    return 0;
}

static uint64_t rd_le(const uint8_t *p, int k)
{
    uint64_t v = 0;
    for (int i = k - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static int push_int(vm *m, int64_t i)
{
    pk_value *v = new_value(m, PK_INT);
    if (!v) return -1;
    v->u.i = i;
    return push(m, v);
}

static int load_str(vm *m, int lenbytes)
{
    if (need(m, (size_t)lenbytes)) return -1;
    uint64_t len = rd_le(m->p + m->pos, lenbytes);
    m->pos += (size_t)lenbytes;
    if (len > PICKLE_MAX_STR) return fail(m, "string of %llu bytes is longer than %u",
                                          (unsigned long long)len, PICKLE_MAX_STR);
    if (need(m, (size_t)len)) return -1;
    const uint8_t *s = m->p + m->pos;
    if (!utf8_valid(s, (size_t)len)) return fail(m, "string is not valid UTF-8 or holds NUL");
    pk_value *v = new_value(m, PK_STR);
    if (!v || !(v->u.str.s = malloc((size_t)len + 1))) return v ? fail(m, "out of memory") : -1;
    memcpy(v->u.str.s, s, (size_t)len);
    v->u.str.s[len] = 0;
    v->u.str.len = (size_t)len;
    m->pos += (size_t)len;
    return push(m, v);
}

static int memo_put(vm *m, uint64_t idx)
{
    /* Each memo opcode takes at least one byte, so a real index is below the pickle size. */
    if (idx >= PICKLE_MAX_MEMO || idx >= m->n)
        return fail(m, "memo index %llu is out of range", (unsigned long long)idx);
    pk_value *v = top(m);
    if (!v) return -1;
    if (idx >= m->memo_cap) {
        size_t cap = m->memo_cap ? m->memo_cap : 64;
        while (cap <= idx) cap *= 2;
        pk_value **mm = realloc(m->memo, cap * sizeof *mm);
        if (!mm) return fail(m, "out of memory");
        memset(mm + m->memo_cap, 0, (cap - m->memo_cap) * sizeof *mm);
        m->memo = mm, m->memo_cap = cap;
    }
    if (!m->memo[idx]) m->memo_len++;
    m->memo[idx] = v;
    return 0;
}

static int memo_get(vm *m, uint64_t idx)
{
    if (idx >= m->memo_cap || !m->memo[idx])
        return fail(m, "memo index %llu was never set", (unsigned long long)idx);
    return push(m, m->memo[idx]);
}

static const struct {
    const char *module, *name;
    pk_global g;
    tf_dtype dtype;
} allowed[] = {
    {"collections", "OrderedDict", PG_ORDERED_DICT, TF_F32},
    {"torch._utils", "_rebuild_tensor_v2", PG_REBUILD_TENSOR_V2, TF_F32},
    {"torch._utils", "_rebuild_parameter", PG_REBUILD_PARAMETER, TF_F32},
    {"torch", "FloatStorage", PG_STORAGE_TYPE, TF_F32},
    {"torch", "HalfStorage", PG_STORAGE_TYPE, TF_F16},
    {"torch", "BFloat16Storage", PG_STORAGE_TYPE, TF_BF16},
    {"torch", "DoubleStorage", PG_STORAGE_TYPE, TF_F64},
    {"torch", "LongStorage", PG_STORAGE_TYPE, TF_I64},
    {"torch", "IntStorage", PG_STORAGE_TYPE, TF_I32},
    {"torch", "ShortStorage", PG_STORAGE_TYPE, TF_I16},
    {"torch", "CharStorage", PG_STORAGE_TYPE, TF_I8},
    {"torch", "ByteStorage", PG_STORAGE_TYPE, TF_U8},
    {"torch", "BoolStorage", PG_STORAGE_TYPE, TF_BOOL},
    {"torch", "float32", PG_DTYPE, TF_F32},
    {"torch", "float", PG_DTYPE, TF_F32},
    {"torch", "float16", PG_DTYPE, TF_F16},
    {"torch", "half", PG_DTYPE, TF_F16},
    {"torch", "bfloat16", PG_DTYPE, TF_BF16},
    {"torch", "float64", PG_DTYPE, TF_F64},
    {"torch", "double", PG_DTYPE, TF_F64},
    {"torch", "int64", PG_DTYPE, TF_I64},
    {"torch", "long", PG_DTYPE, TF_I64},
    {"torch", "int32", PG_DTYPE, TF_I32},
    {"torch", "int", PG_DTYPE, TF_I32},
    {"torch", "int16", PG_DTYPE, TF_I16},
    {"torch", "short", PG_DTYPE, TF_I16},
    {"torch", "int8", PG_DTYPE, TF_I8},
    {"torch", "uint8", PG_DTYPE, TF_U8},
    {"torch", "bool", PG_DTYPE, TF_BOOL},
};

static int push_global(vm *m, const char *op, const char *module, size_t mlen, const char *name,
                       size_t nlen)
{
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
        if (strlen(allowed[i].module) != mlen || memcmp(allowed[i].module, module, mlen) != 0 ||
            strlen(allowed[i].name) != nlen || memcmp(allowed[i].name, name, nlen) != 0)
            continue;
        pk_value *v = new_value(m, PK_GLOBAL);
        if (!v) return -1;
        v->u.global.g = allowed[i].g;
        v->u.global.dtype = allowed[i].dtype;
        v->u.global.name = allowed[i].name;
        return push(m, v);
    }
    char a[64], b[64];
    return fail(m, "opcode %s '%s %s' is not allowed", op, printable(a, sizeof a, module, mlen),
                printable(b, sizeof b, name, nlen));
}

/* GLOBAL: "module\nname\n" in the stream. */
static int load_global(vm *m)
{
    const char *line[2];
    size_t len[2];
    for (int k = 0; k < 2; k++) {
        const uint8_t *s = m->p + m->pos;
        size_t avail = m->n - m->pos, max = avail < 256 ? avail : 256;
        const uint8_t *nl = memchr(s, '\n', max);
        if (!nl) return fail(m, "GLOBAL name is unterminated or longer than 255 bytes");
        line[k] = (const char *)s, len[k] = (size_t)(nl - s);
        m->pos += len[k] + 1;
    }
    return push_global(m, "GLOBAL", line[0], len[0], line[1], len[1]);
}

static int load_stack_global(vm *m)
{
    pk_value *name = pop(m), *module = name ? pop(m) : NULL;
    if (!module) return -1;
    if (module->kind != PK_STR || name->kind != PK_STR)
        return fail(m, "STACK_GLOBAL needs two strings");
    return push_global(m, "STACK_GLOBAL", module->u.str.s, module->u.str.len, name->u.str.s,
                       name->u.str.len);
}

static const char *kind_name(pk_kind k)
{
    static const char *n[] = {"None", "bool", "int", "float", "str", "tuple", "list",
                              "dict", "global", "storage", "call"};
    return n[k];
}

/* REDUCE: OrderedDict() becomes an empty dict; the rebuild functions become PK_CALL nodes
 * for the caller to interpret. Nothing else may be called. */
static int load_reduce(vm *m)
{
    pk_value *args = pop(m), *fn = args ? pop(m) : NULL;
    if (!fn) return -1;
    if (fn->kind != PK_GLOBAL)
        return fail(m, "REDUCE applied to a %s is not allowed", kind_name(fn->kind));
    if (args->kind != PK_TUPLE) return fail(m, "REDUCE arguments are not a tuple");
    switch (fn->u.global.g) {
    case PG_ORDERED_DICT: {
        if (args->u.seq.n != 0) return fail(m, "OrderedDict called with arguments");
        pk_value *d = new_value(m, PK_DICT);
        if (!d) return -1;
        d->u.seq.ordered = 1;
        return push(m, d);
    }
    case PG_REBUILD_TENSOR_V2:
    case PG_REBUILD_PARAMETER: {
        pk_value *c = new_value(m, PK_CALL);
        if (!c) return -1;
        c->u.call.fn = fn->u.global.g;
        c->u.call.args = args;
        c->depth = args->depth + 1;
        if (c->depth > PICKLE_MAX_DEPTH)
            return fail(m, "containers nested deeper than %d", PICKLE_MAX_DEPTH);
        return push(m, c);
    }
    default:
        return fail(m, "REDUCE applied to 'torch %s' is not allowed", fn->u.global.name);
    }
}

static int is_str(const pk_value *v, const char *s)
{
    return v->kind == PK_STR && strcmp(v->u.str.s, s) == 0;
}

/* BINPERSID: torch's storage reference ('storage', storage_type, key, location, numel). */
static int load_persid(vm *m)
{
    pk_value *pid = pop(m);
    if (!pid) return -1;
    pk_value **it = pid->kind == PK_TUPLE ? pid->u.seq.items : NULL;
    if (!it || pid->u.seq.n != 5 || !is_str(it[0], "storage") ||
        it[1]->kind != PK_GLOBAL || it[1]->u.global.g != PG_STORAGE_TYPE ||
        it[2]->kind != PK_STR || it[3]->kind != PK_STR || it[4]->kind != PK_INT ||
        it[4]->u.i < 0)
        return fail(m, "persistent id is not ('storage', storage type, key, location, numel)");
    pk_value *v = new_value(m, PK_STORAGE);
    if (!v) return -1;
    v->u.storage.dtype = it[1]->u.global.dtype;
    v->u.storage.key = it[2]->u.str.s;
    v->u.storage.numel = it[4]->u.i;
    return push(m, v);
}

/* BUILD sets an object's state. Only the harmless cases torch.save produces are accepted:
 * an empty state, or the '_metadata' attribute of a Module.state_dict() OrderedDict (module
 * versions, not needed to read tensors, so dropped). */
static int load_build(vm *m)
{
    pk_value *state = pop(m), *obj = state ? top(m) : NULL;
    if (!obj) return -1;
    int ordered = obj->kind == PK_DICT && obj->u.seq.ordered;
    int param = obj->kind == PK_CALL && obj->u.call.fn == PG_REBUILD_PARAMETER;
    if (!ordered && !param) return fail(m, "BUILD on a %s is not allowed", kind_name(obj->kind));
    int empty = state->kind == PK_NONE ||
                ((state->kind == PK_DICT || state->kind == PK_TUPLE) && state->u.seq.n == 0);
    int metadata = ordered && state->kind == PK_DICT && state->u.seq.n == 2 &&
                   is_str(state->u.seq.items[0], "_metadata");
    if (!empty && !metadata) return fail(m, "BUILD with a non-empty state is not allowed");
    return 0;
}

static int load_long1(vm *m)
{
    if (need(m, 1)) return -1;
    unsigned k = m->p[m->pos++];
    if (k > 8) return fail(m, "LONG1 of %u bytes does not fit in 64 bits", k);
    if (need(m, k)) return -1;
    uint64_t v = rd_le(m->p + m->pos, (int)k);
    if (k > 0 && k < 8 && (m->p[m->pos + k - 1] & 0x80)) v |= ~0ull << (8 * k); /* sign */
    m->pos += k;
    return push_int(m, (int64_t)v);
}

static int load_binfloat(vm *m)
{
    if (need(m, 8)) return -1;
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++) bits = bits << 8 | m->p[m->pos + i]; /* big-endian */
    m->pos += 8;
    pk_value *v = new_value(m, PK_FLOAT);
    if (!v) return -1;
    memcpy(&v->u.f, &bits, 8);
    return push(m, v);
}

static int load_tuple_n(vm *m, size_t k)
{
    if (m->sp - fence(m) < k) return fail(m, "stack underflow");
    return collect(m, PK_TUPLE, m->sp - k);
}

/* SETITEMS/APPENDS: the values above the innermost MARK go into the container below it. */
static int load_into(vm *m, pk_kind kind)
{
    size_t base = 0;
    if (pop_mark(m, &base)) return -1;
    if (base <= fence(m) || m->stack[base - 1]->kind != kind)
        return fail(m, "%s without a %s below its MARK", kind == PK_DICT ? "SETITEMS" : "APPENDS",
                    kind_name(kind));
    if (kind == PK_DICT && (m->sp - base) % 2)
        return fail(m, "SETITEMS with an odd number of values");
    for (size_t i = base; i < m->sp; i++)
        if (add_item(m, m->stack[base - 1], m->stack[i])) return -1;
    m->sp = base;
    return 0;
}

static int load_setitem(vm *m)
{
    pk_value *v = pop(m), *k = v ? pop(m) : NULL, *d = k ? top(m) : NULL;
    if (!d) return -1;
    if (d->kind != PK_DICT) return fail(m, "SETITEM on a %s", kind_name(d->kind));
    return add_item(m, d, k) || add_item(m, d, v) ? -1 : 0;
}

static int load_append(vm *m)
{
    pk_value *v = pop(m), *l = v ? top(m) : NULL;
    if (!l) return -1;
    if (l->kind != PK_LIST) return fail(m, "APPEND on a %s", kind_name(l->kind));
    return add_item(m, l, v);
}

static int push_kind(vm *m, pk_kind kind, int b)
{
    pk_value *v = new_value(m, kind);
    if (!v) return -1;
    v->u.b = b;
    return push(m, v);
}

/* One opcode at m->pos. 1 after STOP, 0 to continue, -1 on error. */
static int step(vm *m)
{
    m->op_pos = m->pos;
    uint8_t op = m->p[m->pos++];
    size_t base = 0;
    switch (op) {
    case 0x80: /* PROTO */
        if (need(m, 1)) return -1;
        if (m->p[m->pos] > 5) return fail(m, "protocol %u is not supported", m->p[m->pos]);
        m->pos++;
        return 0;
    case 0x95: /* FRAME: a length hint for buffered readers; the bytes follow inline */
        if (need(m, 8)) return -1;
        if (rd_le(m->p + m->pos, 8) > m->n - m->pos - 8) return fail(m, "FRAME runs past the end");
        m->pos += 8;
        return 0;
    case '(': /* MARK */
        if (m->n_marks == PICKLE_MAX_DEPTH)
            return fail(m, "MARK nesting deeper than %d", PICKLE_MAX_DEPTH);
        m->marks[m->n_marks++] = m->sp;
        return 0;
    case '}': return push_kind(m, PK_DICT, 0);  /* EMPTY_DICT */
    case ']': return push_kind(m, PK_LIST, 0);  /* EMPTY_LIST */
    case ')': return push_kind(m, PK_TUPLE, 0); /* EMPTY_TUPLE */
    case 0x85: return load_tuple_n(m, 1);       /* TUPLE1 */
    case 0x86: return load_tuple_n(m, 2);       /* TUPLE2 */
    case 0x87: return load_tuple_n(m, 3);       /* TUPLE3 */
    case 't': /* TUPLE */
        return pop_mark(m, &base) ? -1 : collect(m, PK_TUPLE, base);
    case 'l': /* LIST */
        return pop_mark(m, &base) ? -1 : collect(m, PK_LIST, base);
    case 'd': /* DICT */
        if (pop_mark(m, &base)) return -1;
        if ((m->sp - base) % 2) return fail(m, "DICT with an odd number of values");
        return collect(m, PK_DICT, base);
    case 'X': return load_str(m, 4);    /* BINUNICODE */
    case 0x8c: return load_str(m, 1);   /* SHORT_BINUNICODE */
    case 0x8d: return load_str(m, 8);   /* BINUNICODE8 */
    case 'J': /* BININT: signed 32-bit */
        if (need(m, 4)) return -1;
        m->pos += 4;
        return push_int(m, (int32_t)(uint32_t)rd_le(m->p + m->pos - 4, 4));
    case 'K': /* BININT1 */
        if (need(m, 1)) return -1;
        m->pos += 1;
        return push_int(m, m->p[m->pos - 1]);
    case 'M': /* BININT2 */
        if (need(m, 2)) return -1;
        m->pos += 2;
        return push_int(m, (int64_t)rd_le(m->p + m->pos - 2, 2));
    case 0x8a: return load_long1(m);
    case 'G': return load_binfloat(m);
    case 0x88: return push_kind(m, PK_BOOL, 1); /* NEWTRUE */
    case 0x89: return push_kind(m, PK_BOOL, 0); /* NEWFALSE */
    case 'N': return push_kind(m, PK_NONE, 0);
    case 'q': /* BINPUT */
        if (need(m, 1)) return -1;
        m->pos += 1;
        return memo_put(m, m->p[m->pos - 1]);
    case 'r': /* LONG_BINPUT */
        if (need(m, 4)) return -1;
        m->pos += 4;
        return memo_put(m, rd_le(m->p + m->pos - 4, 4));
    case 0x94: return memo_put(m, m->memo_len); /* MEMOIZE */
    case 'h': /* BINGET */
        if (need(m, 1)) return -1;
        m->pos += 1;
        return memo_get(m, m->p[m->pos - 1]);
    case 'j': /* LONG_BINGET */
        if (need(m, 4)) return -1;
        m->pos += 4;
        return memo_get(m, rd_le(m->p + m->pos - 4, 4));
    case 's': return load_setitem(m);
    case 'u': return load_into(m, PK_DICT); /* SETITEMS */
    case 'a': return load_append(m);
    case 'e': return load_into(m, PK_LIST); /* APPENDS */
    case 'c': return load_global(m);
    case 0x93: return load_stack_global(m);
    case 'R': return load_reduce(m);
    case 'Q': return load_persid(m);
    case 'b': return load_build(m);
    case '.': /* STOP */
        if (m->n_marks || m->sp != 1)
            return fail(m, "STOP with %zu values and %d open MARKs (expected 1 and 0)", m->sp,
                        m->n_marks);
        if (m->pos != m->n) return fail(m, "has %zu bytes after STOP", m->n - m->pos);
        m->doc->root = m->stack[0];
        return 1;
    default: {
        const char *name = op_name(op);
        if (name) return fail(m, "opcode %s (0x%02x) is not allowed", name, op);
        return fail(m, "unknown opcode 0x%02x", op);
    }
    }
}

int pickle_load(const uint8_t *data, size_t n, const char *label, pk_doc *doc, char *err,
                size_t errlen)
{
    vm m = {.p = data, .n = n, .label = label, .err = err, .errlen = errlen, .doc = doc};
    doc->root = NULL;
    doc->all = NULL;
    int rc = 0;
    if (n > PICKLE_MAX_BYTES) rc = fail(&m, "of %zu bytes is larger than %u", n, PICKLE_MAX_BYTES);
    while (rc == 0) {
        if (m.pos == m.n) {
            m.op_pos = m.pos;
            rc = fail(&m, "ends without STOP");
            break;
        }
        rc = step(&m);
    }
    free(m.stack);
    free(m.memo);
    if (rc < 0) {
        pickle_free(doc);
        return -1;
    }
    return 0;
}

void pickle_free(pk_doc *doc)
{
    for (pk_value *v = doc->all, *next; v; v = next) {
        next = v->next;
        if (v->kind == PK_STR) free(v->u.str.s);
        if (v->kind == PK_TUPLE || v->kind == PK_LIST || v->kind == PK_DICT) free(v->u.seq.items);
        free(v);
    }
    doc->all = NULL;
    doc->root = NULL;
}
