/* lc_status_get per call against one bare libsodium Ed25519 verify of the
 * same AC1 token (goal: at most 1.5x). Not part of the suite:
 *   make bench-sdk-c
 * "warm" is a product calling lc_status_get again on one client (the file is
 * read and compared, the unchanged certificate not verified again); "cold" is
 * the first call of a new client: read, parse, verify, check. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "internal.h"

static int64_t fixed(void *ctx) { return *(int64_t *)ctx; }

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    unsigned char pk[32], sk[64], sig[64];
    crypto_sign_keypair(pk, sk);
    char keys[80] = "k1=", dir[] = "/tmp/lc_bench.XXXXXX", payload[1024], token[4096];
    lc_b64u_encode(pk, 32, keys + 3);
    if (!mkdtemp(dir))
        return 1;
    int64_t now = 1796200000;
    snprintf(payload, sizeof payload,
             "{\"v\":1,\"kid\":\"k1\",\"aid\":\"A-1\",\"lid\":\"L-1\",\"prod\":\"cad-pro\","
             "\"cust\":\"C-1\",\"iid\":\"bench-install\",\"mn\":\"pc\",\"seats\":1,"
             "\"features\":[\"export\"],\"iat\":%lld,\"exp\":null,\"until\":%lld}",
             (long long)now, (long long)now + 86400);
    size_t n = (size_t)sprintf(token, "AC1.");
    n += lc_b64u_encode((unsigned char *)payload, strlen(payload), token + n);
    crypto_sign_detached(sig, NULL, (unsigned char *)token, n, sk);
    size_t signed_len = n;
    token[n++] = '.';
    lc_b64u_encode(sig, 64, token + n);
    lc_state s = {.product = "cad-pro", .installation_id = "bench-install", .server = "http://x",
                  .activation_id = "A-1", .activation_token = "t", .certificate = token,
                  .last_seen = now};
    size_t len;
    char *data = lc_state_encode(&s, &len), *path = lc_join(dir, "cad-pro.json");
    lc_write_atomic(dir, path, data, len);
    lc_options o = {.server_url = "http://127.0.0.1:9", .product = "cad-pro",
                    .public_keys = keys, .state_dir = dir, .installation_id = "bench-install",
                    .clock = fixed, .clock_ctx = &now};
    const int rounds = 20000;
    lc_status st;
    double t0 = seconds();
    for (int i = 0; i < rounds; i++)
        if (crypto_sign_verify_detached(sig, (unsigned char *)token, signed_len, pk) != 0)
            return 1;
    double verify = (seconds() - t0) / rounds;
    lc_client *c;
    lc_client_new(&o, &c, NULL);
    lc_status_get(c, &st);
    t0 = seconds();
    for (int i = 0; i < rounds; i++)
        lc_status_get(c, &st);
    double warm = (seconds() - t0) / rounds;
    lc_client_free(c);
    t0 = seconds();
    for (int i = 0; i < rounds / 4; i++) {
        lc_client_new(&o, &c, NULL);
        lc_status_get(c, &st);
        lc_client_free(c);
    }
    double cold = (seconds() - t0) / (rounds / 4);
    printf("bare Ed25519 verify (libsodium):  %8.2f us\n", verify * 1e6);
    printf("lc_status_get, warm client:       %8.2f us  (%.2fx; goal <= 1.5x)\n", warm * 1e6,
           warm / verify);
    printf("new client + lc_status_get, cold: %8.2f us  (%.2fx)\n", cold * 1e6, cold / verify);
    printf("status: %s\n", st.code);
    unlink(path);
    rmdir(dir);
    free(data);
    free(path);
    return strcmp(st.code, "VALID") != 0;
}
