/* tensor_file.h: one tensor as a checkpoint file holds it, whatever the container
 * (safetensors, PyTorch .bin). Readers map the file and point into it; nothing is copied
 * or converted here. The loader (engine/) turns these into gpu tensors. */
#ifndef VKSEEK_TENSOR_FILE_H
#define VKSEEK_TENSOR_FILE_H

#include <stddef.h>
#include <stdint.h>

#define TF_MAX_DIMS 8

typedef enum {
    TF_F32,
    TF_F16,
    TF_BF16,
    TF_F8_E4M3,   /* DeepSeek-V3/R1 native; scaled by a sibling *_scale_inv tensor */
    TF_F64,
    TF_I64,
    TF_I32,
    TF_I16,
    TF_I8,
    TF_U8,
    TF_BOOL,
    TF_DTYPE_COUNT
} tf_dtype;

const char *tf_dtype_name(tf_dtype t);  /* "F32", "BF16", ... as safetensors spells them */
size_t tf_dtype_size(tf_dtype t);       /* bytes per element */

typedef struct {
    char *name;                 /* the checkpoint's tensor name, NUL-terminated */
    tf_dtype dtype;
    int n_dims;                 /* 0 for a scalar */
    int64_t shape[TF_MAX_DIMS];
    int64_t strides[TF_MAX_DIMS]; /* in elements; row-major contiguous unless the file says
                                     otherwise (PyTorch views) */
    const uint8_t *data;        /* first element, inside the file's read-only mapping */
    uint64_t nbytes;            /* bytes from data to one past the last element */
} tf_tensor;

/* Elements in t (product of shape; 1 for a scalar). */
int64_t tf_nelem(const tf_tensor *t);
/* Whether t's strides are the row-major contiguous ones. */
int tf_is_contiguous(const tf_tensor *t);

/* A read-only memory mapping of a whole file. A file truncated while mapped does not crash
 * its readers: reads past its new end see zeros (not SIGBUS), and tf_intact tells them. */
typedef struct {
    const uint8_t *data;
    uint64_t size;
    int slot;           /* in the registry of mappings the SIGBUS handler knows */
} tf_map;
/* 0 ok; -1 with "path: reason" in err. */
int tf_map_open(tf_map *m, const char *path, char *err, size_t errlen);
void tf_map_close(tf_map *m);
/* 0 when p lies in a mapping whose file is now shorter than when mapped, or whose reads
 * faulted (truncation, an I/O error): err names the file. Else 1. Readers call it once they
 * have read what they need. */
int tf_intact(const void *p, char *err, size_t errlen);

#endif
