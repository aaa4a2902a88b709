/* fuzz_tokenizer_json.c: loading a tokenizer.json (vocabulary, merges, added tokens,
 * pre-tokenizer regexes); one that loads must then encode and decode a sentence. */
#include <stdlib.h>
#include "tests/fuzz/fuzz.h"
#include "text/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_write("tokenizer.json", data, size);
    char err[512];
    tokenizer *t = tok_load(fuzz_dir(), err, sizeof err);
    if (!t) return 0;
    static const char text[] = "a small red circle at the top left, 42 \xc3\xa9t\xc3\xa9s!";
    int32_t *ids;
    size_t n;
    if (!tok_encode(t, text, sizeof text - 1, 1, &ids, &n, err, sizeof err)) {
        char *out;
        size_t len;
        if (!tok_decode(t, ids, n, &out, &len, err, sizeof err)) free(out);
        free(ids);
    }
    tok_free(t);
    return 0;
}
