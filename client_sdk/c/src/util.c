/* Small helpers: bounded copies, error filling, UTF-8 validation. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "internal.h"

void lc_copy(char *dst, size_t size, const char *src)
{
    if (!dst || size == 0)
        return;
    size_t n = src ? strlen(src) : 0;
    if (n >= size)
        n = size - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

void lc_fail(lc_error *err, const char *code, int http_status, const char *fmt, ...)
{
    if (!err)
        return;
    lc_copy(err->code, sizeof err->code, code);
    err->http_status = http_status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->detail, sizeof err->detail, fmt, ap);
    va_end(ap);
}

char *lc_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* Well-formed UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
int lc_utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t need;
        unsigned long cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            need = 1, cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            need = 2, cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            need = 3, cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i <= need)
            return 0;
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += need + 1;
    }
    return 1;
}

/* Strict JSON of exactly text[0..len) (text[len] must be NUL): valid UTF-8, no
 * NUL inside, nothing after the value but whitespace. */
cJSON *lc_json_parse(const char *text, size_t len)
{
    if (!text || text[len] != '\0' || memchr(text, '\0', len) ||
        !lc_utf8_valid((const unsigned char *)text, len))
        return NULL;
    /* cJSON counts the terminating NUL in the length it checks against */
    return cJSON_ParseWithLengthOpts(text, len + 1, NULL, 1);
}
