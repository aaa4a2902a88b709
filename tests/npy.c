/* npy.c: see npy.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "npy.h"

int npy_load(const char *path, npy *a)
{
    memset(a, 0, sizeof *a);
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("npy: cannot open %s\n", path);
        return -1;
    }
    unsigned char pre[12];
    int ok = fread(pre, 1, 10, f) == 10 && memcmp(pre, "\x93NUMPY", 6) == 0;
    uint32_t hlen = 0;
    if (ok && pre[6] == 1) hlen = pre[8] | pre[9] << 8;
    else if (ok && fread(pre + 10, 1, 2, f) == 2) hlen = pre[8] | pre[9] << 8 | pre[10] << 16 | (uint32_t)pre[11] << 24;
    char *h = ok && hlen < 65536 ? calloc(1, hlen + 1) : NULL;
    ok = h && fread(h, 1, hlen, f) == hlen;
    const char *d = ok ? strstr(h, "'descr'") : NULL, *s = ok ? strstr(h, "'shape'") : NULL;
    ok = d && s && !strstr(h, "'fortran_order': True");
    if (ok) {
        a->is_int = strstr(d, "'<i4'") == d + 9 || strstr(d, "<i4") != NULL;
        a->is_u8 = strstr(d, "|u1") != NULL;
        ok = a->is_int || a->is_u8 || strstr(d, "<f4") != NULL;
    }
    if (ok) {
        const char *p = strchr(s, '(');
        a->n = 1;
        while (p && *++p && *p != ')') {
            if (*p < '0' || *p > '9') continue;
            a->shape[a->n_dims++] = strtoll(p, (char **)&p, 10);
            a->n *= a->shape[a->n_dims - 1];
            p--;
            if (a->n_dims == 8) break;
        }
        a->f = malloc((size_t)(a->n ? a->n : 1) * 4);
        ok = a->f && fread(a->f, a->is_u8 ? 1 : 4, (size_t)a->n, f) == (size_t)a->n;
    }
    if (ok && a->is_u8) /* bytes were read into the front of f: widen from the back */
        for (int64_t k = a->n; k-- > 0;) a->f[k] = (float)((unsigned char *)a->f)[k];
    if (ok && a->is_int) {
        a->i = malloc((size_t)(a->n ? a->n : 1) * 4);
        memcpy(a->i, a->f, (size_t)a->n * 4);
        for (int64_t k = 0; k < a->n; k++) a->f[k] = (float)a->i[k];
    }
    free(h);
    fclose(f);
    if (!ok) {
        printf("npy: %s is not a little-endian f4/i4/u1 C-order array\n", path);
        npy_free(a);
        return -1;
    }
    return 0;
}

void npy_free(npy *a)
{
    free(a->f);
    free(a->i);
    memset(a, 0, sizeof *a);
}
