/* The conformance driver (client_sdk/conformance/DRIVER.md): one JSON request
 * on stdin, one SDK call, one JSON answer on stdout. Exits 0 whenever it
 * could make the call; non-zero only when the driver itself is broken. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "licclient.h"

static int64_t fixed_clock(void *ctx) { return *(const int64_t *)ctx; }

static const char *str(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static char *read_all(FILE *f)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) {
            char *p = realloc(buf, cap *= 2);
            if (!p)
                free(buf);
            buf = p;
        }
    }
    if (buf)
        buf[len] = '\0';
    return buf;
}

/* "kid=key,kid=key" from the request's {"kid": "key"} object. */
static char *key_list(const cJSON *keys)
{
    size_t cap = 16;
    const cJSON *k;
    cJSON_ArrayForEach(k, keys) if (cJSON_IsString(k)) cap += strlen(k->string) + strlen(k->valuestring) + 2;
    char *out = calloc(1, cap);
    cJSON_ArrayForEach(k, keys)
    {
        if (!out || !cJSON_IsString(k))
            continue;
        if (out[0])
            strcat(out, ",");
        strcat(out, k->string);
        strcat(out, "=");
        strcat(out, k->valuestring);
    }
    return out;
}

static void add_time(cJSON *o, const char *name, int64_t t, int known)
{
    if (known && t)
        cJSON_AddNumberToObject(o, name, (double)t);
    else
        cJSON_AddNullToObject(o, name);
}

static cJSON *status_json(lc_client *c, const lc_status *st)
{
    cJSON *o = cJSON_CreateObject();
    int known = strcmp(st->code, "NOT_ACTIVATED") && strcmp(st->code, "CERTIFICATE_INVALID");
    cJSON_AddBoolToObject(o, "valid", st->valid);
    cJSON_AddStringToObject(o, "code", st->code);
    if (known)
        cJSON_AddStringToObject(o, "license_id", st->license_id);
    else
        cJSON_AddNullToObject(o, "license_id");
    add_time(o, "expires_at", st->expires_at, known);
    add_time(o, "offline_until", st->offline_until, known);
    cJSON *features = cJSON_AddArrayToObject(o, "features");
    const char *f;
    for (size_t i = 0; c && known && (f = lc_feature_at(c, i)); i++)
        cJSON_AddItemToArray(features, cJSON_CreateString(f));
    return o;
}

static lc_update *found; /* what op check_update found */

static cJSON *update_json(const lc_update *u)
{
    if (!u)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "version", u->version);
    cJSON_AddStringToObject(o, "channel", u->channel);
    cJSON_AddStringToObject(o, "platform", u->platform);
    cJSON_AddStringToObject(o, "arch", u->arch);
    cJSON_AddStringToObject(o, "sha256", u->sha256);
    cJSON_AddNumberToObject(o, "size", (double)u->size);
    cJSON_AddNumberToObject(o, "released_at", (double)u->released_at);
    cJSON_AddStringToObject(o, "download_url", u->download_url);
    return o;
}

/* check_update: lc_check_update, then lc_update_download to args.download_to if given. */
static int check_update(lc_client *c, const cJSON *args, lc_error *err)
{
    int rc = lc_check_update(c, str(args, "current_version"), str(args, "channel"),
                             str(args, "platform"), str(args, "arch"), &found, err);
    if (rc == 0 && found && str(args, "download_to"))
        rc = lc_update_download(found, str(args, "download_to"), err);
    return rc;
}

static int call(lc_client *c, const char *op, const cJSON *args, lc_error *err, int *feature)
{
    if (!strcmp(op, "status") || !strcmp(op, "installation_id"))
        return 0;
    if (!strcmp(op, "activate")) {
        if (str(args, "license_key"))
            return lc_activate_key(c, str(args, "license_key"), NULL, err);
        if (str(args, "license_id"))
            return lc_activate_password(c, str(args, "license_id"),
                                        str(args, "activation_password"), NULL, err);
        return lc_activate_company(c, str(args, "customer_number"), str(args, "company_password"),
                                   NULL, err);
    }
    if (!strcmp(op, "checkin"))
        return lc_checkin(c, NULL, err);
    if (!strcmp(op, "deactivate"))
        return lc_deactivate(c, err);
    if (!strcmp(op, "check_update"))
        return check_update(c, args, err);
    if (!strcmp(op, "has_feature")) {
        *feature = lc_has_feature(c, str(args, "name"));
        return 0;
    }
    return -2;
}

int main(void)
{
    char *input = read_all(stdin);
    cJSON *req = input ? cJSON_Parse(input) : NULL;
    free(input);
    const char *op = str(req, "op");
    if (!op) {
        fprintf(stderr, "lc_driver: stdin is not a request object with an \"op\"\n");
        cJSON_Delete(req);
        return 2;
    }
    const cJSON *clock = cJSON_GetObjectItemCaseSensitive(req, "clock");
    const cJSON *timeout = cJSON_GetObjectItemCaseSensitive(req, "timeout_ms");
    int64_t now = cJSON_IsNumber(clock) ? (int64_t)clock->valuedouble : 0;
    char *keys = key_list(cJSON_GetObjectItemCaseSensitive(req, "public_keys"));
    lc_options opts = {
        .server_url = str(req, "server_url"),
        .product = str(req, "product"),
        .public_keys = keys,
        .state_dir = str(req, "state_dir"),
        .installation_id = str(req, "installation_id"),
        .clock = cJSON_IsNumber(clock) ? fixed_clock : NULL,
        .clock_ctx = &now,
        .timeout_ms = cJSON_IsNumber(timeout) ? (int)timeout->valuedouble : 0,
    };
    lc_client *c = NULL;
    lc_error err;
    memset(&err, 0, sizeof err);
    int feature = -1;
    int rc = lc_client_new(&opts, &c, &err);
    if (rc == 0)
        rc = call(c, op, cJSON_GetObjectItemCaseSensitive(req, "args"), &err, &feature);
    if (rc == -2) {
        fprintf(stderr, "lc_driver: unknown op %s\n", op);
        lc_client_free(c);
        cJSON_Delete(req);
        free(keys);
        return 2;
    }
    lc_status st;
    lc_status_get(c, &st);
    cJSON *out = cJSON_CreateObject();
    cJSON_AddBoolToObject(out, "ok", rc == 0);
    if (c)
        cJSON_AddStringToObject(out, "installation_id", lc_installation_id(c));
    else
        cJSON_AddNullToObject(out, "installation_id");
    cJSON_AddItemToObject(out, "status", status_json(c, &st));
    if (feature >= 0)
        cJSON_AddBoolToObject(out, "has_feature", feature);
    else
        cJSON_AddNullToObject(out, "has_feature");
    if (!strcmp(op, "check_update"))
        cJSON_AddItemToObject(out, "update", update_json(found));
    if (rc == 0) {
        cJSON_AddNullToObject(out, "error");
    } else {
        cJSON *e = cJSON_AddObjectToObject(out, "error");
        cJSON_AddStringToObject(e, "code", err.code);
        if (err.http_status)
            cJSON_AddNumberToObject(e, "http_status", err.http_status);
        else
            cJSON_AddNullToObject(e, "http_status");
        cJSON_AddStringToObject(e, "detail", err.detail);
        cJSON_AddStringToObject(e, "class", err.code);
    }
    char *text = cJSON_PrintUnformatted(out);
    puts(text ? text : "{}");
    free(text);
    cJSON_Delete(out);
    cJSON_Delete(req);
    free(keys);
    lc_update_free(found);
    lc_client_free(c);
    return 0;
}
