/* test_torch_bin.c: PyTorch checkpoints read without Python. Each good file in data/torch
 * (torch.save output from tools/gen_torch_bin.py) must give every tensor's name, dtype, shape,
 * strides and every element, recomputed from the generator's formula; each hostile file must
 * fail with -1 and a message naming the file and the problem. Needs no GPU. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine/torch_bin.h"
#include "engine/zip.h"
#include "check.h"

#define DIR "data/torch/"

/* The generator's value(dtype, i) for element i of a storage. */
static double want_value(tf_dtype t, int64_t i)
{
    switch (t) {
    case TF_F32: case TF_F16: case TF_BF16: case TF_F64: return (double)i * 0.25 - 3;
    case TF_I64: return (double)(i * 1000000007LL - 3000000000LL);
    case TF_I32: return (double)(i * 100003 - 1000000);
    case TF_I16: return (double)(i * 37 - 3000);
    case TF_I8: return (double)((i * 37) % 256 - 128);
    case TF_U8: return (double)((i * 37) % 256);
    case TF_BOOL: return i % 3 == 0;
    default: return 0.0 / 0.0;
    }
}

static double half_to_double(uint16_t h)
{
    int e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? m / 1024.0 / 16384.0 : e == 31 ? 1.0 / 0.0 : (1 + m / 1024.0);
    for (int k = 15; k < e; k++) v *= 2; /* exponent bias 15 */
    for (int k = e; k < 15 && e != 0 && e != 31; k++) v /= 2;
    return h & 0x8000 ? -v : v;
}

static double read_elem(tf_dtype t, const uint8_t *p)
{
    union {
        float f;
        double d;
        int64_t i64;
        int32_t i32;
        int16_t i16;
        uint16_t u16;
        uint32_t u32;
    } u;
    switch (t) {
    case TF_F32: memcpy(&u.f, p, 4); return u.f;
    case TF_F64: memcpy(&u.d, p, 8); return u.d;
    case TF_F16: memcpy(&u.u16, p, 2); return half_to_double(u.u16);
    case TF_BF16: memcpy(&u.u16, p, 2); u.u32 = (uint32_t)u.u16 << 16; return u.f;
    case TF_I64: memcpy(&u.i64, p, 8); return (double)u.i64;
    case TF_I32: memcpy(&u.i32, p, 4); return u.i32;
    case TF_I16: memcpy(&u.i16, p, 2); return u.i16;
    case TF_I8: return (int8_t)p[0];
    case TF_U8: return p[0];
    case TF_BOOL: return p[0] > 1 ? -1.0 : p[0]; /* torch writes 0 or 1 */
    default: return 0.0 / 0.0;
    }
}

typedef struct {
    const char *name;
    tf_dtype dtype;
    int n_dims;
    int64_t shape[4], strides[4];
    int64_t offset; /* storage offset of element 0 */
} want;

/* Checks one tensor's metadata and every element against want_value(storage index). */
static void check_tensor(const char *file, const tf_tensor *t, const want *w)
{
    char what[160];
    snprintf(what, sizeof what, "%s '%s'", file, w->name);
    if (!check(t && strcmp(t->name, w->name) == 0, "%s: name is '%s'", what, t ? t->name : "?"))
        return;
    int ok = t->dtype == w->dtype && t->n_dims == w->n_dims;
    for (int i = 0; ok && i < w->n_dims; i++)
        ok = t->shape[i] == w->shape[i] && t->strides[i] == w->strides[i];
    if (!check(ok, "%s: dtype %s dims %d, expected %s dims %d (or shape/strides differ)", what,
                tf_dtype_name(t->dtype), t->n_dims, tf_dtype_name(w->dtype), w->n_dims))
        return;
    int64_t n = tf_nelem(t), span = n ? 1 : 0;
    for (int i = 0; n && i < w->n_dims; i++) span += (w->shape[i] - 1) * w->strides[i];
    size_t es = tf_dtype_size(w->dtype);
    check(t->nbytes == (uint64_t)span * es, "%s: nbytes %llu, expected %llu", what,
           (unsigned long long)t->nbytes, (unsigned long long)(span * (int64_t)es));
    int64_t bad = -1;
    double got = 0, exp = 0;
    for (int64_t e = 0; e < n && bad < 0; e++) {
        int64_t rest = e, s = 0; /* logical row-major index e -> storage element s */
        for (int i = w->n_dims - 1; i >= 0; i--) {
            s += rest % w->shape[i] * w->strides[i];
            rest /= w->shape[i];
        }
        got = read_elem(w->dtype, t->data + s * (int64_t)es);
        exp = want_value(w->dtype, w->offset + s);
        if (got != exp) bad = e;
    }
    check(bad < 0, "%s: element %lld is %g, expected %g", what, (long long)bad, got, exp);
}

static torch_bin *open_good(const char *file)
{
    char path[256], err[512] = "";
    snprintf(path, sizeof path, DIR "%s", file);
    torch_bin *b = NULL;
    int rc = torch_bin_open(path, &b, err, sizeof err);
    check(rc == 0 && b, "%s: open failed: %s", path, err);
    return rc == 0 ? b : NULL;
}

static void check_file(const char *file, const want *w, int n)
{
    torch_bin *b = open_good(file);
    if (!b) return;
    check(torch_bin_count(b) == n, "%s: %d tensors, expected %d", file, torch_bin_count(b), n);
    for (int i = 0; i < n && i < torch_bin_count(b); i++)
        check_tensor(file, torch_bin_tensor(b, i), &w[i]);
    check(torch_bin_tensor(b, n) == NULL && torch_bin_tensor(b, -1) == NULL,
           "%s: out-of-range index gives a tensor", file);
    torch_bin_close(b);
}

static const want basic[] = {
    {"scalar_f32", TF_F32, 0, {0}, {0}, 0},
    {"vec_f32", TF_F32, 1, {7}, {1}, 0},
    {"mat_f32", TF_F32, 2, {3, 4}, {4, 1}, 0},
    {"cube_f16", TF_F16, 3, {2, 3, 4}, {12, 4, 1}, 0},
    {"r4_bf16", TF_BF16, 4, {2, 1, 3, 2}, {6, 6, 2, 1}, 0},
    {"vec_f64", TF_F64, 1, {5}, {1}, 0},
    {"vec_i64", TF_I64, 1, {4}, {1}, 0},
    {"vec_i32", TF_I32, 1, {4}, {1}, 0},
    {"vec_i16", TF_I16, 1, {4}, {1}, 0},
    {"vec_i8", TF_I8, 1, {6}, {1}, 0},
    {"vec_u8", TF_U8, 1, {6}, {1}, 0},
    {"vec_bool", TF_BOOL, 1, {5}, {1}, 0},
    {"empty_f32", TF_F32, 2, {0, 3}, {3, 1}, 0},
};

static const want views[] = {
    {"base", TF_F32, 2, {3, 5}, {5, 1}, 0},
    {"transposed", TF_F32, 2, {5, 3}, {1, 5}, 0},
    {"rows", TF_F32, 2, {4, 4}, {4, 1}, 12},
    {"block", TF_F32, 2, {4, 2}, {4, 1}, 9},
    {"transposed_f16", TF_F16, 2, {2, 4}, {1, 2}, 0},
    {"tied_a", TF_BF16, 2, {3, 2}, {2, 1}, 0},
    {"tied_b", TF_BF16, 2, {3, 2}, {2, 1}, 0},
    {"tied_row", TF_BF16, 1, {2}, {1}, 2},
};

static const want params[] = {
    {"weight", TF_F32, 2, {2, 3}, {3, 1}, 0},
    {"bias", TF_BF16, 1, {3}, {1}, 0},
};

static const want module[] = {
    {"0.weight", TF_F32, 2, {3, 4}, {4, 1}, 0},
    {"0.bias", TF_F32, 1, {3}, {1}, 0},
    {"1.weight", TF_F32, 1, {3}, {1}, 0},
    {"1.bias", TF_F32, 1, {3}, {1}, 0},
};

static const want hand_made[] = {{"w", TF_F32, 2, {2, 3}, {1, 2}, 5}};

#define N(a) (int)(sizeof(a) / sizeof((a)[0]))

/* Views of one storage point into the same bytes (tied weights are not copied). */
static void check_shared(const char *file)
{
    torch_bin *b = open_good(file);
    if (!b) return;
    const tf_tensor *base = torch_bin_tensor(b, 0), *tr = torch_bin_tensor(b, 1);
    const tf_tensor *ta = torch_bin_tensor(b, 5), *tb = torch_bin_tensor(b, 6);
    const tf_tensor *row = torch_bin_tensor(b, 7);
    check(base && tr && base->data == tr->data, "%s: base and transposed do not share bytes",
           file);
    check(ta && tb && ta->data == tb->data, "%s: tied_a and tied_b do not share bytes", file);
    check(ta && row && row->data == ta->data + 2 * 2, "%s: tied_row is not 2 bf16 into tied_a",
           file);
    check(!tf_is_contiguous(tr) && tf_is_contiguous(base), "%s: contiguity is wrong", file);
    torch_bin_close(b);
}

static void check_hostile(const char *file, const char *word)
{
    char path[256], err[512] = "";
    snprintf(path, sizeof path, DIR "%s", file);
    torch_bin *b = (torch_bin *)&b; /* must be reset to NULL */
    int rc = torch_bin_open(path, &b, err, sizeof err);
    check(rc == -1 && b == NULL && strstr(err, word) && strncmp(err, path, strlen(path)) == 0 &&
               !strchr(err, '\n'),
           "%s: rc %d, error '%s' should start with the path and contain '%s'", file, rc, err,
           word);
    if (rc == 0) torch_bin_close(b);
}

/* An archive comment holding a fake end record must not be taken for the real one. */
static void check_comment_with_signature(void)
{
    char err[512] = "";
    FILE *f = fopen(DIR "basic.bin", "rb");
    if (!check(f != NULL, "cannot read basic.bin")) return;
    static uint8_t buf[16384];
    size_t n = fread(buf, 1, sizeof buf - 64, f);
    fclose(f);
    static const uint8_t comment[] = "fake PK\x05\x06 record inside a comment, 30 bytes long!";
    size_t clen = sizeof comment - 1;
    buf[n - 2] = (uint8_t)clen, buf[n - 1] = 0; /* the end record's comment length */
    memcpy(buf + n, comment, clen);
    zip_archive *z = NULL;
    int rc = zip_open(buf, n + clen, "commented.zip", &z, err, sizeof err);
    check(rc == 0 && zip_find(z, "basic/data.pkl") >= 0 && zip_count(z) == 15,
           "zip with a signature in its comment: %s", rc ? err : "entries wrong");
    zip_close(z);
}

int main(void)
{
    check_file("basic.bin", basic, N(basic));
    check_file("zip64.bin", basic, N(basic));
    check_file("views.bin", views, N(views));
    check_file("proto4.bin", views, N(views));
    check_file("params.bin", params, N(params));
    check_file("module.bin", module, N(module));
    check_file("hand_made.bin", hand_made, N(hand_made));
    check_shared("views.bin");
    check_shared("proto4.bin");
    check_comment_with_signature();

    static const struct { const char *file, *word; } hostile[] = {
        {"no_such_file.bin", "No such file"},
        {"truncated.bin", "end of central directory"},
        {"garbage.bin", "end of central directory"},
        {"bad_cd_sig.bin", "central directory entry 0 is corrupt"},
        {"bad_cd_offset.bin", "runs past its end record"},
        {"bad_local_offset.bin", "local header offset"},
        {"zip64_bad_locator.bin", "zip64 end of central directory record missing"},
        {"deflated.bin", "is compressed (method 8, deflate)"},
        {"missing_storage.bin", "storage 'basic/data/3' is missing"},
        {"os_system.bin", "opcode GLOBAL 'os system' is not allowed"},
        {"stack_global_eval.bin", "STACK_GLOBAL 'builtins eval' is not allowed"},
        {"unknown_opcode.bin", "unknown opcode 0xfe"},
        {"newobj.bin", "opcode NEWOBJ (0x81) is not allowed"},
        {"reduce_storage.bin", "REDUCE applied to 'torch FloatStorage'"},
        {"build_state.bin", "BUILD with a non-empty state"},
        {"bad_memo.bin", "memo index 7 was never set"},
        {"not_dict.bin", "holds no dict"},
        {"huge_string.bin", "longer than"},
        {"no_stop.bin", "ends without STOP"},
        {"nesting_marks.bin", "MARK nesting deeper than 32"},
        {"nesting_lists.bin", "nested deeper than 32"},
        {"dup_key.bin", "'w' appears twice"},
        {"past_storage.bin", "runs past its storage"},
        {"offset_past.bin", "runs past its storage"},
        {"huge_shape.bin", "runs past its storage"},
        {"numel_mismatch.bin", "holds 64 bytes, not 20 elements"},
    };
    for (int i = 0; i < N(hostile); i++) check_hostile(hostile[i].file, hostile[i].word);

    return check_finish("test_torch_bin");
}
