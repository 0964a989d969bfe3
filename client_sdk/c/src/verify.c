/* Offline verification of the server's signed tokens: PREFIX.PAYLOAD.SIG with
 * PAYLOAD base64url JSON and SIG Ed25519 over the ASCII "PREFIX.PAYLOAD". Only
 * the kid of an unverified payload is read, to pick a pinned key. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "internal.h"

int lc_keys_parse(const char *text, lc_keyring *ring)
{
    memset(ring, 0, sizeof *ring);
    if (!text || !*text)
        return -1;
    const char *p = text;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        if (!eq || eq == p || ring->count == LC_MAX_KEYS)
            return -1;
        size_t kidlen = (size_t)(eq - p);
        lc_key *k = &ring->keys[ring->count];
        if (kidlen >= sizeof k->kid)
            return -1;
        memcpy(k->kid, p, kidlen);
        k->kid[kidlen] = '\0';
        unsigned char raw[33];
        if (lc_b64u_decode(eq + 1, n - kidlen - 1, raw, sizeof raw) != 32)
            return -1;
        memcpy(k->key, raw, 32);
        ring->count++;
        if (!end)
            break;
        p = end + 1;
        if (!*p)
            return -1; /* a trailing comma */
    }
    return ring->count ? 0 : -1;
}

static const lc_key *find_key(const lc_keyring *ring, const char *kid)
{
    for (int i = 0; i < ring->count; i++)
        if (strcmp(ring->keys[i].kid, kid) == 0)
            return &ring->keys[i];
    return NULL;
}

static int why_(char *why, size_t whylen, const char *text)
{
    lc_copy(why, whylen, text);
    return -1;
}

cJSON *lc_token_verify(const char *token, const char *prefix, const lc_keyring *ring, char *why,
                       size_t whylen)
{
    size_t len = token ? strlen(token) : 0;
    size_t plen = strlen(prefix);
    if (!token || len > LC_MAX_TOKEN) {
        why_(why, whylen, "not a token");
        return NULL;
    }
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)token[i] >= 0x80) {
            why_(why, whylen, "not a token");
            return NULL;
        }
    const char *dot1 = strchr(token, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (!dot2 || strchr(dot2 + 1, '.') || (size_t)(dot1 - token) != plen ||
        memcmp(token, prefix, plen) != 0) {
        snprintf(why, whylen, "not an %s token", prefix);
        return NULL;
    }
    size_t paylen = (size_t)(dot2 - dot1 - 1);
    unsigned char *payload = malloc(paylen + 1);
    if (!payload) {
        why_(why, whylen, "out of memory");
        return NULL;
    }
    long n = lc_b64u_decode(dot1 + 1, paylen, payload, paylen + 1);
    cJSON *json = NULL;
    if (n >= 0) {
        payload[n] = '\0';
        json = lc_json_parse((const char *)payload, (size_t)n);
    }
    free(payload);
    if (!json) {
        why_(why, whylen, "undecodable payload");
        return NULL;
    }
    if (!cJSON_IsObject(json)) {
        why_(why, whylen, "payload is not an object");
        goto bad;
    }
    const cJSON *kid = cJSON_GetObjectItemCaseSensitive(json, "kid");
    const lc_key *key = cJSON_IsString(kid) ? find_key(ring, kid->valuestring) : NULL;
    if (!key) {
        why_(why, whylen, "unknown kid");
        goto bad;
    }
    unsigned char sig[crypto_sign_BYTES + 1];
    if (lc_b64u_decode(dot2 + 1, len - (size_t)(dot2 + 1 - token), sig, sizeof sig) !=
            crypto_sign_BYTES ||
        crypto_sign_verify_detached(sig, (const unsigned char *)token,
                                    (unsigned long long)(dot2 - token), key->key) != 0) {
        why_(why, whylen, "bad signature");
        goto bad;
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(json, "v");
    if (!cJSON_IsNumber(v) || v->valuedouble != 1.0) {
        why_(why, whylen, "unknown version");
        goto bad;
    }
    return json;
bad:
    cJSON_Delete(json);
    return NULL;
}

static int get_str(const cJSON *p, const char *name, char *out, size_t size)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, name);
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= size)
        return -1;
    lc_copy(out, size, v->valuestring);
    return 0;
}

static int as_int(const cJSON *v, int64_t lo, int64_t hi, int64_t *out)
{
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
        v->valuedouble < (double)lo || v->valuedouble > (double)hi)
        return -1;
    *out = (int64_t)v->valuedouble;
    return 0;
}

static int get_time(const cJSON *p, const char *name, int64_t *out)
{
    return as_int(cJSON_GetObjectItemCaseSensitive(p, name), 0, LC_MAX_TIMESTAMP, out);
}

static int opt_check(const cJSON *p, const char *name, int want_string)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, name);
    int64_t ignored;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (want_string)
        return cJSON_IsString(v) ? 0 : -1;
    return as_int(v, 0, LC_MAX_TIMESTAMP, &ignored);
}

static int string_list(const cJSON *v, int allow_null)
{
    if (allow_null && (!v || cJSON_IsNull(v)))
        return 0;
    if (!cJSON_IsArray(v))
        return -1;
    const cJSON *item;
    cJSON_ArrayForEach(item, v) if (!cJSON_IsString(item)) return -1;
    return 0;
}

void lc_cert_clear(lc_cert *cert)
{
    for (int i = 0; i < cert->nfeatures; i++)
        free(cert->features[i]);
    memset(cert, 0, sizeof *cert);
}

/* The claims every AC1 certificate carries, checked as the Python SDK does. */
static int claims(const cJSON *p, lc_cert *c, char *why, size_t whylen)
{
    char scratch[256];
    int64_t seats;
    if (get_str(p, "aid", c->aid, sizeof c->aid) || get_str(p, "lid", c->lid, sizeof c->lid) ||
        get_str(p, "prod", c->prod, sizeof c->prod) ||
        get_str(p, "cust", scratch, sizeof scratch) || get_str(p, "iid", c->iid, sizeof c->iid) ||
        get_str(p, "kid", c->kid, sizeof c->kid))
        return why_(why, whylen, "a string claim is missing, not a string or too long");
    const cJSON *mn = cJSON_GetObjectItemCaseSensitive(p, "mn");
    if (!cJSON_IsString(mn))
        return why_(why, whylen, "claim 'mn' missing or not a string");
    if (as_int(cJSON_GetObjectItemCaseSensitive(p, "seats"), INT64_MIN / 2, INT64_MAX / 2, &seats))
        return why_(why, whylen, "claim 'seats' missing or not an integer");
    const cJSON *features = cJSON_GetObjectItemCaseSensitive(p, "features");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(p, "exp");
    if (!exp)
        return why_(why, whylen, "claim 'exp' missing");
    if (string_list(features, 0) || cJSON_GetArraySize(features) > LC_MAX_FEATURES)
        return why_(why, whylen, "claim 'features' is not a list of strings");
    if (get_time(p, "iat", &c->iat) || get_time(p, "until", &c->until))
        return why_(why, whylen, "claim 'iat' or 'until' missing or out of range");
    if (!cJSON_IsNull(exp)) {
        if (get_time(p, "exp", &c->exp))
            return why_(why, whylen, "claim 'exp' out of range");
        c->has_exp = 1;
    }
    if (opt_check(p, "model", 1) || opt_check(p, "acc", 1) || opt_check(p, "site", 1) ||
        opt_check(p, "lease", 0) || opt_check(p, "hb", 0) ||
        string_list(cJSON_GetObjectItemCaseSensitive(p, "warn"), 1))
        return why_(why, whylen, "an optional claim has the wrong type");
    const cJSON *f;
    cJSON_ArrayForEach(f, features)
    {
        char *copy = lc_strdup(f->valuestring);
        if (!copy)
            return why_(why, whylen, "out of memory");
        c->features[c->nfeatures++] = copy;
    }
    return 0;
}

int lc_cert_parse(const char *token, const lc_keyring *ring, lc_cert *cert, char *why,
                  size_t whylen)
{
    memset(cert, 0, sizeof *cert);
    cJSON *p = lc_token_verify(token, "AC1", ring, why, whylen);
    if (!p)
        return -1;
    int rc = claims(p, cert, why, whylen);
    cJSON_Delete(p);
    if (rc)
        lc_cert_clear(cert);
    return rc;
}

/* ---- signed answers (API.md "Signed answers") ---- */

/* Reads `name="` then up to cap-1 characters of allowed up to the closing
 * quote into out; returns the text after the quote, or NULL. */
static const char *quoted(const char *p, const char *name, const char *allowed, char *out,
                          size_t cap)
{
    size_t n = strlen(name);
    if (strncmp(p, name, n) != 0 || p[n] != '=' || p[n + 1] != '"')
        return NULL;
    p += n + 2;
    size_t len = strspn(p, allowed);
    if (len == 0 || len >= cap || p[len] != '"')
        return NULL;
    memcpy(out, p, len);
    out[len] = '\0';
    return p + len + 1;
}

int lc_answer_verify(const char *header, const lc_keyring *ring, const char *method,
                     const char *target, int status, const char *body, size_t len,
                     const char *nonce, char *why, size_t whylen)
{
    static const char b64u[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char kid[33], t[21], sig_text[87];
    if (!header || !*header)
        return why_(why, whylen, "the answer is not signed");
    const char *p = quoted(header, "kid", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                          "0123456789._-", kid, sizeof kid);
    if (p && strncmp(p, ", ", 2) == 0)
        p = quoted(p + 2, "t", "0123456789", t, sizeof t);
    else
        p = NULL;
    if (p && strncmp(p, ", ", 2) == 0)
        p = quoted(p + 2, "sig", b64u, sig_text, sizeof sig_text);
    else
        p = NULL;
    if (!p || *p || strlen(sig_text) != 86)
        return why_(why, whylen, "malformed signature");
    const lc_key *key = find_key(ring, kid);
    if (!key)
        return why_(why, whylen, "the answer is signed by a key that is not pinned");
    unsigned char sig[64], digest[crypto_hash_sha256_BYTES];
    if (lc_b64u_decode(sig_text, 86, sig, sizeof sig) != 64)
        return why_(why, whylen, "malformed signature");
    crypto_hash_sha256(digest, (const unsigned char *)body, len);
    char digest_text[48];
    lc_b64u_encode(digest, sizeof digest, digest_text);
    int n = snprintf(NULL, 0, "%s %s\n%d\n%s\n%s\n%s", method, target, status, t, digest_text,
                     nonce);
    char *text = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (!text)
        return why_(why, whylen, "out of memory");
    snprintf(text, (size_t)n + 1, "%s %s\n%d\n%s\n%s\n%s", method, target, status, t,
             digest_text, nonce);
    int bad = crypto_sign_verify_detached(sig, (const unsigned char *)text, (size_t)n, key->key);
    free(text);
    return bad ? why_(why, whylen, "the answer's signature does not verify") : 0;
}
