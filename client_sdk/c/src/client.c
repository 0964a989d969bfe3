/* The public API: options, offline status, activation, check-in, deactivation.
 * The behaviour and codes are the Python SDK's (licclient/_client.py). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <sodium.h>

#include "internal.h"

#define CLOCK_TOLERANCE 3600
#define SEEN_STEP 60 /* status records the clock at most this often (seconds) */


static int product_ok(const char *p)
{
    size_t n = p ? strlen(p) : 0;
    if (n < 1 || n > 64 || !((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z') ||
                             (p[0] >= '0' && p[0] <= '9')))
        return 0;
    return strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static int installation_id_ok(const char *p)
{
    size_t n = strlen(p);
    return n >= 8 && n <= 128 &&
           strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") == n;
}

static int url_ok(const char *u)
{
    const char *rest = strncmp(u, "http://", 7) == 0    ? u + 7
                       : strncmp(u, "https://", 8) == 0 ? u + 8
                                                        : NULL;
    return rest && *rest && *rest != '/';
}

const char *lc_version(void) { return LC_VERSION; }

const char *lc_installation_id(const lc_client *c) { return c ? c->installation_id : NULL; }

void lc_forget(lc_client *c)
{
    free(c->raw);
    c->raw = NULL;
    c->raw_len = 0;
    lc_state_clear(&c->state);
    lc_cert_clear(&c->cert);
    c->features_visible = 0;
}

void lc_client_free(lc_client *c)
{
    if (!c)
        return;
    lc_forget(c);
    free(c->server);
    free(c->product);
    free(c->state_dir);
    free(c->state_path);
    sodium_memzero(c, sizeof *c);
    free(c);
}

static int init_libraries(void)
{
    static int done;
    if (!done) {
        if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return -1;
        done = 1;
    }
    return 0;
}

static int bad_options(const lc_options *o, lc_error *err)
{
    if (!o || !o->server_url || !url_ok(o->server_url)) {
        lc_fail(err, "INVALID_ARGUMENT", 0, "server_url must be an http:// or https:// URL");
        return 1;
    }
    if (!product_ok(o->product)) {
        lc_fail(err, "INVALID_ARGUMENT", 0,
                "product must be a product code like 'cad-pro' (letters, digits, . _ -)");
        return 1;
    }
    if (o->installation_id && !installation_id_ok(o->installation_id)) {
        lc_fail(err, "INVALID_ARGUMENT", 0,
                "installation_id: 8 to 128 characters of A-Z a-z 0-9 . _ : -");
        return 1;
    }
    if (o->timeout_ms < 0) {
        lc_fail(err, "INVALID_ARGUMENT", 0, "timeout_ms must be 0 (the default) or more");
        return 1;
    }
    return 0;
}

int lc_client_new(const lc_options *o, lc_client **out, lc_error *err)
{
    if (out)
        *out = NULL;
    if (!out || bad_options(o, err))
        return out ? -1 : (lc_fail(err, "INVALID_ARGUMENT", 0, "out is NULL"), -1);
    if (init_libraries() != 0) {
        lc_fail(err, "STATE_ERROR", 0, "libsodium or libcurl could not be initialised");
        return -1;
    }
    lc_client *c = calloc(1, sizeof *c);
    if (!c) {
        lc_fail(err, "STATE_ERROR", 0, "out of memory");
        return -1;
    }
    if (lc_keys_parse(o->public_keys, &c->keys) != 0) {
        lc_fail(err, "INVALID_ARGUMENT", 0,
                "public_keys must be \"kid=base64url[,kid=base64url...]\" of 32-byte Ed25519 keys");
        goto fail;
    }
    c->server = lc_strdup(o->server_url);
    c->product = lc_strdup(o->product);
    c->state_dir = o->state_dir ? lc_strdup(o->state_dir) : lc_default_state_dir();
    if (!c->server || !c->product || !c->state_dir ||
        !(c->state_path = malloc(strlen(c->state_dir) + strlen(c->product) + 7))) {
        lc_fail(err, "STATE_ERROR", 0, "no state folder (HOME is not set?) or out of memory");
        goto fail;
    }
    for (size_t n = strlen(c->server); n > 0 && c->server[n - 1] == '/'; n--)
        c->server[n - 1] = '\0';
    char name[80];
    snprintf(name, sizeof name, "%s.json", c->product);
    free(c->state_path);
    c->state_path = lc_join(c->state_dir, name);
    if (o->installation_id) {
        lc_copy(c->installation_id, sizeof c->installation_id, o->installation_id);
    } else if (lc_installation_id_from_machine(c->product, c->state_dir, c->installation_id)) {
        lc_fail(err, "STATE_ERROR", 0,
                "This machine has no identity to derive an installation ID from, and %s cannot "
                "be written; pass installation_id",
                c->state_dir);
        goto fail;
    }
    c->clock = o->clock ? o->clock : lc_system_clock;
    c->clock_ctx = o->clock_ctx;
    c->http.base_url = c->server;
    c->http.timeout_ms = o->timeout_ms ? o->timeout_ms : 10000;
    c->http.retries = 3;
    c->http.keys = &c->keys;
    *out = c;
    return 0;
fail:
    lc_client_free(c);
    return -1;
}

/* ---- offline ------------------------------------------------------------- */

static void set_status(lc_status *st, const char *code)
{
    if (!st)
        return;
    memset(st, 0, sizeof *st);
    lc_copy(st->code, sizeof st->code, code);
}

/* Reads and verifies the stored activation into the cache. Returns NULL when
 * it is usable, else the status code saying why not. */
static const char *load(lc_client *c)
{
    char *raw;
    size_t len;
    int rc = lc_read_file(c->state_path, LC_MAX_STATE, &raw, &len);
    if (rc != 0) {
        lc_forget(c);
        return rc > 0 ? "NOT_ACTIVATED" : "CERTIFICATE_INVALID";
    }
    if (c->raw && c->raw_len == len && memcmp(c->raw, raw, len) == 0) {
        free(raw);
        return NULL;
    }
    lc_forget(c);
    char why[128];
    lc_state s;
    lc_cert cert;
    if (lc_state_decode(raw, len, &s, why, sizeof why) != 0) {
        free(raw);
        return "CERTIFICATE_INVALID";
    }
    if (lc_cert_parse(s.certificate, &c->keys, &cert, why, sizeof why) != 0) {
        lc_state_clear(&s);
        free(raw);
        return "CERTIFICATE_INVALID";
    }
    if (strcmp(s.product, c->product) || strcmp(cert.prod, c->product) ||
        strcmp(s.installation_id, c->installation_id) ||
        strcmp(cert.iid, c->installation_id) || strcmp(cert.aid, s.activation_id)) {
        lc_cert_clear(&cert);
        lc_state_clear(&s);
        free(raw);
        return "CERTIFICATE_INVALID";
    }
    c->raw = raw, c->raw_len = len, c->state = s, c->cert = cert;
    return NULL;
}

static const char *evaluate(const lc_state *s, const lc_cert *cert, int64_t now)
{
    int64_t seen = s->last_seen > cert->iat ? s->last_seen : cert->iat;
    if (now < seen - CLOCK_TOLERANCE)
        return "CLOCK_TAMPERED";
    if (!strcmp(s->refusal, "LICENSE_REVOKED") || !strcmp(s->refusal, "LICENSE_SUSPENDED"))
        return s->refusal;
    if (!strcmp(s->refusal, "LICENSE_EXPIRED") || (cert->has_exp && now >= cert->exp))
        return "LICENSE_EXPIRED";
    if (now >= cert->until)
        return "CHECKIN_REQUIRED";
    return "VALID";
}

/* Records the clock (best effort), unless another process changed the file. */
static void remember(lc_client *c, int64_t now)
{
    lc_state s = c->state;
    s.last_seen = now;
    size_t len;
    char *data = lc_state_encode(&s, &len);
    char *current;
    size_t current_len;
    if (!data)
        return;
    if (lc_read_file(c->state_path, LC_MAX_STATE, &current, &current_len) == 0) {
        int same = current_len == c->raw_len && memcmp(current, c->raw, current_len) == 0;
        free(current);
        if (same && lc_write_atomic(c->state_dir, c->state_path, data, len) == 0) {
            free(c->raw);
            c->raw = data, c->raw_len = len, c->state.last_seen = now;
            return;
        }
    }
    free(data);
}

void lc_status_get(lc_client *c, lc_status *st)
{
    if (!c) {
        set_status(st, "NOT_ACTIVATED");
        return;
    }
    int64_t now = c->clock(c->clock_ctx);
    const char *why = load(c);
    if (why) {
        set_status(st, why);
        return;
    }
    const char *code = evaluate(&c->state, &c->cert, now);
    c->features_visible = 1;
    if (st) {
        set_status(st, code);
        st->valid = strcmp(code, "VALID") == 0;
        lc_copy(st->license_id, sizeof st->license_id, c->cert.lid);
        st->expires_at = c->cert.has_exp ? c->cert.exp : 0;
        st->offline_until = c->cert.until;
    }
    if (strcmp(code, "CLOCK_TAMPERED") != 0 && now >= c->state.last_seen + SEEN_STEP)
        remember(c, now);
}

int lc_has_feature(lc_client *c, const char *name)
{
    lc_status st;
    lc_status_get(c, &st);
    if (!st.valid || !name)
        return 0;
    for (int i = 0; i < c->cert.nfeatures; i++)
        if (strcmp(c->cert.features[i], name) == 0)
            return 1;
    return 0;
}

const char *lc_feature_at(const lc_client *c, size_t index)
{
    if (!c || !c->features_visible || index >= (size_t)c->cert.nfeatures)
        return NULL;
    return c->cert.features[index];
}
