/* fuzz_index.c: model.safetensors.index.json beside two real shards (a.safetensors holds
 * "x", b.safetensors holds "y"): names, paths and tensor placement come from the input. */
#include <stdio.h>
#include <string.h>
#include "engine/checkpoint.h"
#include "tests/fuzz/fuzz.h"

static void shard(const char *file, const char *tensor)
{
    char h[128];
    int n = snprintf(h, sizeof h, "{\"%s\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                     tensor);
    uint8_t f[8 + 128 + 8] = {(uint8_t)n};
    memcpy(f + 8, h, (size_t)n);
    fuzz_write(file, f, 8 + (size_t)n + 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) shard("a.safetensors", "x"), shard("b.safetensors", "y"), ready = 1;
    fuzz_write("model.safetensors.index.json", data, size);
    checkpoint *c;
    char err[512];
    if (ckpt_open(fuzz_dir(), &c, err, sizeof err)) return 0;
    for (int i = 0; i < ckpt_count(c); i++) (void)ckpt_find(c, ckpt_tensor(c, i)->name);
    ckpt_close(c);
    return 0;
}
