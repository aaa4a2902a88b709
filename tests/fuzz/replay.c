/* replay.c: a fuzz target as a ctest. Runs LLVMFuzzerTestOneInput on every file of the
 * directories (or files) given: the seed corpus and the regression inputs, one per finding
 * that once crashed. A crash or a sanitizer report fails the test. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "tests/fuzz/fuzz.h"

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st)) {
        perror(path);
        if (f) fclose(f);
        return -1;
    }
    uint8_t *b = malloc((size_t)st.st_size + 1);
    size_t n = b ? fread(b, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    if (!b || n != (size_t)st.st_size) {
        fprintf(stderr, "%s: cannot read\n", path);
        free(b);
        return -1;
    }
    LLVMFuzzerTestOneInput(b, n);
    free(b);
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
    int files = 0, bad = 0;
    for (int i = 1; i < argc; i++) {
        struct dirent **e;
        int n = scandir(argv[i], &e, NULL, by_name);
        if (n < 0) { /* a file */
            bad |= run_file(argv[i]);
            files++;
            continue;
        }
        for (int k = 0; k < n; k++) {
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", argv[i], e[k]->d_name);
            struct stat st;
            if (e[k]->d_name[0] != '.' && !stat(p, &st) && S_ISREG(st.st_mode)) {
                bad |= run_file(p);
                files++;
            }
            free(e[k]);
        }
        free(e);
    }
    printf("%d inputs\n", files);
    return bad || !files ? 1 : 0;
}
