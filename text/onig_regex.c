/* onig_regex.c: rewrites a Hugging Face tokenizer regex (Oniguruma, Ruby syntax) into a
 * PCRE2 pattern that matches the same strings under PCRE2_UTF | PCRE2_UCP, and compiles
 * it (JIT when available). Only constructs whose meaning differs are rewritten; anything
 * PCRE2 cannot express the same way is refused with an error, never approximated. */
#include <stdio.h>
#include <string.h>
#include "text/tok_internal.h"

/* Oniguruma's \s is Unicode White_Space; PCRE2's (UCP) adds U+180E and Oniguruma's
 * \w follows UTS #18 (Alphabetic, marks, decimal digits, connector punctuation,
 * Join_Control) where PCRE2 10.42 uses letters, numbers and '_'. */
#define WS "\\p{White_Space}"
#define NWS "\\P{White_Space}"
#define WORD "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}"
#define HEX "0-9A-Fa-f"

static int put(tk_bytes *o, const char *s) { return tk_bytes_put(o, s, strlen(s)); }

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int tk_onig_translate(const char *re, size_t n, tk_bytes *out, char *err, size_t errlen)
{
    int in_class = 0;  /* inside [...] (Oniguruma's nested classes are refused) */
    int oom = 0;
    out->n = 0;
    for (size_t i = 0; i < n && !oom; i++) {
        char c = re[i];
        if (c == '\\') {
            if (i + 1 >= n) {
                snprintf(err, errlen, "regex ends with a lone backslash");
                return -1;
            }
            char e = re[++i];
            switch (e) {
            case 's': oom = put(out, WS); break;
            case 'S': oom = put(out, NWS); break;
            case 'w': oom = put(out, in_class ? WORD : "[" WORD "]"); break;
            case 'h': oom = put(out, in_class ? HEX : "[" HEX "]"); break;
            case 'W':
            case 'H':
                if (in_class) {
                    snprintf(err, errlen, "regex: \\%c inside a character class is not supported", e);
                    return -1;
                }
                oom = put(out, e == 'W' ? "[^" WORD "]" : "[^" HEX "]");
                break;
            case 'b':
            case 'B':
                if (in_class) { /* backspace in both dialects */
                    oom = put(out, "\\b");
                    break;
                }
                oom = put(out, e == 'b' ? "(?:(?<=[" WORD "])(?![" WORD "])|(?<![" WORD "])(?=[" WORD "]))"
                                        : "(?:(?<=[" WORD "])(?=[" WORD "])|(?<![" WORD "])(?![" WORD "]))");
                break;
            case 'u': /* Ruby's \uHHHH; PCRE2 spells it \x{HHHH} */
                if (i + 4 >= n || !is_hex(re[i + 1]) || !is_hex(re[i + 2]) || !is_hex(re[i + 3]) ||
                    !is_hex(re[i + 4])) {
                    snprintf(err, errlen, "regex: \\u needs four hex digits");
                    return -1;
                }
                oom = put(out, "\\x{") || tk_bytes_put(out, re + i + 1, 4) || put(out, "}");
                i += 4;
                break;
            default: /* \p{..}, \d, \r, \x{..}, escaped punctuation: the same in PCRE2 */
                oom = tk_bytes_put(out, re + i - 1, 2);
            }
            continue;
        }
        if (in_class) {
            if (c == ']') in_class = 0;
            else if (c == '[' && i + 1 < n && re[i + 1] == ':') { /* POSIX class [:alpha:] */
                const char *end = memchr(re + i + 2, ']', n - i - 2);
                if (!end) {
                    snprintf(err, errlen, "regex: unterminated [: class");
                    return -1;
                }
                oom = tk_bytes_put(out, re + i, (size_t)(end - (re + i)) + 1);
                i = (size_t)(end - re);
                continue;
            } else if (c == '[' || (c == '&' && i + 1 < n && re[i + 1] == '&')) {
                snprintf(err, errlen, "regex: nested or intersected character classes "
                                      "(at offset %zu) are not supported", i);
                return -1;
            }
            oom = tk_bytes_put(out, &c, 1);
            continue;
        }
        if (c == '[') {
            in_class = 1;
            oom = tk_bytes_put(out, &c, 1);
            /* A ']' right after '[' or '[^' is a literal in both dialects. */
            if (i + 1 < n && re[i + 1] == '^') oom = oom || tk_bytes_put(out, re + ++i, 1);
            if (i + 1 < n && re[i + 1] == ']') oom = oom || tk_bytes_put(out, re + ++i, 1);
            continue;
        }
        if (c == '(' && i + 2 < n && re[i + 1] == '?') {
            /* Inline options: Ruby's (?m) is "dot matches newline", PCRE2's (?s). */
            size_t j = i + 2;
            while (j < n && strchr("imx-", re[j])) j++;
            if (j > i + 2 && j < n && (re[j] == ':' || re[j] == ')')) {
                for (size_t k = i; k <= j && !oom; k++) {
                    char o = re[k] == 'm' && k > i + 1 ? 's' : re[k];
                    oom = tk_bytes_put(out, &o, 1);
                }
                i = j;
                continue;
            }
        }
        oom = tk_bytes_put(out, &c, 1);
    }
    if (oom) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (in_class) {
        snprintf(err, errlen, "regex: missing ] at the end");
        return -1;
    }
    return 0;
}

tk_regex *tk_regex_compile(const char *pattern, size_t n, int literal, char *err, size_t errlen)
{
    tk_bytes src = {0};
    int rc = 0;
    if (literal) { /* a Split with a "String" pattern: escape every non-alphanumeric byte */
        for (size_t i = 0; i < n && !rc; i++) {
            unsigned char c = (unsigned char)pattern[i];
            int plain = c >= 0x80 || (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z');
            if (c == 0) rc = put(&src, "\\x{0}");
            else rc = (!plain && put(&src, "\\")) || tk_bytes_put(&src, &c, 1);
        }
        if (rc) snprintf(err, errlen, "out of memory");
    } else
        rc = tk_onig_translate(pattern, n, &src, err, errlen);
    if (rc || tk_bytes_put(&src, "", 0)) {
        if (!rc) snprintf(err, errlen, "out of memory");
        free(src.p);
        return NULL;
    }
    tk_regex *r = calloc(1, sizeof *r);
    pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
    if (!r || !cc) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    /* Oniguruma's only line break is \n; Ruby's ^ and $ always work per line. */
    pcre2_set_newline(cc, PCRE2_NEWLINE_LF);
    int ec;
    PCRE2_SIZE eo;
    r->code = pcre2_compile((PCRE2_SPTR)src.p, src.n, PCRE2_UTF | PCRE2_UCP | PCRE2_MULTILINE,
                            &ec, &eo, cc);
    if (!r->code) {
        char msg[160], snip[96];
        pcre2_get_error_message(ec, (PCRE2_UCHAR *)msg, sizeof msg);
        snprintf(err, errlen, "regex \"%s\": %s (at offset %zu of its PCRE2 form)",
                 tk_snippet(pattern, n, snip, sizeof snip), msg, (size_t)eo);
        goto fail;
    }
    /* JIT when the platform has it; the interpreter gives the same matches otherwise. */
    r->jit = pcre2_jit_compile(r->code, PCRE2_JIT_COMPLETE) == 0;
    r->md = pcre2_match_data_create_from_pattern(r->code, NULL);
    r->mc = pcre2_match_context_create(NULL);
    if (r->jit) {
        /* Long whitespace runs backtrack deeply in \s+(?!\S): give JIT a stack that
         * grows to 16 MiB instead of the 32 KiB default. */
        r->stack = pcre2_jit_stack_create(32 * 1024, 16 * 1024 * 1024, NULL);
        if (r->stack && r->mc) pcre2_jit_stack_assign(r->mc, NULL, r->stack);
    }
    if (!r->md || !r->mc || (r->jit && !r->stack)) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    pcre2_compile_context_free(cc);
    free(src.p);
    return r;
fail:
    pcre2_compile_context_free(cc);
    free(src.p);
    tk_regex_free(r);
    return NULL;
}

void tk_regex_free(tk_regex *r)
{
    if (!r) return;
    pcre2_match_data_free(r->md);
    pcre2_match_context_free(r->mc);
    pcre2_jit_stack_free(r->stack);
    pcre2_code_free(r->code);
    free(r);
}
