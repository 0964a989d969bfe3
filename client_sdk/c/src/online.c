/* Activation, check-in and deactivation: the requests, and what each answer
 * does to the stored activation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "internal.h"

static int fail_status(lc_client *c, lc_status *st)
{
    lc_status_get(c, st);
    return -1;
}

/* The server's certificate, verified, for this product, installation and activation. */
static int accept_cert(lc_client *c, const cJSON *answer, const char *aid, lc_cert *cert,
                       lc_error *err)
{
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(answer, "certificate");
    char why[128] = "no certificate";
    if (cJSON_IsString(text) &&
        lc_cert_parse(text->valuestring, &c->keys, cert, why, sizeof why) == 0) {
        if (strcmp(cert->prod, c->product) == 0 && strcmp(cert->iid, c->installation_id) == 0 &&
            strcmp(cert->aid, aid) == 0)
            return 0;
        lc_copy(why, sizeof why, "it is for another product, installation or activation");
        lc_cert_clear(cert);
    }
    lc_fail(err, "CERTIFICATE_INVALID", 200,
            "The server's certificate did not verify (%s); nothing was stored.", why);
    return -1;
}

static int save(lc_client *c, const lc_state *s, lc_error *err)
{
    size_t len;
    char *data = lc_state_encode(s, &len);
    int rc = data && lc_mkdirs(c->state_dir) == 0 &&
                     lc_write_atomic(c->state_dir, c->state_path, data, len) == 0
                 ? 0
                 : -1;
    free(data);
    lc_forget(c);
    if (rc)
        lc_fail(err, "STATE_ERROR", 0, "Could not store the activation in %s.", c->state_dir);
    return rc;
}

int lc_accept_activation(lc_client *c, const cJSON *answer, lc_error *err)
{
    const cJSON *aid = cJSON_GetObjectItemCaseSensitive(answer, "activation_id");
    const cJSON *token = cJSON_GetObjectItemCaseSensitive(answer, "activation_token");
    if (!cJSON_IsString(aid) || !aid->valuestring[0] || !cJSON_IsString(token) ||
        !token->valuestring[0]) {
        lc_fail(err, "CERTIFICATE_INVALID", 200,
                "The server's answer has no activation_id or activation_token; nothing was "
                "stored.");
        return -1;
    }
    lc_cert cert;
    if (accept_cert(c, answer, aid->valuestring, &cert, err) != 0)
        return -1;
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(answer, "certificate");
    lc_state s = {.product = c->product,
                  .installation_id = c->installation_id,
                  .server = c->server,
                  .activation_id = aid->valuestring,
                  .activation_token = token->valuestring,
                  .certificate = text->valuestring,
                  .last_seen = cert.iat};
    lc_cert_clear(&cert);
    return save(c, &s, err);
}

static char *client_json_body(lc_client *c, cJSON *creds)
{
    char os[256], host[256];
    lc_os_name(os, sizeof os);
    lc_hostname(host, sizeof host);
    cJSON *client = cJSON_AddObjectToObject(creds, "client");
    if (os[0])
        cJSON_AddStringToObject(client, "os", os);
    cJSON_AddStringToObject(client, "hostname", host);
    cJSON_AddStringToObject(creds, "installation_id", c->installation_id);
    cJSON_AddStringToObject(creds, "machine_name", host);
    char *body = cJSON_PrintUnformatted(creds);
    cJSON_Delete(creds);
    return body;
}

/* Frees a seat taken by an answer we cannot use (best effort, no retries). */
static void release_seat(lc_client *c, const cJSON *answer)
{
    const cJSON *aid = cJSON_GetObjectItemCaseSensitive(answer, "activation_id");
    const cJSON *token = cJSON_GetObjectItemCaseSensitive(answer, "activation_token");
    if (!cJSON_IsString(aid) || !cJSON_IsString(token))
        return;
    char *escaped = curl_easy_escape(NULL, aid->valuestring, 0);
    char path[512], auth[1024];
    cJSON *ignored = NULL;
    lc_error e;
    lc_http once = c->http;
    once.retries = 0;
    if (escaped && strlen(escaped) < 256 && strlen(token->valuestring) < 900) {
        snprintf(path, sizeof path, "/api/v1/activations/%s", escaped);
        snprintf(auth, sizeof auth, "Activation %s", token->valuestring);
        if (lc_http_request(&once, "DELETE", path, NULL, auth, &ignored, &e) == 0)
            cJSON_Delete(ignored);
    }
    curl_free(escaped);
}

static int activate(lc_client *c, cJSON *creds, lc_status *st, lc_error *err)
{
    char *body = client_json_body(c, creds);
    cJSON *answer = NULL;
    if (!body) {
        lc_fail(err, "INVALID_ARGUMENT", 0, "out of memory");
        return fail_status(c, st);
    }
    int rc = lc_http_request(&c->http, "POST", "/api/v1/activations", body, NULL, &answer, err);
    free(body);
    if (rc == 0) {
        rc = lc_accept_activation(c, answer, err);
        if (rc != 0 && err && strcmp(err->code, "CERTIFICATE_INVALID") == 0)
            release_seat(c, answer);
        cJSON_Delete(answer);
    }
    if (rc)
        return fail_status(c, st);
    lc_status_get(c, st);
    return 0;
}

static int given(const char *s) { return s && *s; }

int lc_activate_key(lc_client *c, const char *license_key, lc_status *st, lc_error *err)
{
    if (!c || !given(license_key)) {
        lc_fail(err, "INVALID_ARGUMENT", 0, "license_key is required");
        return c ? fail_status(c, st) : (lc_status_get(NULL, st), -1);
    }
    char why[64];
    cJSON *lk = lc_token_verify(license_key, "LK1", &c->keys, why, sizeof why);
    const cJSON *prod = cJSON_GetObjectItemCaseSensitive(lk, "prod");
    if (cJSON_IsString(prod) && strcmp(prod->valuestring, c->product) != 0) {
        lc_fail(err, "INVALID_CREDENTIALS", 0,
                "This licence key is for the product '%.64s', not '%s'.", prod->valuestring,
                c->product);
        cJSON_Delete(lk);
        return fail_status(c, st);
    }
    cJSON_Delete(lk);
    cJSON *creds = cJSON_CreateObject();
    cJSON_AddStringToObject(creds, "license_key", license_key);
    return activate(c, creds, st, err);
}

int lc_activate_password(lc_client *c, const char *license_id, const char *activation_password,
                         lc_status *st, lc_error *err)
{
    if (!c || !given(license_id) || !given(activation_password)) {
        lc_fail(err, "INVALID_ARGUMENT", 0, "license_id and activation_password are required");
        return c ? fail_status(c, st) : (lc_status_get(NULL, st), -1);
    }
    cJSON *creds = cJSON_CreateObject();
    cJSON_AddStringToObject(creds, "license_id", license_id);
    cJSON_AddStringToObject(creds, "activation_password", activation_password);
    return activate(c, creds, st, err);
}

int lc_activate_company(lc_client *c, const char *customer_number, const char *company_password,
                        lc_status *st, lc_error *err)
{
    if (!c || !given(customer_number) || !given(company_password)) {
        lc_fail(err, "INVALID_ARGUMENT", 0, "customer_number and company_password are required");
        return c ? fail_status(c, st) : (lc_status_get(NULL, st), -1);
    }
    cJSON *creds = cJSON_CreateObject();
    cJSON_AddStringToObject(creds, "customer_number", customer_number);
    cJSON_AddStringToObject(creds, "company_password", company_password);
    cJSON_AddStringToObject(creds, "product", c->product);
    return activate(c, creds, st, err);
}

/* The stored activation for the online calls (its certificate may be stale). */
int lc_stored(lc_client *c, lc_state *s, lc_error *err)
{
    char *raw;
    size_t len;
    char why[128];
    int rc = lc_read_file(c->state_path, LC_MAX_STATE, &raw, &len);
    if (rc < 0) {
        lc_fail(err, "STATE_ERROR", 0, "The stored activation in %s cannot be read.", c->state_dir);
        return -1;
    }
    if (rc > 0) {
        lc_fail(err, "NOT_ACTIVATED", 0, "This installation is not activated.");
        return -1;
    }
    rc = lc_state_decode(raw, len, s, why, sizeof why);
    free(raw);
    if (rc != 0) {
        lc_fail(err, "CERTIFICATE_INVALID", 0,
                "The stored activation is unreadable (%s); activate again.", why);
        return -1;
    }
    if (strcmp(s->product, c->product) || strcmp(s->installation_id, c->installation_id)) {
        lc_state_clear(s);
        lc_fail(err, "CERTIFICATE_INVALID", 0,
                "The stored activation belongs to another product or installation; activate "
                "again.");
        return -1;
    }
    return 0;
}

static int activation_path(const lc_state *s, const char *suffix, char *path, size_t size)
{
    char *escaped = curl_easy_escape(NULL, s->activation_id, 0);
    int ok = escaped && (size_t)snprintf(path, size, "/api/v1/activations/%s%s", escaped,
                                         suffix) < size;
    curl_free(escaped);
    return ok ? 0 : -1;
}

int lc_accept_checkin(lc_client *c, const lc_state *s, const cJSON *answer, lc_error *err)
{
    lc_cert cert;
    if (accept_cert(c, answer, s->activation_id, &cert, err) != 0)
        return -1;
    lc_state next = *s;
    next.certificate = cJSON_GetObjectItemCaseSensitive(answer, "certificate")->valuestring;
    next.last_seen = cert.iat;
    next.refusal[0] = '\0';
    lc_cert_clear(&cert);
    return save(c, &next, err);
}

void lc_checkin_refused(lc_client *c, const lc_state *s, const lc_error *err)
{
    if (strcmp(err->code, "DEACTIVATED") == 0) {
        lc_remove_file(c->state_dir, c->state_path);
        lc_forget(c);
    } else if (!strcmp(err->code, "LICENSE_SUSPENDED") || !strcmp(err->code, "LICENSE_REVOKED") ||
               !strcmp(err->code, "LICENSE_EXPIRED")) {
        lc_state refused = *s;
        lc_copy(refused.refusal, sizeof refused.refusal, err->code);
        save(c, &refused, NULL); /* best effort: the error is what the caller hears */
    }
}

int lc_checkin(lc_client *c, lc_status *st, lc_error *err)
{
    lc_error local;
    lc_error *e = err ? err : &local;
    lc_state s;
    char path[512];
    if (!c) {
        lc_fail(e, "INVALID_ARGUMENT", 0, "client is NULL");
        lc_status_get(NULL, st);
        return -1;
    }
    if (lc_stored(c, &s, e) != 0)
        return fail_status(c, st);
    cJSON *body = cJSON_CreateObject(), *answer = NULL;
    cJSON_AddStringToObject(body, "activation_token", s.activation_token);
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    int rc = -1;
    if (activation_path(&s, "/checkin", path, sizeof path) != 0 || !text)
        lc_fail(e, "CERTIFICATE_INVALID", 0, "The stored activation id is unusable.");
    else if (lc_http_request(&c->http, "POST", path, text, NULL, &answer, e) != 0)
        lc_checkin_refused(c, &s, e);
    else
        rc = lc_accept_checkin(c, &s, answer, e);
    free(text);
    cJSON_Delete(answer);
    lc_state_clear(&s);
    if (rc)
        return fail_status(c, st);
    lc_status_get(c, st);
    return 0;
}

int lc_deactivate(lc_client *c, lc_error *err)
{
    lc_state s;
    char path[512];
    if (!c) {
        lc_fail(err, "INVALID_ARGUMENT", 0, "client is NULL");
        return -1;
    }
    if (lc_stored(c, &s, err) != 0)
        return -1;
    size_t alen = strlen(s.activation_token) + 16;
    char *auth = malloc(alen);
    cJSON *answer = NULL;
    int rc = -1;
    if (auth && activation_path(&s, "", path, sizeof path) == 0) {
        snprintf(auth, alen, "Activation %s", s.activation_token);
        rc = lc_http_request(&c->http, "DELETE", path, NULL, auth, &answer, err);
    } else {
        lc_fail(err, "CERTIFICATE_INVALID", 0, "The stored activation id is unusable.");
    }
    cJSON_Delete(answer);
    free(auth);
    lc_state_clear(&s);
    if (rc == 0) {
        lc_forget(c);
        if (lc_remove_file(c->state_dir, c->state_path) != 0) {
            lc_fail(err, "STATE_ERROR", 0, "The seat was freed, but %s could not be removed.",
                    c->state_path);
            return -1;
        }
    }
    return rc;
}
