/* Unit tests of the library: base64url, keys, AC1 verification, the state
 * file, the status codes in their order, installation IDs, HTTP errors and
 * retries' arithmetic; update answers (test_update.c); then the fuzz pass
 * (test_fuzz.c). */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "testutil.h"

int failures;
unsigned char test_pk[32], test_sk[64];
char test_keys[128];
int64_t test_now = 1796200000;
char test_dir[256];

static int64_t test_clock(void *ctx) { return *(int64_t *)ctx; }

char *sign_token(const char *prefix, const char *payload)
{
    size_t plen = strlen(payload);
    char *out = malloc(strlen(prefix) + plen * 2 + 200);
    unsigned char sig[64];
    size_t n = (size_t)sprintf(out, "%s.", prefix);
    n += lc_b64u_encode((const unsigned char *)payload, plen, out + n);
    crypto_sign_detached(sig, NULL, (const unsigned char *)out, n, test_sk);
    out[n++] = '.';
    lc_b64u_encode(sig, 64, out + n);
    return out;
}

char *cert_json(const char *prod, const char *iid, const char *aid, int64_t iat, int64_t exp,
                int64_t until)
{
    char *p = malloc(1024);
    char e[32];
    if (exp)
        sprintf(e, "%lld", (long long)exp);
    else
        strcpy(e, "null");
    sprintf(p,
            "{\"v\":1,\"kid\":\"k1\",\"aid\":\"%s\",\"lid\":\"L-TEST-0001\",\"prod\":\"%s\","
            "\"cust\":\"C-1\",\"iid\":\"%s\",\"mn\":\"pc\",\"seats\":2,\"features\":[\"export\","
            "\"plot\"],\"iat\":%lld,\"exp\":%s,\"until\":%lld}",
            aid, prod, iid, (long long)iat, e, (long long)until);
    return p;
}

char *cert_token(const char *prod, const char *iid, const char *aid, int64_t iat, int64_t exp,
                 int64_t until)
{
    char *json = cert_json(prod, iid, aid, iat, exp, until);
    char *token = sign_token("AC1", json);
    free(json);
    return token;
}

void write_raw(const char *product, const char *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.json", test_dir, product);
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, len, f);
    fclose(f);
}

void write_state(const char *product, const char *iid, const char *aid, const char *cert,
                 int64_t last_seen, const char *refusal)
{
    lc_state s = {.product = (char *)product,
                  .installation_id = (char *)iid,
                  .server = "http://127.0.0.1:9",
                  .activation_id = (char *)aid,
                  .activation_token = "tok",
                  .certificate = (char *)cert,
                  .last_seen = last_seen};
    lc_copy(s.refusal, sizeof s.refusal, refusal ? refusal : "");
    size_t len;
    char *data = lc_state_encode(&s, &len);
    write_raw(product, data, len);
    free(data);
}

lc_client *new_client(const char *product, const char *iid)
{
    lc_options o = {.server_url = "http://127.0.0.1:9",
                    .product = product,
                    .public_keys = test_keys,
                    .state_dir = test_dir,
                    .installation_id = iid,
                    .clock = test_clock,
                    .clock_ctx = &test_now,
                    .timeout_ms = 200};
    lc_client *c = NULL;
    lc_error err;
    if (lc_client_new(&o, &c, &err) != 0)
        fprintf(stderr, "lc_client_new: %s %s\n", err.code, err.detail);
    return c;
}

static void test_b64(void)
{
    unsigned char out[8];
    CHECK(lc_b64u_decode("AQID", 4, out, sizeof out) == 3 && out[2] == 3);
    CHECK(lc_b64u_decode("AQI", 3, out, sizeof out) == 2);
    CHECK(lc_b64u_decode("AQJ", 3, out, sizeof out) == -1); /* non-canonical */
    CHECK(lc_b64u_decode("A", 1, out, sizeof out) == -1);
    CHECK(lc_b64u_decode("AQ==", 4, out, sizeof out) == -1);
    CHECK(lc_b64u_decode("A+/B", 4, out, sizeof out) == -1);
}

static void test_keys_parse(void)
{
    lc_keyring r;
    char two[300];
    snprintf(two, sizeof two, "%s,k2=%s", test_keys, test_keys + 3);
    CHECK(lc_keys_parse(test_keys, &r) == 0 && r.count == 1);
    CHECK(lc_keys_parse(two, &r) == 0 && r.count == 2 && !strcmp(r.keys[1].kid, "k2"));
    CHECK(lc_keys_parse("", &r) == -1);
    CHECK(lc_keys_parse("k1=AAAA", &r) == -1);
    CHECK(lc_keys_parse("=abc", &r) == -1);
    snprintf(two, sizeof two, "%s,", test_keys);
    CHECK(lc_keys_parse(two, &r) == -1);
}

static void test_options(void)
{
    lc_client *c = NULL;
    lc_error err;
    lc_options o = {.server_url = "ftp://x", .product = "p", .public_keys = test_keys};
    CHECK(lc_client_new(&o, &c, &err) != 0 && !strcmp(err.code, "INVALID_ARGUMENT") && !c);
    o.server_url = "http://127.0.0.1:9";
    o.product = "bad product";
    CHECK(lc_client_new(&o, &c, &err) != 0 && !strcmp(err.code, "INVALID_ARGUMENT"));
    o.product = "cad-pro";
    o.public_keys = "k1=nope";
    CHECK(lc_client_new(&o, &c, &err) != 0 && !strcmp(err.code, "INVALID_ARGUMENT"));
    o.public_keys = NULL;
    CHECK(lc_client_new(&o, &c, &err) != 0 && !strcmp(err.code, "INVALID_ARGUMENT"));
    CHECK(lc_client_new(NULL, &c, &err) != 0 && !strcmp(err.code, "INVALID_ARGUMENT"));
    o.public_keys = test_keys;
    o.installation_id = "short";
    CHECK(lc_client_new(&o, &c, &err) != 0 && !strcmp(err.code, "INVALID_ARGUMENT"));
    o.installation_id = NULL;
    o.state_dir = test_dir;
    CHECK(lc_client_new(&o, &c, NULL) == 0 && strlen(lc_installation_id(c)) == 40);
    lc_client_free(c);
}

static const char *code_of(lc_client *c)
{
    static lc_status st;
    lc_status_get(c, &st);
    return st.code;
}

/* Every status code, in the order the Python SDK checks them. */
static void test_status_order(void)
{
    const char *iid = "install-0001", *aid = "A-1";
    lc_client *c = new_client("cad-pro", iid);
    int64_t t = test_now;
    CHECK(!strcmp(code_of(c), "NOT_ACTIVATED"));
    char *good = cert_token("cad-pro", iid, aid, t - 10, t + 86400, t + 3600);
    write_state("cad-pro", iid, aid, good, t - 10, NULL);
    lc_status st;
    lc_status_get(c, &st);
    CHECK(st.valid && !strcmp(st.code, "VALID") && !strcmp(st.license_id, "L-TEST-0001"));
    CHECK(st.expires_at == t + 86400 && st.offline_until == t + 3600);
    CHECK(lc_has_feature(c, "export") == 1 && lc_has_feature(c, "nope") == 0);
    CHECK(lc_feature_at(c, 1) && !strcmp(lc_feature_at(c, 1), "plot") && !lc_feature_at(c, 2));

    /* the clock was recorded: last_seen moved on to now */
    test_now = t + 600;
    lc_status_get(c, &st);
    char path[512], *raw;
    size_t len;
    snprintf(path, sizeof path, "%s/cad-pro.json", test_dir);
    CHECK(lc_read_file(path, LC_MAX_STATE, &raw, &len) == 0);
    CHECK(strstr(raw, "\"last_seen\": 1796200600,") != NULL);
    free(raw);
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);

    test_now = t + 600 - 3601; /* set back more than an hour */
    CHECK(!strcmp(code_of(c), "CLOCK_TAMPERED"));
    test_now = t + 600 - 3500; /* within the tolerance */
    CHECK(!strcmp(code_of(c), "VALID"));
    test_now = t;
    write_state("cad-pro", iid, aid, good, t, "LICENSE_REVOKED");
    CHECK(!strcmp(code_of(c), "LICENSE_REVOKED"));
    write_state("cad-pro", iid, aid, good, t, "LICENSE_SUSPENDED");
    CHECK(!strcmp(code_of(c), "LICENSE_SUSPENDED"));
    write_state("cad-pro", iid, aid, good, t, "LICENSE_EXPIRED");
    CHECK(!strcmp(code_of(c), "LICENSE_EXPIRED"));
    write_state("cad-pro", iid, aid, good, t, NULL);
    test_now = t + 3600;
    CHECK(!strcmp(code_of(c), "CHECKIN_REQUIRED"));
    CHECK(lc_has_feature(c, "export") == 0);
    test_now = t + 86400;
    CHECK(!strcmp(code_of(c), "LICENSE_EXPIRED"));
    test_now = t;

    char *other_iid = cert_token("cad-pro", "install-0002", aid, t, 0, t + 60);
    write_state("cad-pro", iid, aid, other_iid, t, NULL);
    CHECK(!strcmp(code_of(c), "CERTIFICATE_INVALID") && !lc_feature_at(c, 0));
    char *other_prod = cert_token("cam", iid, aid, t, 0, t + 60);
    write_state("cad-pro", iid, aid, other_prod, t, NULL);
    CHECK(!strcmp(code_of(c), "CERTIFICATE_INVALID"));
    write_state("cad-pro", iid, "A-2", good, t, NULL);
    CHECK(!strcmp(code_of(c), "CERTIFICATE_INVALID"));
    char *tampered = lc_strdup(good);
    tampered[10] = tampered[10] == 'A' ? 'B' : 'A';
    write_state("cad-pro", iid, aid, tampered, t, NULL);
    CHECK(!strcmp(code_of(c), "CERTIFICATE_INVALID"));
    char *json = cert_json("cad-pro", iid, aid, t, 0, t + 60);
    char *kid = strstr(json, "\"k1\"");
    kid[2] = '9';
    char *unknown = sign_token("AC1", json);
    write_state("cad-pro", iid, aid, unknown, t, NULL);
    CHECK(!strcmp(code_of(c), "CERTIFICATE_INVALID"));
    write_raw("cad-pro", "{\"format\": \"other/1\"}", 21);
    CHECK(!strcmp(code_of(c), "CERTIFICATE_INVALID"));
    write_raw("cad-pro", "not json", 8);
    CHECK(!strcmp(code_of(c), "CERTIFICATE_INVALID"));
    /* a perpetual licence */
    char *perpetual = cert_token("cad-pro", iid, aid, t, 0, t + 60);
    write_state("cad-pro", iid, aid, perpetual, t, NULL);
    lc_status_get(c, &st);
    CHECK(st.valid && st.expires_at == 0);
    free(good), free(other_iid), free(other_prod), free(tampered), free(json), free(unknown);
    free(perpetual);
    lc_client_free(c);
}

static void test_state_roundtrip(void)
{
    lc_state s = {.product = "p", .installation_id = "i\xc3\xa9\n\"", .server = "s",
                  .activation_id = "a", .activation_token = "t", .certificate = "c",
                  .last_seen = 5};
    size_t len;
    char *data = lc_state_encode(&s, &len);
    CHECK(strstr(data, "\"installation_id\": \"i\\u00e9\\n\\\"\",") != NULL);
    lc_state back;
    char why[64];
    CHECK(lc_state_decode(data, len, &back, why, sizeof why) == 0);
    CHECK(!strcmp(back.installation_id, s.installation_id) && back.last_seen == 5);
    lc_state_clear(&back);
    free(data);
    const char *bad[] = {
        "{\"format\":\"licclient-state/1\"}",
        "{\"format\":\"licclient-state/1\",\"product\":\"p\",\"installation_id\":\"i\","
        "\"server\":\"s\",\"activation_id\":\"a\",\"activation_token\":\"t\","
        "\"certificate\":\"c\",\"last_seen\":true,\"refusal\":null}",
        "{\"format\":\"licclient-state/1\",\"product\":\"p\",\"installation_id\":\"i\","
        "\"server\":\"s\",\"activation_id\":\"a\",\"activation_token\":\"t\","
        "\"certificate\":\"c\",\"last_seen\":1,\"refusal\":\"NOPE\"}",
        "[]", "\xff"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(lc_state_decode(bad[i], strlen(bad[i]), &back, why, sizeof why) == -1);
}

static void test_identity(void)
{
    char id[41];
    lc_derive_installation_id("abc", "cad-pro", id);
    /* HMAC-SHA256(key="abc", "licclient/installation-id/v1:cad-pro")[:40], as Python computes */
    CHECK(strlen(id) == 40);
    char *u = lc_usable_identity("  0000-0000 \n");
    CHECK(u == NULL);
    u = lc_usable_identity("uninitialized\n");
    CHECK(u == NULL);
    u = lc_usable_identity(" 1234abcd\n");
    CHECK(u && !strcmp(u, "1234abcd"));
    free(u);
    u = lc_parse_ioreg("  \"IOPlatformSerialNumber\" = \"X\"\n  \"IOPlatformUUID\" = "
                       "\"564D8A1C-1234-5678-9ABC-DEF012345678\"\n");
    CHECK(u && !strcmp(u, "564D8A1C-1234-5678-9ABC-DEF012345678"));
    free(u);
    CHECK(lc_parse_ioreg("nothing here") == NULL);
}

/* API.md "Signed answers": its test vector, and what is refused. */
static void test_answer_signature(void)
{
    lc_keyring ring;
    CHECK(lc_keys_parse("k-test=A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg", &ring) == 0);
    const char *body = "{\"code\": \"VALID\", \"valid\": true}";
    const char *header =
        "kid=\"k-test\", t=\"1796200000\", sig=\"CYHz1uh9ItCgpmZBJpEAdM2sfjN2RfpnZupJMl9hdRIeyz"
        "aDs3DPgBb8VasJBSEP4F8mUiHLspcrFBK452fUDw\"";
    const char *nonce = "n-3f9a1c0e5b7d4e21";
    char why[128];
    size_t n = strlen(body);
    CHECK(lc_answer_verify(header, &ring, "POST", "/api/v1/validate", 200, body, n, nonce, why,
                           sizeof why) == 0);
    CHECK(lc_answer_verify(header, &ring, "POST", "/api/v1/validate", 200, body, n, "n-other",
                           why, sizeof why) == -1);
    CHECK(lc_answer_verify(header, &ring, "POST", "/api/v1/validate", 201, body, n, nonce, why,
                           sizeof why) == -1);
    CHECK(lc_answer_verify(header, &ring, "POST", "/api/v1/validate?x", 200, body, n, nonce, why,
                           sizeof why) == -1);
    CHECK(lc_answer_verify(header, &ring, "POST", "/api/v1/validate", 200, body, n - 1, nonce,
                           why, sizeof why) == -1);
    CHECK(lc_answer_verify("", &ring, "POST", "/api/v1/validate", 200, body, n, nonce, why,
                           sizeof why) == -1 &&
          strstr(why, "not signed"));
    CHECK(lc_answer_verify("kid=\"k-test\", t=\"1\"", &ring, "POST", "/", 200, body, n, nonce,
                           why, sizeof why) == -1);
    lc_keyring other;
    CHECK(lc_keys_parse("k-other=A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg", &other) == 0);
    CHECK(lc_answer_verify(header, &other, "POST", "/api/v1/validate", 200, body, n, nonce, why,
                           sizeof why) == -1 &&
          strstr(why, "not pinned"));
}

static void test_http_errors(void)
{
    lc_error e;
    const char *p = "{\"code\":\"SEAT_LIMIT_REACHED\",\"detail\":\"All seats used\"}";
    lc_http_error_for(409, p, strlen(p), &e);
    CHECK(!strcmp(e.code, "SEAT_LIMIT_REACHED") && e.http_status == 409);
    lc_http_error_for(404, "<html>", 6, &e);
    CHECK(!strcmp(e.code, "NETWORK_ERROR") && e.http_status == 404);
    lc_http_error_for(429, NULL, 0, &e);
    CHECK(!strcmp(e.code, "RATE_LIMITED"));
    lc_http_error_for(503, p, strlen(p), &e);
    CHECK(!strcmp(e.code, "NETWORK_ERROR") && e.http_status == 503);
    CHECK(lc_parse_retry_after("5", 0) == 5.0);
    CHECK(lc_parse_retry_after(" 120 ", 0) == 120.0);
    CHECK(lc_parse_retry_after("soon", 0) < 0);
    CHECK(lc_parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", 40) == 60.0);
    for (int a = 0; a < 10; a++) {
        double d = lc_backoff(a);
        CHECK(d >= 0 && d <= 8.0);
    }
    CHECK(lc_backoff(0) <= 0.5 && lc_backoff(0) >= 0.25);
}

static long slept;
static void fake_sleep(long ms) { slept += ms; }

static void test_unreachable(void)
{
    lc_http h = {.base_url = "http://127.0.0.1:9", .timeout_ms = 500, .retries = 3,
                 .sleep_ms = fake_sleep};
    cJSON *json = NULL;
    lc_error e;
    slept = 0;
    CHECK(lc_http_request(&h, "POST", "/api/v1/activations", "{}", NULL, &json, &e) == -1);
    CHECK(!strcmp(e.code, "NETWORK_ERROR") && e.http_status == 0);
    CHECK(slept >= 250 + 500 + 1000 && slept <= 500 + 1000 + 2000); /* three backoffs */
    lc_client *c = new_client("nothing-here", "install-0001");
    CHECK(lc_checkin(c, NULL, &e) == -1 && !strcmp(e.code, "NOT_ACTIVATED"));
    CHECK(lc_deactivate(c, &e) == -1 && !strcmp(e.code, "NOT_ACTIVATED"));
    CHECK(lc_activate_key(c, NULL, NULL, &e) == -1 && !strcmp(e.code, "INVALID_ARGUMENT"));
    CHECK(lc_activate_password(c, "L-1", "", NULL, &e) == -1);
    CHECK(lc_activate_company(NULL, "1", "2", NULL, &e) == -1);
    lc_client_free(c);
}

int main(void)
{
    if (sodium_init() < 0)
        return 2;
    crypto_sign_keypair(test_pk, test_sk);
    strcpy(test_keys, "k1=");
    lc_b64u_encode(test_pk, 32, test_keys + 3);
    /* tmpfs where there is one: the fuzz pass fsyncs thousands of state files */
    strcpy(test_dir, access("/dev/shm", W_OK) == 0 ? "/dev/shm/lc_tests.XXXXXX" : "/tmp/lc_tests.XXXXXX");
    if (!mkdtemp(test_dir))
        return 2;
    test_b64();
    test_keys_parse();
    test_options();
    test_state_roundtrip();
    test_status_order();
    test_identity();
    test_http_errors();
    test_answer_signature();
    test_unreachable();
    test_update_answers();
    run_fuzz();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", test_dir);
    if (system(cmd) != 0)
        failures++;
    printf("%s (%d failure%s)\n", failures ? "FAILED" : "ok", failures, failures == 1 ? "" : "s");
    return failures ? 1 : 0;
}
