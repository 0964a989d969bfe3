/* Strict base64url without padding, as the server writes it: every token has
 * exactly one spelling (the unused bits of the last character must be zero). */
#include <string.h>

#include "internal.h"

static const char ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int value_of(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

long lc_b64u_decode(const char *text, size_t len, unsigned char *out, size_t cap)
{
    size_t tail = len % 4;
    if (tail == 1)
        return -1;
    size_t need = len / 4 * 3 + (tail ? tail - 1 : 0);
    if (need > cap)
        return -1;
    size_t o = 0;
    unsigned long acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = value_of(text[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned long)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1UL << bits) - 1;
        }
    }
    if (acc != 0) /* leftover bits that carry no data must be zero */
        return -1;
    return (long)o;
}

size_t lc_b64u_encode(const unsigned char *in, size_t len, char *out)
{
    size_t o = 0;
    unsigned long acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = ALPHABET[(acc >> bits) & 0x3F];
        }
        acc &= (1UL << bits) - 1;
    }
    if (bits)
        out[o++] = ALPHABET[(acc << (6 - bits)) & 0x3F];
    out[o] = '\0';
    return o;
}
