/* Updates (API.md "Updates"): POST /api/v1/updates (a signed answer, like
 * every other call), the update it offers with its UP1 manifest verified by
 * the pinned keys and agreeing with it, and a download that resumes a partial
 * file (HTTP Range into PATH.part) and renames it to PATH only once its size
 * and SHA-256 are the manifest's: a wrong file never lands under its name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <sodium.h>

#include "internal.h"

#define MAX_PROBLEM (64 * 1024)
#define MAX_SIZE 9007199254740992.0 /* 2^53: what a JSON number holds exactly */

/* lc_update as handed out, with what it points to and what a download needs. */
typedef struct {
    lc_update pub; /* first: lc_update_free gets &pub */
    char *notes, *url, *manifest;
    int timeout_ms, retries;
} update_box;

void lc_update_free(lc_update *u)
{
    update_box *b = (update_box *)u;
    if (!b)
        return;
    free(b->notes), free(b->url), free(b->manifest);
    free(b);
}

static int bad(lc_error *err, const char *why)
{
    lc_fail(err, "CERTIFICATE_INVALID", 200, "The update did not verify (%s); nothing was kept.",
            why);
    return -1;
}

static const char *text_of(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The value of an integer field 0..2^53, or -1. */
static double count_of(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > MAX_SIZE ||
        v->valuedouble != (double)(int64_t)v->valuedouble)
        return -1;
    return v->valuedouble;
}

/* A claim that is a string of at most cap-1 bytes, or null ("" then). */
static int optional_text(const cJSON *claims, const char *name, char *out, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, name);
    out[0] = '\0';
    if (cJSON_IsNull(v) || !v)
        return 0;
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= cap)
        return -1;
    lc_copy(out, cap, v->valuestring);
    return 0;
}

static int hex64(const char *s)
{
    return s && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* Compares the verified claims with the answer's fields; 0 or err filled. */
static int agree(const cJSON *claims, const cJSON *answer, const char *product, lc_error *err)
{
    const char *prod = text_of(claims, "prod"), *ver = text_of(claims, "ver");
    const char *sha = text_of(claims, "sha256"), *version = text_of(answer, "version");
    const char *ch = text_of(answer, "channel");
    if (!prod || strcmp(prod, product) != 0)
        return bad(err, "the manifest is for another product");
    if (!ver || !version || strcmp(ver, version) != 0)
        return bad(err, "the manifest names another version");
    if (ch && (!text_of(claims, "ch") || strcmp(ch, text_of(claims, "ch")) != 0))
        return bad(err, "the manifest names another channel");
    double size = count_of(claims, "size");
    if (!hex64(sha) || size < 0 || !text_of(answer, "sha256") ||
        strcmp(sha, text_of(answer, "sha256")) != 0 || count_of(answer, "size") != size)
        return bad(err, "the manifest names another file");
    return 0;
}

int lc_update_from_answer(const lc_keyring *ring, const char *product, const cJSON *update,
                          int timeout_ms, int retries, lc_update **out, lc_error *err)
{
    *out = NULL;
    char why[128];
    cJSON *claims = lc_token_verify(text_of(update, "manifest"), "UP1", ring, why, sizeof why);
    if (!claims) {
        char reason[160];
        snprintf(reason, sizeof reason, "manifest: %s", why);
        return bad(err, reason);
    }
    update_box *b = calloc(1, sizeof *b);
    int rc = agree(claims, update, product, err);
    const char *url = text_of(update, "download_url"), *notes = text_of(update, "notes");
    double rel = count_of(claims, "rel");
    if (rc == 0 && (!b || optional_text(claims, "ver", b->pub.version, sizeof b->pub.version) ||
                    optional_text(claims, "ch", b->pub.channel, sizeof b->pub.channel) ||
                    optional_text(claims, "plat", b->pub.platform, sizeof b->pub.platform) ||
                    optional_text(claims, "arch", b->pub.arch, sizeof b->pub.arch)))
        rc = bad(err, "the manifest's fields are unusable");
    if (rc == 0 && (!url || (strncmp(url, "https://", 8) && strncmp(url, "http://", 7)))) {
        lc_fail(err, "NETWORK_ERROR", 200, "The server's update answer has no usable download_url.");
        rc = -1;
    }
    if (rc == 0) {
        lc_copy(b->pub.sha256, sizeof b->pub.sha256, text_of(claims, "sha256"));
        b->pub.size = (int64_t)count_of(claims, "size");
        b->pub.released_at = rel < 0 ? 0 : (int64_t)rel;
        b->url = lc_strdup(url);
        b->manifest = lc_strdup(text_of(update, "manifest"));
        b->notes = notes ? lc_strdup(notes) : NULL;
        b->timeout_ms = timeout_ms;
        b->retries = retries;
        b->pub.download_url = b->url;
        b->pub.manifest = b->manifest;
        b->pub.notes = b->notes;
        if (!b->url || !b->manifest || (notes && !b->notes)) {
            lc_fail(err, "NETWORK_ERROR", 0, "out of memory");
            rc = -1;
        }
    }
    cJSON_Delete(claims);
    if (rc == 0)
        *out = &b->pub;
    else
        lc_update_free(b ? &b->pub : NULL);
    return rc;
}

static char *request_body(const lc_state *s, const char *current, const char *channel,
                          const char *platform, const char *arch)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "activation_id", s->activation_id);
    cJSON_AddStringToObject(body, "activation_token", s->activation_token);
    cJSON_AddStringToObject(body, "current_version", current);
    cJSON_AddStringToObject(body, "channel", channel ? channel : "stable");
    if (platform)
        cJSON_AddStringToObject(body, "platform", platform);
    if (arch)
        cJSON_AddStringToObject(body, "arch", arch);
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    return text;
}

int lc_check_update(lc_client *c, const char *current_version, const char *channel,
                    const char *platform, const char *arch, lc_update **out, lc_error *err)
{
    lc_state s;
    if (out)
        *out = NULL;
    if (!c || !current_version || !out) {
        lc_fail(err, "INVALID_ARGUMENT", 0, "client, current_version and out are required");
        return -1;
    }
    if (lc_stored(c, &s, err) != 0)
        return -1;
    char *text = request_body(&s, current_version, channel, platform, arch);
    lc_state_clear(&s);
    cJSON *answer = NULL;
    int rc = -1;
    if (!text)
        lc_fail(err, "NETWORK_ERROR", 0, "out of memory");
    else if (lc_http_request(&c->http, "POST", "/api/v1/updates", text, NULL, &answer, err) == 0) {
        const cJSON *update = cJSON_GetObjectItemCaseSensitive(answer, "update");
        if (cJSON_IsNull(update))
            rc = 0;
        else if (cJSON_IsObject(update))
            rc = lc_update_from_answer(&c->keys, c->product, update,
                                       c->http.timeout_ms > 30000 ? c->http.timeout_ms : 30000,
                                       c->http.retries, out, err);
        else
            lc_fail(err, "NETWORK_ERROR", 200, "The server's update answer has no \"update\".");
    }
    free(text);
    cJSON_Delete(answer);
    return rc;
}

/* ---- the download ---- */

typedef struct {
    const update_box *u;
    CURL *curl;
    const char *part;
    FILE *f;
    int64_t have, written;
    long status;
    int started, too_long, unwritable;
    char *problem;
    size_t problem_len;
} transfer;

/* The first bytes decide: 206 appends to the .part, 200 starts it again, any
 * other status is an error whose problem+json is kept. */
static size_t on_data(char *data, size_t size, size_t n, void *ctx)
{
    transfer *t = ctx;
    size_t len = size * n;
    if (!t->started) {
        t->started = 1;
        curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->status);
        if (t->status == 200 || t->status == 206) {
            int append = t->status == 206 && t->have > 0;
            t->written = append ? t->have : 0;
            t->f = lc_fopen(t->part, append ? "ab" : "wb");
            if (!t->f) {
                t->unwritable = 1;
                return 0;
            }
        }
    }
    if (!t->f) {
        if (t->problem_len + len > MAX_PROBLEM)
            return len;
        char *p = realloc(t->problem, t->problem_len + len + 1);
        if (!p)
            return 0;
        memcpy(p + t->problem_len, data, len);
        t->problem = p;
        t->problem_len += len;
        p[t->problem_len] = '\0';
        return len;
    }
    if (t->written + (int64_t)len > t->u->pub.size) {
        t->too_long = 1; /* more than the manifest says: refused */
        return 0;
    }
    if (fwrite(data, 1, len, t->f) != len) {
        t->unwritable = 1;
        return 0;
    }
    t->written += (int64_t)len;
    return len;
}

static void fetch_options(CURL *curl, const update_box *u, transfer *t, const char *range)
{
    long seconds = u->timeout_ms / 1000 > 0 ? u->timeout_ms / 1000 : 1;
    curl_easy_setopt(curl, CURLOPT_URL, u->url);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "licclient/" LC_VERSION " C");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)u->timeout_ms);
    /* a large file may take long: give up only when no byte came for timeout_ms */
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, seconds);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L); /* to a pre-signed URL */
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#endif
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, t);
    if (range)
        curl_easy_setopt(curl, CURLOPT_RANGE, range);
}

static int empty_file(const char *path)
{
    FILE *f = lc_fopen(path, "wb");
    return f && fclose(f) == 0 ? 0 : -1;
}

/* One attempt: 0 when the .part holds size bytes; 1 when it is worth another
 * try (err filled); -1 when final (err filled; a wrong file is removed). */
static int fetch_once(const update_box *u, const char *part, lc_error *err)
{
    transfer t = {.u = u, .part = part};
    int known = lc_file_size(part, &t.have);
    if (known < 0) {
        lc_fail(err, "STATE_ERROR", 0, "Could not read %s.", part);
        return -1;
    }
    if (t.have > u->pub.size) {
        lc_remove_file(NULL, part);
        t.have = 0;
    }
    if (t.have == u->pub.size && known == 0)
        return 0;
    char range[32];
    snprintf(range, sizeof range, "%lld-", (long long)t.have);
    t.curl = curl_easy_init();
    if (!t.curl) {
        lc_fail(err, "NETWORK_ERROR", 0, "Could not start the download.");
        return -1;
    }
    fetch_options(t.curl, u, &t, t.have > 0 ? range : NULL);
    CURLcode rc = curl_easy_perform(t.curl);
    if (!t.started)
        curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &t.status);
    curl_easy_cleanup(t.curl);
    int close_failed = t.f && fclose(t.f) != 0;
    int result = 1;
    if (t.too_long) {
        lc_remove_file(NULL, part);
        result = bad(err, "the file is larger than the manifest says");
    } else if (t.unwritable || close_failed) {
        lc_fail(err, "STATE_ERROR", 0, "Could not write %s.", part);
        result = -1;
    } else if (t.status == 416) { /* nothing beyond what we have: start again */
        lc_remove_file(NULL, part);
        lc_fail(err, "NETWORK_ERROR", 416, "The download could not resume.");
    } else if (rc == CURLE_OK && t.status != 200 && t.status != 206) {
        lc_http_error_for((int)t.status, t.problem, t.problem_len, err);
        result = t.status >= 500 || t.status == 429 ? 1 : -1;
    } else if (rc != CURLE_OK) {
        lc_fail(err, "NETWORK_ERROR", 0, "The download was interrupted: %s",
                curl_easy_strerror(rc));
    } else if (t.written < u->pub.size) {
        lc_fail(err, "NETWORK_ERROR", (int)t.status, "The download stopped after %lld bytes.",
                (long long)t.written);
    } else if (!t.f && empty_file(part) != 0) { /* an empty file: no byte came */
        lc_fail(err, "STATE_ERROR", 0, "Could not write %s.", part);
        result = -1;
    } else {
        result = 0;
    }
    free(t.problem);
    return result;
}

/* 0 when the file at path has this size and SHA-256 (hex). */
static int file_matches(const char *path, int64_t size, const char *sha256)
{
    FILE *f = lc_fopen(path, "rb");
    if (!f)
        return -1;
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    unsigned char buf[65536], digest[crypto_hash_sha256_BYTES];
    size_t n;
    int64_t total = 0;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        crypto_hash_sha256_update(&st, buf, n);
        total += (int64_t)n;
    }
    int failed = ferror(f);
    fclose(f);
    crypto_hash_sha256_final(&st, digest);
    char hex[2 * sizeof digest + 1];
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    return !failed && total == size && strcmp(hex, sha256) == 0 ? 0 : -1;
}

int lc_update_download(const lc_update *pub, const char *path, lc_error *err)
{
    const update_box *u = (const update_box *)pub;
    if (!u || !path || !path[0]) {
        lc_fail(err, "INVALID_ARGUMENT", 0, "update and path are required");
        return -1;
    }
    char *part = malloc(strlen(path) + 6);
    if (!part) {
        lc_fail(err, "STATE_ERROR", 0, "out of memory");
        return -1;
    }
    sprintf(part, "%s.part", path);
    int rc = 1;
    for (int attempt = 0; rc > 0 && attempt <= u->retries; attempt++)
        rc = fetch_once(u, part, err);
    if (rc == 0 && file_matches(part, pub->size, pub->sha256) != 0) {
        lc_remove_file(NULL, part);
        rc = bad(err, "the file's size or SHA-256 is not the manifest's");
    }
    if (rc == 0 && lc_rename(part, path) != 0) {
        lc_fail(err, "STATE_ERROR", 0, "Could not name the downloaded file %s.", path);
        rc = -1;
    }
    free(part);
    return rc == 0 ? 0 : -1;
}
