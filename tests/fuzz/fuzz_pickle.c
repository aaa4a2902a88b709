/* fuzz_pickle.c: the pickle decoder alone (data.pkl of a .bin), so the fuzzer reaches its
 * opcodes without first building a zip around them. */
#include "engine/pickle.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pk_doc d;
    char err[512];
    if (!pickle_load(data, size, "data.pkl", &d, err, sizeof err)) pickle_free(&d);
    return 0;
}
