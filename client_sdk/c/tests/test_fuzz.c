/* A fuzz-style pass over hostile input: mutated certificates, state files and
 * server answers. The library must answer a code and never crash or leak
 * (the suite runs this under valgrind or ASan+UBSan). Bounded in time. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "testutil.h"

#define ITERATIONS 3000 /* LC_FUZZ_ITERATIONS overrides */
#define SECONDS 40

static const char *const CODES[] = {"NOT_ACTIVATED",     "CERTIFICATE_INVALID", "CLOCK_TAMPERED",
                                    "LICENSE_REVOKED",   "LICENSE_SUSPENDED",   "LICENSE_EXPIRED",
                                    "CHECKIN_REQUIRED",  "VALID"};

static int known_code(const char *code)
{
    for (size_t i = 0; i < sizeof CODES / sizeof *CODES; i++)
        if (!strcmp(code, CODES[i]))
            return 1;
    return 0;
}

/* Flip, drop, insert or duplicate a few bytes of text (malloc'd result). */
static char *mutate(const char *text, size_t *out_len)
{
    size_t len = strlen(text), cap = len * 2 + 64;
    char *m = malloc(cap);
    memcpy(m, text, len);
    int edits = 1 + (int)randombytes_uniform(4);
    for (int e = 0; e < edits; e++) {
        size_t at = len ? randombytes_uniform((uint32_t)len) : 0;
        switch (randombytes_uniform(5)) {
        case 0: /* flip a bit */
            if (len)
                m[at] ^= (char)(1u << randombytes_uniform(8));
            break;
        case 1: /* truncate */
            len = at;
            break;
        case 2: /* insert a random byte */
            if (len + 1 < cap) {
                memmove(m + at + 1, m + at, len - at);
                m[at] = (char)randombytes_uniform(256);
                len++;
            }
            break;
        case 3: /* an interesting character */
            if (len)
                m[at] = "\".{}[]:,\\0-9eE\x80\xff"[randombytes_uniform(17)];
            break;
        default: /* duplicate a chunk */
            if (len && len * 2 < cap) {
                size_t n = randombytes_uniform((uint32_t)(len - at)) + 1;
                memmove(m + at + n, m + at, len - at);
                len += n;
            }
        }
    }
    m[len] = '\0';
    *out_len = len;
    return m;
}

static const char *random_value(void)
{
    static const char *const values[] = {"null", "true", "1", "-1", "1.5", "1e400", "\"x\"",
                                         "[]", "{}", "[1]", "[\"a\",2]", "253402300800",
                                         "\"\"", "0"};
    return values[randombytes_uniform(sizeof values / sizeof *values)];
}

/* A correctly signed certificate whose claims have random types. */
static char *odd_certificate(const char *iid)
{
    static const char *const names[] = {"v", "kid", "aid", "lid", "prod", "cust", "iid",
                                        "mn", "seats", "features", "iat", "exp", "until",
                                        "model", "lease", "warn", "hb", "acc", "site"};
    char *json = cert_json("cad-pro", iid, "A-1", test_now, test_now + 99, test_now + 99);
    cJSON *p = cJSON_Parse(json);
    free(json);
    const char *name = names[randombytes_uniform(sizeof names / sizeof *names)];
    cJSON_DeleteItemFromObjectCaseSensitive(p, name);
    if (randombytes_uniform(4))
        cJSON_AddItemToObject(p, name, cJSON_Parse(random_value()));
    char *text = cJSON_PrintUnformatted(p);
    cJSON_Delete(p);
    char *token = sign_token("AC1", text);
    free(text);
    return token;
}

void run_fuzz(void)
{
    const char *iid = "install-fuzz";
    lc_client *c = new_client("cad-pro", iid);
    char *good = cert_token("cad-pro", iid, "A-1", test_now, 0, test_now + 99);
    write_state("cad-pro", iid, "A-1", good, test_now, NULL);
    char *state_raw;
    size_t state_len;
    char path[512];
    snprintf(path, sizeof path, "%s/cad-pro.json", test_dir);
    lc_read_file(path, LC_MAX_STATE, &state_raw, &state_len);
    time_t start = time(NULL);
    const char *env = getenv("LC_FUZZ_ITERATIONS");
    int iterations = env ? atoi(env) : ITERATIONS;
    int i;
    for (i = 0; i < iterations && time(NULL) - start < SECONDS; i++) {
        lc_status st;
        size_t len;
        lc_error err;
        /* 1. a mutated certificate in a well-formed state */
        char *cert = mutate(good, &len);
        write_state("cad-pro", iid, "A-1", cert, test_now, NULL);
        lc_status_get(c, &st);
        CHECK(known_code(st.code));
        CHECK(!strcmp(st.code, "CERTIFICATE_INVALID") || !strcmp(cert, good) ||
              !strcmp(st.code, "VALID"));
        free(cert);
        /* 2. a signed certificate with odd claims */
        cert = odd_certificate(iid);
        write_state("cad-pro", iid, "A-1", cert, test_now, NULL);
        lc_status_get(c, &st);
        CHECK(known_code(st.code));
        lc_has_feature(c, "export");
        free(cert);
        /* 3. a mutated state file */
        char *raw = mutate(state_raw, &len);
        write_raw("cad-pro", raw, len);
        lc_status_get(c, &st);
        CHECK(known_code(st.code));
        /* 4. server answers: an activation, a check-in, an error */
        char *good_answer = malloc(strlen(good) + 128);
        sprintf(good_answer,
                "{\"activation_id\":\"A-1\",\"activation_token\":\"t\",\"certificate\":\"%s\"}",
                good);
        char *answer_text = mutate(good_answer, &len);
        cJSON *answer = cJSON_ParseWithLength(answer_text, len);
        if (lc_accept_activation(c, answer, &err) != 0)
            CHECK(!strcmp(err.code, "CERTIFICATE_INVALID"));
        lc_state stored = {.product = "cad-pro", .installation_id = (char *)iid,
                           .server = "s", .activation_id = "A-1", .activation_token = "t",
                           .certificate = good, .last_seen = test_now};
        if (lc_accept_checkin(c, &stored, answer, &err) != 0)
            CHECK(!strcmp(err.code, "CERTIFICATE_INVALID"));
        lc_http_error_for(400 + (int)randombytes_uniform(200), answer_text, len, &err);
        CHECK(err.code[0] != '\0');
        if (!strcmp(err.code, "DEACTIVATED") || !strncmp(err.code, "LICENSE_", 8))
            lc_checkin_refused(c, &stored, &err);
        lc_status_get(c, &st);
        CHECK(known_code(st.code));
        cJSON_Delete(answer);
        free(answer_text);
        free(good_answer);
        free(raw);
    }
    printf("fuzz: %d iterations\n", i);
    free(state_raw);
    free(good);
    lc_client_free(c);
}
