/* HTTP with libcurl: JSON in and out, a timeout on every request, retries
 * where they are safe. Every client-API call is idempotent for one
 * installation, so a request whose answer was lost may be sent again.
 * Retried: connection errors and timeouts, 5xx and 429, with capped
 * exponential backoff and jitter, or after the server's Retry-After when it
 * is at most 60 s (a longer one fails at once). Other 4xx are final.
 * Redirects are not followed.
 *
 * Every attempt sends a fresh Licserver-Nonce, and every answer must carry a
 * Licserver-Answer-Signature by a pinned key over this request (method, path
 * as sent, nonce) and this answer (status, body): one that does not fails
 * with CERTIFICATE_INVALID at once, before the caller sees anything of it.
 * Only an unsigned 429 or 5xx (a proxy's) goes on as usual, judged by its
 * status alone. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <sodium.h>

#include "internal.h"

#define MAX_RETRY_AFTER 60.0
#define BACKOFF_BASE 0.5
#define BACKOFF_CAP 8.0
#define MAX_RESPONSE (1024 * 1024)

typedef struct {
    char *body;
    size_t len;
    int too_large;
    char retry_after[128];
    char signature[256]; /* Licserver-Answer-Signature; "" when absent */
} reply;

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    reply *r = ctx;
    size_t add = size * n;
    if (r->len + add > MAX_RESPONSE) {
        r->too_large = 1;
        return 0;
    }
    char *p = realloc(r->body, r->len + add + 1);
    if (!p)
        return 0;
    memcpy(p + r->len, data, add);
    r->body = p;
    r->len += add;
    p[r->len] = '\0';
    return add;
}

/* The value of header `name` (lower case, with its colon) in the line, trimmed, into out. */
static void header_value(const char *data, size_t len, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name), i = 0;
    if (len <= n)
        return;
    while (i < n && tolower((unsigned char)data[i]) == name[i])
        i++;
    if (i != n)
        return;
    const char *v = data + n;
    size_t vlen = len - n;
    while (vlen && (*v == ' ' || *v == '\t'))
        v++, vlen--;
    while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
        vlen--;
    if (vlen >= cap)
        vlen = cap - 1;
    memcpy(out, v, vlen);
    out[vlen] = '\0';
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
    reply *r = ctx;
    size_t len = size * n;
    header_value(data, len, "retry-after:", r->retry_after, sizeof r->retry_after);
    header_value(data, len, "licserver-answer-signature:", r->signature, sizeof r->signature);
    return len;
}

double lc_parse_retry_after(const char *value, int64_t now)
{
    if (!value)
        return -1;
    while (isspace((unsigned char)*value))
        value++;
    size_t n = strlen(value);
    while (n && isspace((unsigned char)value[n - 1]))
        n--;
    if (n == 0)
        return -1;
    char text[128];
    lc_copy(text, n + 1 < sizeof text ? n + 1 : sizeof text, value);
    if (strspn(text, "0123456789") == strlen(text))
        return strlen(text) > 9 ? 1e9 : atof(text);
    time_t when = curl_getdate(text, NULL);
    if (when == (time_t)-1)
        return -1;
    double d = (double)((int64_t)when - now);
    return d > 0 ? d : 0;
}

double lc_backoff(int attempt)
{
    double step = BACKOFF_BASE;
    for (int i = 0; i < attempt && step < BACKOFF_CAP; i++)
        step *= 2;
    if (step > BACKOFF_CAP)
        step = BACKOFF_CAP;
    double jitter = (double)randombytes_uniform(1000001) / 1000000.0;
    return step / 2 + jitter * step / 2; /* half fixed, half random */
}

void lc_http_error_for(int status, const char *body, size_t len, lc_error *err)
{
    cJSON *problem = body ? cJSON_ParseWithLength(body, len) : NULL;
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(problem, "code");
    const cJSON *detail = cJSON_GetObjectItemCaseSensitive(problem, "detail");
    const char *d = cJSON_IsString(detail) ? detail->valuestring : NULL;
    if (status == 429)
        lc_fail(err, "RATE_LIMITED", status, "%s", d ? d : "Too many requests; try again later.");
    else if (status >= 500)
        lc_fail(err, "NETWORK_ERROR", status, "%s",
                d ? d : "The licence server is unavailable (HTTP 5xx).");
    else if (cJSON_IsString(code) && code->valuestring[0])
        lc_fail(err, code->valuestring, status, "%s",
                d ? d : "The licence server refused the request.");
    else
        lc_fail(err, "NETWORK_ERROR", status,
                "The server answered HTTP %d without an explanation: check the server URL, or a "
                "proxy in between.",
                status);
    cJSON_Delete(problem);
}

/* One attempt. Returns the CURLcode; fills status and the reply. */
static CURLcode once(const lc_http *h, const char *method, const char *url, const char *body,
                     const char *auth, const char *nonce, long *status, reply *r)
{
    CURL *curl = curl_easy_init();
    if (!curl)
        return CURLE_FAILED_INIT;
    struct curl_slist *headers = NULL;
    char auth_header[1024], nonce_header[64];
    headers = curl_slist_append(headers, "Accept: application/json");
    snprintf(nonce_header, sizeof nonce_header, "Licserver-Nonce: %s", nonce);
    headers = curl_slist_append(headers, nonce_header);
    if (body)
        headers = curl_slist_append(headers, "Content-Type: application/json");
    if (auth) {
        snprintf(auth_header, sizeof auth_header, "Authorization: %s", auth);
        headers = curl_slist_append(headers, auth_header);
    }
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "licclient/" LC_VERSION " C");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)h->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)h->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, r);
    if (body)
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    if (strcmp(method, "POST") != 0)
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    CURLcode rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return rc;
}

static int permanent(CURLcode rc)
{
    return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
           rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT ||
           rc == CURLE_WRITE_ERROR || rc == CURLE_OUT_OF_MEMORY;
}

/* The JSON object of a 2xx answer, or NULL. */
static cJSON *json_object(const reply *r)
{
    cJSON *v = r->body ? lc_json_parse(r->body, r->len) : NULL;
    if (v && !cJSON_IsObject(v)) {
        cJSON_Delete(v);
        v = NULL;
    }
    return v;
}

/* 1: signed for this request; 0: an unsigned 429/5xx (judged by its status);
 * -1: refused, err filled with CERTIFICATE_INVALID. */
static int check_signature(const lc_http *h, const char *method, const char *url,
                           const char *nonce, long status, const reply *r, lc_error *err)
{
    if (!h->keys)
        return 1;
    if (!r->signature[0] && (status == 429 || status >= 500))
        return 0;
    const char *scheme_end = strstr(url, "://");
    const char *target = scheme_end ? strchr(scheme_end + 3, '/') : NULL;
    char why[128];
    if (lc_answer_verify(r->signature, h->keys, method, target ? target : "/", (int)status,
                         r->body ? r->body : "", r->len, nonce, why, sizeof why) == 0)
        return 1;
    lc_fail(err, "CERTIFICATE_INVALID", (int)status,
            "The answer from %s (HTTP %ld) is not the licence server's: %s. Nothing was "
            "changed; check the server URL, or a proxy in between.",
            h->base_url, status, why);
    return -1;
}

int lc_http_request(const lc_http *h, const char *method, const char *path, const char *body,
                    const char *auth, cJSON **json, lc_error *err)
{
    char *url = malloc(strlen(h->base_url) + strlen(path) + 1);
    if (!url) {
        lc_fail(err, "NETWORK_ERROR", 0, "out of memory");
        return -1;
    }
    strcpy(url, h->base_url);
    strcat(url, path);
    int result = -1;
    for (int attempt = 0; attempt <= h->retries; attempt++) {
        int last = attempt == h->retries;
        reply r = {0};
        long status = 0;
        unsigned char fresh[18];
        char nonce[32];
        randombytes_buf(fresh, sizeof fresh);
        lc_b64u_encode(fresh, sizeof fresh, nonce); /* 24 characters of A-Za-z0-9_- */
        CURLcode rc = once(h, method, url, body, auth, nonce, &status, &r);
        double delay;
        int signed_ = rc == CURLE_OK ? check_signature(h, method, url, nonce, status, &r, err) : 1;
        if (signed_ < 0) {
            free(r.body);
            break;
        }
        if (rc != CURLE_OK) {
            lc_fail(err, "NETWORK_ERROR", 0, "Could not reach the licence server at %s: %s",
                    h->base_url, r.too_large ? "the answer is too large" : curl_easy_strerror(rc));
            free(r.body);
            if (permanent(rc) || last)
                break;
            delay = lc_backoff(attempt);
        } else if (status >= 200 && status < 300) {
            *json = json_object(&r);
            free(r.body);
            if (*json) {
                result = 0;
            } else {
                lc_fail(err, "NETWORK_ERROR", (int)status,
                        "The answer from %s (HTTP %ld) is not a licence server's: check the "
                        "server URL, or a proxy in between.",
                        h->base_url, status);
            }
            break;
        } else if (status >= 300 && status < 400) {
            free(r.body);
            lc_fail(err, "NETWORK_ERROR", (int)status,
                    "The server at %s redirects (HTTP %ld): configure the URL it redirects to.",
                    h->base_url, status);
            break;
        } else {
            double after = lc_parse_retry_after(r.retry_after[0] ? r.retry_after : NULL,
                                                (int64_t)time(NULL));
            /* an unsigned 429/5xx is judged by its status alone */
            lc_http_error_for((int)status, signed_ ? r.body : NULL, signed_ ? r.len : 0, err);
            free(r.body);
            if ((status != 429 && status < 500) || after > MAX_RETRY_AFTER || last)
                break;
            delay = after < 0 ? lc_backoff(attempt)
                              : after + (double)randombytes_uniform(1001) / 1000.0 *
                                            (0.1 * after + 0.1 < 1.0 ? 0.1 * after + 0.1 : 1.0);
        }
        (h->sleep_ms ? h->sleep_ms : lc_sleep_ms)((long)(delay * 1000));
    }
    free(url);
    return result;
}
