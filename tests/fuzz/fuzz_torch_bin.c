/* fuzz_torch_bin.c: a PyTorch pytorch_model.bin (zip + pickle + storages). Nothing in it
 * may run; every tensor it admits must lie in a storage of the file. */
#include <stdlib.h>
#include "engine/torch_bin.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("pytorch_model.bin", data, size);
    torch_bin *b;
    char err[512];
    if (torch_bin_open(path, &b, err, sizeof err)) return 0;
    for (int i = 0; i < torch_bin_count(b); i++) {
        const tf_tensor *t = torch_bin_tensor(b, i);
        if (!t || !t->name) abort();
        if (t->nbytes) (void)t->data[0], (void)*(volatile const uint8_t *)&t->data[t->nbytes - 1];
    }
    torch_bin_close(b);
    return 0;
}
