/* fuzz.h: what the fuzz targets share. Each fuzz_*.c defines LLVMFuzzerTestOneInput, which
 * must accept any bytes without a crash, a leak, a hang or a sanitizer report, and aborts
 * only when a property it checks is broken. A target is linked with libFuzzer
 * (tools/fuzz.sh) or with replay.c, which runs its seed corpus and every past finding as a
 * ctest. */
#ifndef VKSEEK_FUZZ_H
#define VKSEEK_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A scratch directory of this process (removed at exit). */
const char *fuzz_dir(void);
/* Writes data to fuzz_dir()/name and returns that path (valid until the next call). */
const char *fuzz_write(const char *name, const void *data, size_t size);
/* A file of the source tree (tests/golden/...), for targets that need a real model file. */
const char *fuzz_source_path(const char *rel);

#endif
