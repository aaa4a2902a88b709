/* fuzz_config.c: config.json (Janus multi_modality or a language model alone). */
#include "engine/config.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    model_config c;
    char err[512];
    config_parse((const char *)data, size, "config.json", &c, err, sizeof err);
    return 0;
}
