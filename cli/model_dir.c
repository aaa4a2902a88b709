/* model_dir.c: which model a command runs when --model is not given: $VKSEEK_MODEL, else the
 * built-in model installed beside the binary (PREFIX/share/vkseek/models), else the one in
 * the source tree the binary was built from. Never guesses beyond these. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli/cli.h"

#define BUILTIN "vkseek-shapes"

static int has_config(const char *dir)
{
    char p[PATH_MAX + 16];
    struct stat st;
    snprintf(p, sizeof p, "%s/config.json", dir);
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

const char *cli_model_dir(const char *given, char *buf, size_t len)
{
    if (given) return given;
    const char *env = getenv("VKSEEK_MODEL");
    if (env && *env) return env;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
        snprintf(buf, len, "%s/../share/vkseek/models/" BUILTIN, exe);
        if (has_config(buf)) return buf;
    }
    snprintf(buf, len, "%s/models/" BUILTIN, VKSEEK_SOURCE_DIR);
    if (has_config(buf)) return buf;
    cli_error("no --model given and the built-in model is missing (looked for %s beside the "
              "binary and in %s/models); pass --model DIR", BUILTIN, VKSEEK_SOURCE_DIR);
    return NULL;
}
