/* test_tokenizer.c: the byte-level BPE tokenizer against the goldens in
 * golden/tokenizer/ (ids from an independent implementation, for DeepSeek-V3 and Qwen3),
 * plus decoding (whole and streaming), the split behaviours, merges in both spellings,
 * tokenizer_config.json handling, and broken files that must fail with one line.
 * No GPU; runs from tests/ (ctest's working directory). */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "text/tok_internal.h" /* the regex rewriting is tested directly */
#include "text/tokenizer.h"
#include "check.h"

static void print_ids(const char *label, const int32_t *ids, size_t n)
{
    printf("  %s (%zu):", label, n);
    for (size_t i = 0; i < n; i++) printf(" %d", ids[i]);
    putchar('\n');
}

/* Checks got == want, printing both on a mismatch. */
static int check_ids(const char *what, const char *name, const int32_t *want, size_t nw,
                     const int32_t *got, size_t ng)
{
    int ok = nw == ng && (nw == 0 || memcmp(want, got, nw * sizeof *want) == 0);
    if (!check(ok, "%s: %s", name, what)) {
        print_ids("expected", want, nw);
        print_ids("got", got, ng);
    }
    return ok;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    if (p) p[n] = 0;
    if (len) *len = (size_t)n;
    return p;
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

static int32_t *json_ids(const cJSON *arr, size_t *n)
{
    *n = (size_t)cJSON_GetArraySize(arr);
    int32_t *ids = malloc(*n * sizeof *ids + 1);
    for (size_t i = 0; i < *n; i++) ids[i] = (int32_t)cJSON_GetArrayItem(arr, (int)i)->valuedouble;
    return ids;
}

static uint8_t *unhex(const char *h, size_t *n)
{
    *n = strlen(h) / 2;
    uint8_t *b = malloc(*n + 1);
    for (size_t i = 0; i < *n; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        b[i] = (uint8_t)v;
    }
    b[*n] = 0;
    return b;
}

static int valid_utf8(const uint8_t *s, size_t n)
{
    /* Deliberately simple and separate from the tokenizer's own validator. */
    for (size_t i = 0; i < n;) {
        int k = s[i] < 0x80 ? 1 : s[i] >= 0xF0 ? 4 : s[i] >= 0xE0 ? 3 : s[i] >= 0xC2 ? 2 : 0;
        if (!k || i + (size_t)k > n) return 0;
        for (int j = 1; j < k; j++)
            if ((s[i + (size_t)j] & 0xC0) != 0x80) return 0;
        i += (size_t)k;
    }
    return 1;
}

/* Streams ids through the incremental decoder; the chunks must each be valid UTF-8 and
 * together equal the whole decode. */
static void check_stream(tokenizer *t, const char *name, const int32_t *ids, size_t n,
                         const char *whole, size_t whole_len)
{
    char err[256];
    tok_stream *s = tok_stream_new(t);
    char *acc = malloc(whole_len * 2 + 16);
    size_t got = 0;
    int ok = s && acc, chunks_valid = 1;
    for (size_t i = 0; ok && i <= n; i++) {
        const char *txt;
        size_t len;
        int rc = i < n ? tok_stream_push(s, ids[i], &txt, &len, err, sizeof err)
                       : tok_stream_finish(s, &txt, &len, err, sizeof err);
        if (rc || got + len > whole_len * 2 + 16) {
            ok = 0;
            break;
        }
        chunks_valid &= valid_utf8((const uint8_t *)txt, len);
        memcpy(acc + got, txt, len);
        got += len;
    }
    check(ok && chunks_valid && got == whole_len && memcmp(acc, whole, got) == 0,
          "%s: streaming decode equals the whole decode, in valid UTF-8 chunks", name);
    free(acc);
    tok_stream_free(s);
}

/* Every case of golden/tokenizer/NAME/cases.json: ids, ids with BOS, decode, streaming. */
static void test_golden(const char *name)
{
    char dir[256], path[300], err[512];
    snprintf(dir, sizeof dir, "golden/tokenizer/%s", name);
    snprintf(path, sizeof path, "%s/cases.json", dir);
    char *json = read_all(path, NULL);
    cJSON *root = json ? cJSON_Parse(json) : NULL;
    free(json);
    tokenizer *t = tok_load(dir, err, sizeof err);
    if (!check(root && t, "%s: load goldens and tokenizer (%s)", name, t ? "cases.json" : err)) {
        cJSON_Delete(root);
        tok_free(t);
        return;
    }
    check(tok_vocab_size(t) == cJSON_GetObjectItem(root, "max_token_id")->valueint + 1,
          "%s: vocabulary size %d", name, tok_vocab_size(t));
    const cJSON *bos = cJSON_GetObjectItem(root, "bos_token_id");
    check(tok_bos(t) == (cJSON_IsNumber(bos) ? bos->valueint : -1), "%s: BOS id %d", name, tok_bos(t));
    check(tok_add_bos(t) == cJSON_IsTrue(cJSON_GetObjectItem(root, "add_bos_token")),
          "%s: add_bos_token", name);

    int n_cases = 0, n_ok = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "cases")) {
        const char *cname = cJSON_GetObjectItem(c, "name")->valuestring;
        char label[128];
        snprintf(label, sizeof label, "%s/%s", name, cname);
        size_t len, nw, nwb, ng;
        uint8_t *text = unhex(cJSON_GetObjectItem(c, "utf8_hex")->valuestring, &len);
        const cJSON *w = cJSON_GetObjectItem(c, "ids_hf"), *wb = cJSON_GetObjectItem(c, "ids_with_bos_hf");
        int32_t *want = json_ids(w ? w : cJSON_GetObjectItem(c, "ids"), &nw);
        int32_t *want_bos = json_ids(wb ? wb : cJSON_GetObjectItem(c, "ids_with_bos"), &nwb);
        int32_t *got = NULL;
        int ok = 1;
        n_cases++;
        if (tok_encode(t, (const char *)text, len, 0, &got, &ng, err, sizeof err) != 0)
            ok = check(0, "%s: encode: %s", label, err);
        else {
            ok &= check_ids("ids", label, want, nw, got, ng);
            char *dec;
            size_t dlen;
            if (tok_decode(t, got, ng, &dec, &dlen, err, sizeof err) != 0)
                ok &= check(0, "%s: decode: %s", label, err);
            else {
                /* Round trip where the case says so; else HF's decode (NFC'd text). */
                const char *expect = (const char *)text;
                size_t elen = len;
                if (!cJSON_IsTrue(cJSON_GetObjectItem(c, "roundtrip"))) {
                    expect = cJSON_GetObjectItem(c, "decoded")->valuestring;
                    elen = strlen(expect);
                }
                ok &= check(dlen == elen && memcmp(dec, expect, elen) == 0, "%s: decode gives %s", label,
                            expect == (const char *)text ? "the text back" : "the expected text");
                check_stream(t, label, got, ng, dec, dlen);
                free(dec);
            }
            free(got);
        }
        if (tok_encode(t, (const char *)text, len, tok_add_bos(t), &got, &ng, err, sizeof err) != 0)
            ok = check(0, "%s: encode with BOS: %s", label, err);
        else {
            ok &= check_ids("ids with BOS", label, want_bos, nwb, got, ng);
            free(got);
        }
        n_ok += ok;
        free(text);
        free(want);
        free(want_bos);
    }
    printf("%s: %d of %d golden cases exact\n", name, n_ok, n_cases);
    check(n_cases >= 80, "%s: cases.json has the 87 cases (%d)", name, n_cases);
    cJSON_Delete(root);
    tok_free(t);
}

/* Special-token lookups and metadata the engine relies on. */
static void test_lookups(void)
{
    char err[512];
    tokenizer *ds = tok_load("golden/tokenizer/deepseek_v3", err, sizeof err);
    tokenizer *qw = tok_load("golden/tokenizer/qwen3", err, sizeof err);
    if (!check(ds && qw, "load both tokenizers: %s", err)) goto done;
    check(tok_token_id(ds, "<｜User｜>") == 128803, "deepseek: <｜User｜> is 128803");
    check(tok_token_id(ds, "<｜Assistant｜>") == 128804, "deepseek: <｜Assistant｜> is 128804");
    check(tok_token_id(ds, "<｜end▁of▁sentence｜>") == 1, "deepseek: <｜end▁of▁sentence｜> is 1");
    check(tok_token_id(ds, "Ġthink") == 2118, "deepseek: vocabulary spelling Ġthink is 2118");
    check(tok_token_id(ds, "<think>") == -1, "deepseek: <think> is not a token in V3");
    check(tok_eos(ds) == 1 && tok_bos(ds) == 0, "deepseek: EOS 1, BOS 0");
    check(tok_is_special(ds, 0) && tok_is_special(ds, 1) && !tok_is_special(ds, 128803) &&
              !tok_is_special(ds, 2118) && !tok_is_special(ds, -1) && !tok_is_special(ds, 1 << 30),
          "deepseek: special flags (BOS/EOS special, <｜User｜> not, plain tokens not)");
    check(tok_eos(qw) == 151645 && tok_bos(qw) == -1 && !tok_add_bos(qw), "qwen3: EOS <|im_end|>, no BOS");
    check(tok_token_id(qw, "<think>") == 151667 && tok_token_id(qw, "</think>") == 151668,
          "qwen3: <think> 151667, </think> 151668");
    check(tok_vocab_size(qw) == 151669, "qwen3: vocabulary size 151669");
    size_t len;
    const char *txt = tok_token_text(ds, 2118, &len);
    check(txt && len == 6 && memcmp(txt, " think", 6) == 0, "deepseek: text of 2118 is \" think\"");
    check(!tok_token_text(ds, 129000, &len) && !tok_token_text(ds, -5, &len), "no text for non-ids");
done:
    tok_free(ds);
    tok_free(qw);
}

/* A character split across tokens is held until complete; broken ones become U+FFFD. */
static void test_stream_split_character(void)
{
    char err[512];
    tokenizer *t = tok_load("golden/tokenizer/deepseek_v3", err, sizeof err);
    if (!check(t != NULL, "load deepseek: %s", err)) return;
    int32_t *ids;
    size_t n;
    const char rocket[] = "\xf0\x9f\x9a\x80"; /* U+1F680, "ðŁļ" + "Ģ" in this vocabulary */
    const char *txt;
    size_t len;
    tok_stream *s = tok_stream_new(t);
    if (check(tok_encode(t, rocket, 4, 0, &ids, &n, err, sizeof err) == 0 && n == 2,
              "rocket emoji encodes to two tokens")) {
        check(tok_stream_push(s, ids[0], &txt, &len, err, sizeof err) == 0 && len == 0,
              "stream: first half of the emoji gives nothing yet");
        check(tok_stream_push(s, ids[1], &txt, &len, err, sizeof err) == 0 && len == 4 &&
                  memcmp(txt, rocket, 4) == 0,
              "stream: second half gives the whole emoji");
        check(tok_stream_finish(s, &txt, &len, err, sizeof err) == 0 && len == 0, "stream: nothing left");
        /* Only the first half, then the end: U+FFFD. */
        check(tok_stream_push(s, ids[0], &txt, &len, err, sizeof err) == 0 && len == 0 &&
                  tok_stream_finish(s, &txt, &len, err, sizeof err) == 0 && len == 3 &&
                  memcmp(txt, "\xef\xbf\xbd", 3) == 0,
              "stream: an unfinished character is flushed as U+FFFD");
        char *dec;
        check(tok_decode(t, ids, 1, &dec, &len, err, sizeof err) == 0 && len == 3 &&
                  memcmp(dec, "\xef\xbf\xbd", 4) == 0,
              "decode: half an emoji is U+FFFD");
        if (len == 3) free(dec);
        free(ids);
    }
    /* A lead byte followed by ASCII can never complete: U+FFFD then the letter, at once. */
    int32_t lead = tok_token_id(t, "ð"), a = tok_token_id(t, "a");
    check(lead >= 0 && a >= 0 && tok_stream_push(s, lead, &txt, &len, err, sizeof err) == 0 && len == 0 &&
              tok_stream_push(s, a, &txt, &len, err, sizeof err) == 0 && len == 4 &&
              memcmp(txt, "\xef\xbf\xbd" "a", 4) == 0,
          "stream: an impossible sequence is emitted as U+FFFD without waiting");
    check(tok_stream_push(s, 1 << 28, &txt, &len, err, sizeof err) == -1 && strchr(err, '\n') == NULL,
          "stream: a bad id is an error (%s)", err);
    tok_stream_free(s);
    int32_t bad[] = {5, 129000};
    char *dec = NULL;
    check(tok_decode(t, bad, 2, &dec, &len, err, sizeof err) == -1 && !dec, "decode: bad id is an error (%s)", err);
    tok_free(t);
}

static void test_invalid_text(void)
{
    char err[512];
    tokenizer *t = tok_load("golden/tokenizer/qwen3", err, sizeof err);
    if (!check(t != NULL, "load qwen3: %s", err)) return;
    static const char *bad[] = {"ab\xff", "\xc0\xaf", "x\xed\xa0\x80", "\xe4\xb8", "\xf4\x90\x80\x80", "\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int32_t *ids = NULL;
        size_t n;
        err[0] = 0;
        int rc = tok_encode(t, bad[i], strlen(bad[i]), 0, &ids, &n, err, sizeof err);
        check(rc == -1 && !ids && strstr(err, "invalid UTF-8") && !strchr(err, '\n'),
              "invalid UTF-8 #%zu is refused (%s)", i, err);
    }
    /* A long whitespace run: deep regex backtracking must neither fail nor crash. */
    size_t n_sp = 200000, n;
    char *sp = malloc(n_sp + 2);
    memset(sp, ' ', n_sp);
    sp[n_sp] = 'x';
    int32_t *ids;
    char *dec;
    size_t dlen;
    int ok = tok_encode(t, sp, n_sp + 1, 0, &ids, &n, err, sizeof err) == 0;
    check(ok, "200k spaces then a letter encode (%s)", ok ? "ok" : err);
    if (ok) {
        check(tok_decode(t, ids, n, &dec, &dlen, err, sizeof err) == 0 && dlen == n_sp + 1 &&
                  memcmp(dec, sp, dlen) == 0,
              "200k spaces round-trip");
        free(dec);
        free(ids);
    }
    free(sp);
    tok_free(t);
}

/* Oniguruma constructs PCRE2 reads differently are rewritten; the rest passes through. */
static void test_regex_dialect(void)
{
    static const char *cases[][2] = {
        {"\\s+(?!\\S)", "\\p{White_Space}+(?!\\P{White_Space})"},
        {"[^\\s\\p{L}]", "[^\\p{White_Space}\\p{L}]"},
        {"(?i:'s|'t)", "(?i:'s|'t)"},
        {"(?m:a.b)", "(?s:a.b)"},
        {"\\u00e9\\h", "\\x{00e9}[0-9A-Fa-f]"},
        {"[\\]a]", "[\\]a]"},
        {"[]a]", "[]a]"},
        {"[[:alpha:]]+", "[[:alpha:]]+"},
    };
    char err[256];
    tk_bytes out = {0};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int rc = tk_onig_translate(cases[i][0], strlen(cases[i][0]), &out, err, sizeof err);
        check(rc == 0 && out.n == strlen(cases[i][1]) && memcmp(out.p, cases[i][1], out.n) == 0,
              "regex %s -> %s (got %.*s)", cases[i][0], cases[i][1], rc ? 0 : (int)out.n, (const char *)out.p);
    }
    static const char *refused[] = {"[a[b]]", "[a&&b]", "[\\W]", "abc\\", "\\u12", "[abc"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        check(tk_onig_translate(refused[i], strlen(refused[i]), &out, err, sizeof err) == -1,
              "regex %s is refused (%s)", refused[i], err);
    free(out.p);
    /* U+180E is \s to PCRE2 but not White_Space (Oniguruma): it must not match. */
    tk_regex *re = tk_regex_compile("\\s", 2, 0, err, sizeof err);
    if (check(re != NULL, "compile \\s: %s", err)) {
        const char *mvs = "\xe1\xa0\x8e", *nel = "\xc2\x85";
        check(pcre2_match(re->code, (PCRE2_SPTR)mvs, 3, 0, 0, re->md, re->mc) == PCRE2_ERROR_NOMATCH &&
                  pcre2_match(re->code, (PCRE2_SPTR)nel, 2, 0, 0, re->md, re->mc) == 1,
              "\\s is White_Space: not U+180E, but U+0085");
    }
    tk_regex_free(re);
}

/* ---- small hand-written tokenizers in a temporary directory ---- */

static char tmpdir[64];

/* Writes tokenizer.json (and tokenizer_config.json unless config is NULL). */
static void write_tok(const char *json, const char *config)
{
    char path[128];
    snprintf(path, sizeof path, "%s/tokenizer.json", tmpdir);
    write_file(path, json);
    snprintf(path, sizeof path, "%s/tokenizer_config.json", tmpdir);
    if (config) write_file(path, config);
    else unlink(path);
}

/* A tokenizer.json with the given vocabulary, merges and pre-tokenizer steps (before the
 * final ByteLevel). */
static void write_small(const char *vocab, const char *merges, const char *pre, const char *model_extra,
                        const char *added, const char *post, const char *config)
{
    size_t cap = strlen(vocab) + strlen(merges) + strlen(pre) + strlen(model_extra) + strlen(added) +
                 strlen(post) + 1024;
    char *j = malloc(cap);
    snprintf(j, cap,
             "{\"version\":\"1.0\",\"added_tokens\":[%s],\"normalizer\":null,"
             "\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[%s%s"
             "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":false}]},"
             "\"post_processor\":%s,\"decoder\":{\"type\":\"ByteLevel\"},"
             "\"model\":{\"type\":\"BPE\",%s\"vocab\":{%s},\"merges\":[%s]}}",
             added, pre, pre[0] ? "," : "", post, model_extra, vocab, merges);
    write_tok(j, config);
    free(j);
}

static int encode_eq(tokenizer *t, const char *text, int add_bos, const int32_t *want, size_t nw,
                     const char *what)
{
    int32_t *got;
    size_t ng;
    char err[512];
    if (!check(tok_encode(t, text, strlen(text), add_bos, &got, &ng, err, sizeof err) == 0, "%s: %s", what, err))
        return 0;
    int ok = check_ids("ids", what, want, nw, got, ng);
    free(got);
    return ok;
}

#define IDS(...) (const int32_t[]){__VA_ARGS__}, sizeof((const int32_t[]){__VA_ARGS__}) / sizeof(int32_t)

static const char letters[] =
    "\"t\":0,\"h\":1,\"e\":2,\"-\":3,\"f\":4,\"i\":5,\"n\":6,\"a\":7,\"l\":8,\"c\":9,\"o\":10,\"u\":11,"
    "\"d\":12,\"w\":13,\"the\":20,\"final\":21,\"countdown\":22,\"--\":23,\"the-\":24,\"final-\":25,"
    "\"-final\":26,\"-countdown\":27,\"Ġ\":28,\"Ġthe\":29";

/* Hugging Face's documented example: "the-final--countdown" split on "-". */
static void test_split_behaviours(void)
{
    char err[512], pre[256];
    tokenizer *t;
    static const struct {
        const char *behavior;
        int32_t ids[8];
        size_t n;
    } cases[] = {
        {"Removed", {20, 21, 22}, 3},
        {"Isolated", {20, 3, 21, 3, 3, 22}, 6},
        {"MergedWithPrevious", {24, 25, 3, 22}, 4},
        {"MergedWithNext", {20, 26, 3, 27}, 4},
        {"Contiguous", {20, 3, 21, 23, 22}, 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(pre, sizeof pre,
                 "{\"type\":\"Split\",\"pattern\":{\"String\":\"-\"},\"behavior\":\"%s\",\"invert\":false}",
                 cases[i].behavior);
        write_small(letters, "", pre, "\"ignore_merges\":true,", "", "null", NULL);
        t = tok_load(tmpdir, err, sizeof err);
        char what[64];
        snprintf(what, sizeof what, "split behaviour %s", cases[i].behavior);
        if (check(t != NULL, "%s: load: %s", what, err))
            encode_eq(t, "the-final--countdown", 0, cases[i].ids, cases[i].n, what);
        tok_free(t);
    }
    /* invert: the pattern names the pieces to keep; with Removed the rest goes. */
    write_small(letters, "",
                "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"[a-z]+\"},\"behavior\":\"Removed\",\"invert\":true}",
                "\"ignore_merges\":true,", "", "null", NULL);
    t = tok_load(tmpdir, err, sizeof err);
    if (check(t != NULL, "invert: load: %s", err)) encode_eq(t, "the-final--countdown", 0, IDS(20, 21, 22), "split invert");
    tok_free(t);
    /* An empty String pattern matches nowhere: the piece stays whole. */
    write_small(letters, "", "{\"type\":\"Split\",\"pattern\":{\"String\":\"\"},\"behavior\":\"Isolated\"}",
                "\"ignore_merges\":true,", "", "null", NULL);
    t = tok_load(tmpdir, err, sizeof err);
    if (check(t != NULL, "empty pattern: load: %s", err)) encode_eq(t, "the", 0, IDS(20), "empty String pattern");
    tok_free(t);
    /* Digits: one piece per digit, or runs of digits. */
    for (int individual = 0; individual < 2; individual++) {
        snprintf(pre, sizeof pre, "{\"type\":\"Digits\",\"individual_digits\":%s}", individual ? "true" : "false");
        write_small("\"1\":0,\"2\":1,\"12\":2,\"a\":3,\"a1\":4", "", pre, "\"ignore_merges\":true,", "", "null", NULL);
        t = tok_load(tmpdir, err, sizeof err);
        if (check(t != NULL, "Digits: load: %s", err)) {
            if (individual) encode_eq(t, "a12", 0, IDS(3, 0, 1), "Digits individual_digits");
            else encode_eq(t, "a12", 0, IDS(3, 2), "Digits runs");
        }
        tok_free(t);
    }
    /* ByteLevel with add_prefix_space and the GPT-2 regex. */
    write_tok("{\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"use_regex\":true},"
              "\"model\":{\"ignore_merges\":true,\"vocab\":{\"t\":0,\"h\":1,\"e\":2,\"Ġ\":28,\"Ġthe\":29},"
              "\"merges\":[]}}",
              NULL);
    t = tok_load(tmpdir, err, sizeof err);
    if (check(t != NULL, "ByteLevel prefix space: load: %s", err))
        encode_eq(t, "the the", 0, IDS(29, 29), "ByteLevel add_prefix_space + GPT-2 regex");
    tok_free(t);
}

/* Merges as "a b" strings or as pairs; the lowest rank wins. */
static void test_merges(void)
{
    char err[512];
    const char *vocab = "\"a\":0,\"b\":1,\"c\":2,\"ab\":3,\"bc\":4,\"abc\":5";
    const char *forms[] = {"\"a b\",\"ab c\",\"b c\"", "[\"a\",\"b\"],[\"ab\",\"c\"],[\"b\",\"c\"]"};
    for (int i = 0; i < 2; i++) {
        write_small(vocab, forms[i], "", "", "", "null", NULL);
        tokenizer *t = tok_load(tmpdir, err, sizeof err);
        if (check(t != NULL, "merges form %d: load: %s", i, err))
            encode_eq(t, "abcab", 0, IDS(5, 3), i ? "merges as pairs" : "merges as strings");
        tok_free(t);
    }
    write_small(vocab, "\"b c\",\"a b\"", "", "", "", "null", NULL);
    tokenizer *t = tok_load(tmpdir, err, sizeof err);
    if (check(t != NULL, "merge ranks: load: %s", err)) encode_eq(t, "abc", 0, IDS(0, 4), "lower rank merges first");
    tok_free(t);
    /* Added tokens: longest match first; lstrip/rstrip absorb the spaces around. */
    write_small(vocab, "\"a b\"", "", "",
                "{\"id\":6,\"content\":\"<x>\",\"special\":true},"
                "{\"id\":7,\"content\":\"<x>>\",\"special\":false,\"normalized\":false},"
                "{\"id\":8,\"content\":\"[m]\",\"special\":true,\"lstrip\":true,\"rstrip\":true}",
                "null", "{\"bos_token\":{\"content\":\"<x>\"}, \"tokenizer_class\":\"LlamaTokenizerFast\"}");
    t = tok_load(tmpdir, err, sizeof err);
    if (check(t != NULL, "added tokens: load: %s", err)) {
        encode_eq(t, "ab<x>>c<x>", 0, IDS(3, 7, 2, 6), "added tokens, longest match first");
        encode_eq(t, "a  [m]  b", 0, IDS(0, 8, 1), "added token lstrip/rstrip");
        check(tok_bos(t) == 6 && tok_add_bos(t), "bos_token {content} and LlamaTokenizerFast's default add_bos");
        encode_eq(t, "c", 1, IDS(6, 2), "BOS prepended when asked");
    }
    tok_free(t);
    /* Llama-3 style: BOS from a TemplateProcessing post-processor, no tokenizer_config. */
    write_small(vocab, "", "", "", "{\"id\":9,\"content\":\"<|begin|>\",\"special\":true}",
                "{\"type\":\"Sequence\",\"processors\":[{\"type\":\"ByteLevel\"},{\"type\":\"TemplateProcessing\","
                "\"single\":[{\"SpecialToken\":{\"id\":\"<|begin|>\",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],"
                "\"special_tokens\":{\"<|begin|>\":{\"id\":\"<|begin|>\",\"ids\":[9],\"tokens\":[\"<|begin|>\"]}}}]}",
                NULL);
    t = tok_load(tmpdir, err, sizeof err);
    if (check(t != NULL, "template BOS: load: %s", err))
        check(tok_bos(t) == 9 && tok_add_bos(t) && tok_vocab_size(t) == 10, "BOS from TemplateProcessing");
    tok_free(t);
}

/* Broken files: each must fail with a one-line message, never crash. */
static void test_bad_files(void)
{
    char err[512];
    const char *vocab = "\"a\":0,\"b\":1,\"ab\":2";
    static const struct {
        const char *what, *json, *config;
    } bad[] = {
        {"empty file", "", NULL},
        {"not JSON", "{\"model\": {", NULL},
        {"top level array", "[1,2]", NULL},
        {"no model", "{\"pre_tokenizer\":{\"type\":\"ByteLevel\"}}", NULL},
        {"vocab is an array", "{\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"vocab\":[],\"merges\":[]}}", NULL},
        {"vocab id is a string", "{\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"vocab\":{\"a\":\"0\"},\"merges\":[]}}", NULL},
        {"absurd vocab id", "{\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"vocab\":{\"a\":1e15},\"merges\":[]}}", NULL},
        {"negative id", "{\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"vocab\":{\"a\":-1},\"merges\":[]}}", NULL},
        {"fractional id", "{\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"vocab\":{\"a\":0.5},\"merges\":[]}}", NULL},
        {"id used twice", "{\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"vocab\":{\"a\":0,\"b\":0},\"merges\":[]}}", NULL},
        {"no ByteLevel", "{\"pre_tokenizer\":null,\"model\":{\"vocab\":{\"a\":0},\"merges\":[]}}", NULL},
        {"wordpiece model", "{\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"type\":\"WordPiece\",\"vocab\":{\"a\":0}}}", NULL},
        {"unsupported normalizer", "{\"normalizer\":{\"type\":\"NFKD\"},\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"vocab\":{\"a\":0},\"merges\":[]}}", NULL},
        {"invalid regex", "{\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\"([a\\n\"},\"behavior\":\"Isolated\"},{\"type\":\"ByteLevel\"}]},\"model\":{\"vocab\":{\"a\":0},\"merges\":[]}}", NULL},
        {"unknown behaviour", "{\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\"a\"},\"behavior\":\"Sideways\"},{\"type\":\"ByteLevel\"}]},\"model\":{\"vocab\":{\"a\":0},\"merges\":[]}}", NULL},
        {"nested class", "{\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\"[a[b]]\"},\"behavior\":\"Isolated\"},{\"type\":\"ByteLevel\"}]},\"model\":{\"vocab\":{\"a\":0},\"merges\":[]}}", NULL},
        {"merge of one", "{\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"vocab\":{%V},\"merges\":[\"ab\"]}}", NULL},
        {"merge is a number", "{\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"vocab\":{%V},\"merges\":[12]}}", NULL},
        {"merge of three", "{\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"vocab\":{%V},\"merges\":[[\"a\",\"b\",\"c\"]]}}", NULL},
        {"merge names an unknown token", "{\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"vocab\":{%V},\"merges\":[\"a x\"]}}", NULL},
        {"merge result not in vocab", "{\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"vocab\":{%V},\"merges\":[\"b a\"]}}", NULL},
        {"added token without id", "{\"added_tokens\":[{\"content\":\"<s>\"}],\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"vocab\":{%V},\"merges\":[]}}", NULL},
        {"added token absurd id", "{\"added_tokens\":[{\"id\":4294967296,\"content\":\"<s>\"}],\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"vocab\":{%V},\"merges\":[]}}", NULL},
        {"added token empty", "{\"added_tokens\":[{\"id\":5,\"content\":\"\"}],\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"vocab\":{%V},\"merges\":[]}}", NULL},
        {"lstrip not a bool", "{\"added_tokens\":[{\"id\":5,\"content\":\"<s>\",\"lstrip\":\"yes\"}],\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"vocab\":{%V},\"merges\":[]}}", NULL},
        {"config: bos unknown", "{\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"vocab\":{%V},\"merges\":[]}}", "{\"bos_token\":\"<s>\"}"},
        {"config: not JSON", "{\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"vocab\":{%V},\"merges\":[]}}", "{"},
        {"config: add_bos_token is a string", "{\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"vocab\":{%V},\"merges\":[]}}", "{\"add_bos_token\":\"true\"}"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        /* %V stands for a small valid vocabulary. */
        char json[1024];
        const char *v = strstr(bad[i].json, "%V");
        if (v) snprintf(json, sizeof json, "%.*s%s%s", (int)(v - bad[i].json), bad[i].json, vocab, v + 2);
        else snprintf(json, sizeof json, "%s", bad[i].json);
        write_tok(json, bad[i].config);
        err[0] = 0;
        tokenizer *t = tok_load(tmpdir, err, sizeof err);
        check(!t && err[0] && !strchr(err, '\n'), "bad file (%s) fails with one line: %s", bad[i].what, err);
        tok_free(t);
    }
    /* An absurdly large file is refused before it is read (sparse: costs no disk). */
    char path[128];
    snprintf(path, sizeof path, "%s/tokenizer.json", tmpdir);
    int fd = open(path, O_WRONLY | O_TRUNC);
    int sized = fd >= 0 && ftruncate(fd, (off_t)3 << 30) == 0;
    if (fd >= 0) close(fd);
    err[0] = 0;
    tokenizer *t = sized ? tok_load(tmpdir, err, sizeof err) : NULL;
    check(sized && !t && strstr(err, "too large"), "a 3 GiB tokenizer.json is refused: %s", err);
    /* Strings from the file are escaped in messages, so the message stays one line. */
    write_tok("{\"normalizer\":{\"type\":\"Evil\\nType\"},\"model\":{}}", NULL);
    t = tok_load(tmpdir, err, sizeof err);
    check(!t && strstr(err, "Evil\\nType") && !strchr(err, '\n'), "newline in a type name is escaped: %s", err);
    err[0] = 0;
    t = tok_load("/nonexistent/dir", err, sizeof err);
    check(!t && strstr(err, "tokenizer.json"), "missing tokenizer.json fails: %s", err);
    /* Sanity: the same small vocabulary loads when the file is right. */
    char json[256];
    snprintf(json, sizeof json, "{\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"vocab\":{%s},\"merges\":[\"a b\"]}}", vocab);
    write_tok(json, NULL);
    t = tok_load(tmpdir, err, sizeof err);
    check(t != NULL, "the well-formed small file loads: %s", t ? "ok" : err);
    tok_free(t);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/vkseek_tok_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_golden("deepseek_v3");
    test_golden("qwen3");
    test_lookups();
    test_stream_split_character();
    test_invalid_text();
    test_regex_dialect();
    test_split_behaviours();
    test_merges();
    test_bad_files();

    char path[128];
    snprintf(path, sizeof path, "%s/tokenizer.json", tmpdir);
    unlink(path);
    snprintf(path, sizeof path, "%s/tokenizer_config.json", tmpdir);
    unlink(path);
    rmdir(tmpdir);
    return check_finish("test_tokenizer");
}
