/* The local activation, STATE_DIR/PRODUCT.json in the format every SDK shares
 * (client_sdk/conformance/DRIVER.md). Reading never trusts the file; writing
 * produces the Python SDK's exact bytes (sorted keys, indent 1, ASCII). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "internal.h"

#define FORMAT "licclient-state/1"

static const char *const REFUSALS[] = {"LICENSE_SUSPENDED", "LICENSE_REVOKED", "LICENSE_EXPIRED"};

void lc_state_clear(lc_state *st)
{
    free(st->product);
    free(st->installation_id);
    free(st->server);
    free(st->activation_id);
    free(st->activation_token);
    free(st->certificate);
    memset(st, 0, sizeof *st);
}

static int fail(char *why, size_t whylen, const char *text)
{
    lc_copy(why, whylen, text);
    return -1;
}

int lc_state_decode(const char *raw, size_t len, lc_state *st, char *why, size_t whylen)
{
    memset(st, 0, sizeof *st);
    if (len > LC_MAX_STATE)
        return fail(why, whylen, "too large");
    cJSON *data = lc_json_parse(raw, len);
    if (!data)
        return fail(why, whylen, "not JSON");
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(data, "format");
    int rc = -1;
    if (!cJSON_IsObject(data) || !cJSON_IsString(format) || strcmp(format->valuestring, FORMAT)) {
        fail(why, whylen, "not a licclient state");
        goto out;
    }
    static const char *const names[] = {"product",       "installation_id",  "server",
                                        "activation_id", "activation_token", "certificate"};
    char **slots[] = {&st->product,       &st->installation_id,  &st->server,
                      &st->activation_id, &st->activation_token, &st->certificate};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, names[i]);
        if (!cJSON_IsString(v) || !v->valuestring[0]) {
            snprintf(why, whylen, "'%s' missing or not a string", names[i]);
            goto out;
        }
        if (!(*slots[i] = lc_strdup(v->valuestring))) {
            fail(why, whylen, "out of memory");
            goto out;
        }
    }
    const cJSON *seen = cJSON_GetObjectItemCaseSensitive(data, "last_seen");
    if (!cJSON_IsNumber(seen) || seen->valuedouble != floor(seen->valuedouble) ||
        fabs(seen->valuedouble) > 9007199254740992.0) {
        fail(why, whylen, "'last_seen' missing or not an integer");
        goto out;
    }
    st->last_seen = (int64_t)seen->valuedouble;
    const cJSON *refusal = cJSON_GetObjectItemCaseSensitive(data, "refusal");
    if (cJSON_IsString(refusal)) {
        for (size_t i = 0; i < 3; i++)
            if (strcmp(refusal->valuestring, REFUSALS[i]) == 0)
                lc_copy(st->refusal, sizeof st->refusal, REFUSALS[i]);
        if (!st->refusal[0]) {
            fail(why, whylen, "'refusal' is not a known code");
            goto out;
        }
    } else if (refusal && !cJSON_IsNull(refusal)) {
        fail(why, whylen, "'refusal' is not a known code");
        goto out;
    }
    rc = 0;
out:
    cJSON_Delete(data);
    if (rc)
        lc_state_clear(st);
    return rc;
}

/* A growing buffer for the encoder. */
typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 1024) + n;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(buf *b, const char *s) { put(b, s, strlen(s)); }

/* A JSON string as Python's json.dumps writes it (ensure_ascii). */
static void put_string(buf *b, const char *s)
{
    char tmp[32];
    puts_(b, "\"");
    const unsigned char *u = (const unsigned char *)s;
    while (*u) {
        unsigned long cp = *u;
        int extra = cp < 0x80 ? 0 : cp < 0xE0 ? 1 : cp < 0xF0 ? 2 : 3;
        if (extra)
            cp &= 0x3F >> extra;
        int k = 1;
        for (; k <= extra && (u[k] & 0xC0) == 0x80; k++)
            cp = (cp << 6) | (u[k] & 0x3F);
        if (k <= extra)
            cp = 0xFFFD; /* not UTF-8 (state strings come from JSON, so only a caller's bug) */
        u += k;
        if (cp == '"' || cp == '\\') {
            tmp[0] = '\\', tmp[1] = (char)cp, tmp[2] = 0;
        } else if (cp == '\n' || cp == '\r' || cp == '\t' || cp == '\b' || cp == '\f') {
            tmp[0] = '\\';
            tmp[1] = cp == '\n' ? 'n' : cp == '\r' ? 'r' : cp == '\t' ? 't' : cp == '\b' ? 'b' : 'f';
            tmp[2] = 0;
        } else if (cp < 0x20 || (cp > 0x7F && cp < 0x10000)) {
            snprintf(tmp, sizeof tmp, "\\u%04lx", cp);
        } else if (cp >= 0x10000) {
            cp -= 0x10000;
            snprintf(tmp, sizeof tmp, "\\u%04lx\\u%04lx", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
        } else {
            tmp[0] = (char)cp, tmp[1] = 0;
        }
        puts_(b, tmp);
    }
    puts_(b, "\"");
}

static void field(buf *b, const char *name, const char *value, int last)
{
    puts_(b, " \"");
    puts_(b, name);
    puts_(b, "\": ");
    if (value)
        put_string(b, value);
    else
        puts_(b, "null");
    puts_(b, last ? "\n" : ",\n");
}

char *lc_state_encode(const lc_state *st, size_t *len)
{
    buf b = {0};
    char seen[32];
    snprintf(seen, sizeof seen, "%lld", (long long)st->last_seen);
    puts_(&b, "{\n");
    field(&b, "activation_id", st->activation_id, 0);
    field(&b, "activation_token", st->activation_token, 0);
    field(&b, "certificate", st->certificate, 0);
    field(&b, "format", FORMAT, 0);
    field(&b, "installation_id", st->installation_id, 0);
    puts_(&b, " \"last_seen\": ");
    puts_(&b, seen);
    puts_(&b, ",\n");
    field(&b, "product", st->product, 0);
    field(&b, "refusal", st->refusal[0] ? st->refusal : NULL, 0);
    field(&b, "server", st->server, 1);
    puts_(&b, "}\n");
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}
