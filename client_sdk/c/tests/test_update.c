/* The update answer's checks apart from the transport: the UP1 manifest must
 * be signed by a pinned key and agree with the answer's version, channel,
 * SHA-256 and size; every field altered on its own is refused. A download
 * that cannot start keeps nothing. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "testutil.h"

#define SHA "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

static char *manifest(const char *prod, const char *ver, const char *sha, long size)
{
    char json[512];
    snprintf(json, sizeof json,
             "{\"arch\":\"x86_64\",\"ch\":\"stable\",\"kid\":\"k1\",\"plat\":\"linux\","
             "\"prod\":\"%s\",\"rel\":1780000000,\"sha256\":\"%s\",\"size\":%ld,\"v\":1,"
             "\"ver\":\"%s\"}",
             prod, sha, size, ver);
    return sign_token("UP1", json);
}

/* The update object of an answer, with one field replaced (NULL: none). */
static cJSON *answer(const char *token, const char *field, cJSON *value)
{
    cJSON *u = cJSON_CreateObject();
    cJSON_AddStringToObject(u, "version", "1.2.0");
    cJSON_AddStringToObject(u, "channel", "stable");
    cJSON_AddStringToObject(u, "notes", "faster");
    cJSON_AddStringToObject(u, "download_url", "http://127.0.0.1:9/file");
    cJSON_AddNumberToObject(u, "size", 4);
    cJSON_AddStringToObject(u, "sha256", SHA);
    cJSON_AddStringToObject(u, "manifest", token);
    if (field)
        cJSON_ReplaceItemInObjectCaseSensitive(u, field, value);
    return u;
}

static int refused(const lc_keyring *ring, cJSON *u)
{
    lc_update *out = (lc_update *)1;
    lc_error e;
    int rc = lc_update_from_answer(ring, "cad-pro", u, 1000, 0, &out, &e);
    cJSON_Delete(u);
    return rc == -1 && out == NULL && !strcmp(e.code, "CERTIFICATE_INVALID");
}

void test_update_answers(void)
{
    lc_keyring ring;
    CHECK(lc_keys_parse(test_keys, &ring) == 0);
    char *good = manifest("cad-pro", "1.2.0", SHA, 4);
    lc_update *u = NULL;
    lc_error e;
    cJSON *a = answer(good, NULL, NULL);
    CHECK(lc_update_from_answer(&ring, "cad-pro", a, 1000, 0, &u, &e) == 0 && u);
    cJSON_Delete(a);
    if (u) {
        CHECK(!strcmp(u->version, "1.2.0") && !strcmp(u->channel, "stable"));
        CHECK(!strcmp(u->platform, "linux") && !strcmp(u->arch, "x86_64"));
        CHECK(u->size == 4 && !strcmp(u->sha256, SHA) && u->released_at == 1780000000);
        CHECK(!strcmp(u->notes, "faster") && !strcmp(u->manifest, good));
        CHECK(!strncmp(u->download_url, "http://127.0.0.1:9/", 19));
        /* nothing listens: nothing is written, the error says so */
        char path[300];
        snprintf(path, sizeof path, "%s/app.bin", test_dir);
        CHECK(lc_update_download(u, path, &e) == -1 && !strcmp(e.code, "NETWORK_ERROR"));
        FILE *f = fopen(path, "rb");
        CHECK(f == NULL);
        if (f)
            fclose(f);
    }
    lc_update_free(u);
    lc_update_free(NULL);

    CHECK(refused(&ring, answer(good, "version", cJSON_CreateString("9.9.9"))));
    CHECK(refused(&ring, answer(good, "channel", cJSON_CreateString("beta"))));
    CHECK(refused(&ring, answer(good, "size", cJSON_CreateNumber(5))));
    CHECK(refused(&ring, answer(good, "sha256", cJSON_CreateString("0000"))));
    CHECK(refused(&ring, answer(good, "manifest", cJSON_CreateNull())));
    char *other = manifest("other-product", "1.2.0", SHA, 4);
    CHECK(refused(&ring, answer(other, NULL, NULL)));
    free(other);
    /* a manifest whose payload was altered after signing */
    char *forged = manifest("cad-pro", "1.2.0", SHA, 4);
    char *dot = strchr(forged, '.');
    dot[3] = dot[3] == 'A' ? 'B' : 'A';
    CHECK(refused(&ring, answer(forged, NULL, NULL)));
    free(forged);
    /* signed by a key that is not pinned */
    lc_keyring foreign;
    CHECK(lc_keys_parse("k1=A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg", &foreign) == 0);
    CHECK(refused(&foreign, answer(good, NULL, NULL)));
    free(good);

    lc_client *c = new_client("nothing-here", "install-0001");
    CHECK(lc_check_update(c, "1.0.0", NULL, NULL, NULL, &u, &e) == -1 &&
          !strcmp(e.code, "NOT_ACTIVATED") && u == NULL);
    CHECK(lc_check_update(c, NULL, NULL, NULL, NULL, &u, &e) == -1 &&
          !strcmp(e.code, "INVALID_ARGUMENT"));
    CHECK(lc_update_download(NULL, "x", &e) == -1 && !strcmp(e.code, "INVALID_ARGUMENT"));
    lc_client_free(c);
}
