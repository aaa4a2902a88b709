/* fuzz_tokenize.c: DeepSeek-V3's real tokenizer on arbitrary bytes. Invalid UTF-8 is an
 * error; valid text must decode back to itself, whole and one id at a time. */
#include <stdlib.h>
#include <string.h>
#include "tests/fuzz/fuzz.h"
#include "text/tokenizer.h"

static tokenizer *tok;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    if (!tok && !(tok = tok_load(fuzz_source_path("tests/golden/tokenizer/deepseek_v3"), err,
                                 sizeof err)))
        abort();
    int32_t *ids;
    size_t n;
    if (tok_encode(tok, (const char *)data, size, 0, &ids, &n, err, sizeof err)) return 0;
    char *text;
    size_t len;
    if (tok_decode(tok, ids, n, &text, &len, err, sizeof err)) abort();
    if (len != size || memcmp(text, data, size)) abort();
    tok_stream *s = tok_stream_new(tok);
    size_t at = 0;
    for (size_t i = 0; i <= n; i++) {
        const char *t;
        size_t tl;
        if ((i < n ? tok_stream_push(s, ids[i], &t, &tl, err, sizeof err)
                   : tok_stream_finish(s, &t, &tl, err, sizeof err)) ||
            at + tl > len || memcmp(text + at, t, tl))
            abort();
        at += tl;
    }
    if (at != len) abort();
    tok_stream_free(s);
    free(text);
    free(ids);
    return 0;
}
