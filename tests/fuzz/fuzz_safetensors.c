/* fuzz_safetensors.c: a .safetensors file. The header is validated on open; every tensor
 * it admits must have the bytes its dtype and shape need, and they must be readable. */
#include <stdlib.h>
#include "engine/safetensors.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("model.safetensors", data, size);
    safetensors *s;
    char err[512];
    if (st_open(path, &s, err, sizeof err)) return 0;
    for (int i = 0; i < st_count(s); i++) {
        const tf_tensor *t = st_tensor(s, i);
        if (t->nbytes != (uint64_t)tf_nelem(t) * tf_dtype_size(t->dtype)) abort();
        if (t->nbytes) (void)t->data[0], (void)*(volatile const uint8_t *)&t->data[t->nbytes - 1];
    }
    st_close(s);
    return 0;
}
