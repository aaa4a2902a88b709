/* base64.c: RFC 4648 base64, for data: URLs in and b64_json images out. */
#include <stdlib.h>
#include "serve/request.h"

static int b64_value(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+' || ch == '-') return 62;
    if (ch == '/' || ch == '_') return 63;
    return -1;
}

int base64_decode(const char *s, size_t n, uint8_t **out, size_t *out_len)
{
    while (n && s[n - 1] == '=') n--;
    if (n % 4 == 1) return -1;
    uint8_t *o = malloc(n / 4 * 3 + 3);
    if (!o) return -1;
    size_t k = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value((unsigned char)s[i]);
        if (v < 0) {
            free(o);
            return -1;
        }
        acc = acc << 6 | (uint32_t)v;
        if (i % 4 == 3) o[k++] = (uint8_t)(acc >> 16), o[k++] = (uint8_t)(acc >> 8), o[k++] = (uint8_t)acc;
    }
    if (n % 4 == 2) o[k++] = (uint8_t)(acc >> 4);
    if (n % 4 == 3) o[k++] = (uint8_t)(acc >> 10), o[k++] = (uint8_t)(acc >> 2);
    *out = o, *out_len = k;
    return 0;
}

char *base64_encode(const uint8_t *p, size_t n)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *o = malloc((n + 2) / 3 * 4 + 1), *w = o;
    if (!o) return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        *w++ = a[v >> 18], *w++ = a[v >> 12 & 63];
        *w++ = i + 1 < n ? a[v >> 6 & 63] : '=';
        *w++ = i + 2 < n ? a[v & 63] : '=';
    }
    *w = 0;
    return o;
}
