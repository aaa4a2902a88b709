/* tensor_file.c: dtype names and sizes, element counts, and read-only file mappings. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "engine/tensor_file.h"

static const char *names[TF_DTYPE_COUNT] = {"F32", "F16", "BF16", "F8_E4M3", "F64", "I64",
                                            "I32", "I16", "I8", "U8", "BOOL"};
static const size_t sizes[TF_DTYPE_COUNT] = {4, 2, 2, 1, 8, 8, 4, 2, 1, 1, 1};

const char *tf_dtype_name(tf_dtype t) { return t < TF_DTYPE_COUNT ? names[t] : "?"; }
size_t tf_dtype_size(tf_dtype t) { return t < TF_DTYPE_COUNT ? sizes[t] : 0; }

int64_t tf_nelem(const tf_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->n_dims; i++) n *= t->shape[i];
    return n;
}

int tf_is_contiguous(const tf_tensor *t)
{
    int64_t s = 1;
    for (int i = t->n_dims - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->strides[i] != s) return 0;
        s *= t->shape[i];
    }
    return 1;
}

int tf_map_open(tf_map *m, const char *path, char *err, size_t errlen)
{
    m->data = NULL;
    m->size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return -1;
    }
    if (st.st_size == 0) { /* mmap of 0 bytes fails; an empty file is still a valid map */
        close(fd);
        m->data = (const uint8_t *)"";
        return 0;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED) {
        snprintf(err, errlen, "%s: mmap: %s", path, strerror(e));
        return -1;
    }
    /* Weights are read once, front to back: ask for read-ahead. A hint only. */
    (void)madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
    m->data = p;
    m->size = (uint64_t)st.st_size;
    return 0;
}

void tf_map_close(tf_map *m)
{
    if (m->size) munmap((void *)m->data, (size_t)m->size);
    m->data = NULL;
    m->size = 0;
}
