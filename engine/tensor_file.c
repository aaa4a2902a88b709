/* tensor_file.c: dtype names and sizes, element counts, and read-only file mappings. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Live mappings. A read past the end of a file truncated under its mapping, or an I/O error
 * behind it, raises SIGBUS; the handler maps a zero page there, marks the mapping faulted and
 * lets the read go on, and tf_intact tells the reader (as it does a file that shrank within
 * its last page, which reads zeros without a fault). Slots are claimed under a mutex and read
 * lock-free by the handler. */
#define MAX_MAPS 8192
static struct {
    _Atomic uintptr_t lo, hi;
    atomic_int faulted;
    dev_t dev;
    ino_t ino;
    char *path;
} maps[MAX_MAPS];
static pthread_mutex_t maps_mu = PTHREAD_MUTEX_INITIALIZER;
static uintptr_t page;
static struct sigaction before; /* the handler this one chains to */

static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    uintptr_t a = (uintptr_t)si->si_addr, p = a & ~(page - 1);
    for (int i = 0; si->si_code == BUS_ADRERR && i < MAX_MAPS; i++)
        if (a >= atomic_load(&maps[i].lo) && a < atomic_load(&maps[i].hi) &&
            mmap((void *)p, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
                (void *)p) {
            atomic_store(&maps[i].faulted, 1);
            return;
        }
    /* not ours: the previous handler (or the default, death) gets it, as it would have; a
     * fault repeats when this returns, a sent signal is sent again */
    sigaction(sig, &before, NULL);
    if (si->si_code <= 0) raise(sig);
}

static void install(void)
{
    page = (uintptr_t)sysconf(_SC_PAGESIZE);
    struct sigaction sa = {.sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO | SA_NODEFER};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, &before);
}

static int claim(const void *p, uint64_t size, const struct stat *st, const char *path)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, install);
    char *name = strdup(path);
    pthread_mutex_lock(&maps_mu);
    int i = 0;
    while (name && i < MAX_MAPS && atomic_load(&maps[i].hi)) i++;
    int got = name && i < MAX_MAPS;
    if (got) {
        maps[i].path = name, maps[i].dev = st->st_dev, maps[i].ino = st->st_ino;
        atomic_store(&maps[i].faulted, 0);
        atomic_store(&maps[i].lo, (uintptr_t)p);
        atomic_store(&maps[i].hi, (uintptr_t)p + size);
    }
    pthread_mutex_unlock(&maps_mu);
    if (!got) free(name);
    return got ? i : -1;
}

int tf_intact(const void *p, char *err, size_t errlen)
{
    uintptr_t a = (uintptr_t)p;
    int ok = 1;
    pthread_mutex_lock(&maps_mu);
    for (int i = 0; i < MAX_MAPS && ok; i++) {
        uintptr_t lo = atomic_load(&maps[i].lo), hi = atomic_load(&maps[i].hi);
        if (a < lo || a >= hi) continue;
        struct stat st; /* the path may name a newer file now: only the mapped one counts */
        int shrank = !stat(maps[i].path, &st) && st.st_dev == maps[i].dev &&
                     st.st_ino == maps[i].ino && (uintptr_t)st.st_size < hi - lo;
        if (atomic_load(&maps[i].faulted) || shrank) {
            snprintf(err, errlen, "%s: the file was truncated (or failed to read) while being "
                     "read", maps[i].path);
            ok = 0;
        }
    }
    pthread_mutex_unlock(&maps_mu);
    return ok;
}

int tf_map_open(tf_map *m, const char *path, char *err, size_t errlen)
{
    m->data = NULL;
    m->size = 0;
    m->slot = -1;
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
    if ((m->slot = claim(p, m->size, &st, path)) < 0) {
        snprintf(err, errlen, "%s: more than %d files mapped at once, or out of memory", path,
                 MAX_MAPS);
        tf_map_close(m);
        return -1;
    }
    return 0;
}

void tf_map_close(tf_map *m)
{
    if (m->slot >= 0) {
        pthread_mutex_lock(&maps_mu);
        atomic_store(&maps[m->slot].hi, 0);
        atomic_store(&maps[m->slot].lo, 0);
        free(maps[m->slot].path);
        maps[m->slot].path = NULL;
        pthread_mutex_unlock(&maps_mu);
    }
    if (m->size) munmap((void *)m->data, (size_t)m->size);
    m->data = NULL;
    m->size = 0;
    m->slot = -1;
}
