/* lc_status_get per call against one bare libsodium Ed25519 verify of the
 * same AC1 token (goal: at most 1.5x, warm and cold). Not part of the suite;
 * `make bench` runs it through `make bench-sdk-c`.
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

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *xs, int n)
{
    qsort(xs, (size_t)n, sizeof *xs, by_value);
    return xs[n / 2];
}

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
    /* The rounds alternate and the median of each is kept: a busy spell of the
     * machine slows all three alike. */
    enum { ROUNDS = 5, CALLS = 4000 };
    double verifies[ROUNDS], warms[ROUNDS], colds[ROUNDS];
    lc_status st;
    lc_client *c;
    lc_client_new(&o, &c, NULL);
    lc_status_get(c, &st);
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = seconds();
        for (int i = 0; i < CALLS; i++)
            if (crypto_sign_verify_detached(sig, (unsigned char *)token, signed_len, pk) != 0)
                return 1;
        verifies[r] = (seconds() - t0) / CALLS;
        t0 = seconds();
        for (int i = 0; i < CALLS; i++)
            lc_status_get(c, &st);
        warms[r] = (seconds() - t0) / CALLS;
        t0 = seconds();
        for (int i = 0; i < CALLS / 4; i++) {
            lc_client *fresh;
            lc_client_new(&o, &fresh, NULL);
            lc_status_get(fresh, &st);
            lc_client_free(fresh);
        }
        colds[r] = (seconds() - t0) / (CALLS / 4);
    }
    lc_client_free(c);
    double verify = median(verifies, ROUNDS), warm = median(warms, ROUNDS),
           cold = median(colds, ROUNDS);
    printf("bare Ed25519 verify (libsodium), the reference  %8.2f us per call\n", verify * 1e6);
    printf("lc_status_get, warm client                       %8.2f us per call  (%.2fx; goal <= 1.5x: %s)\n",
           warm * 1e6, warm / verify, warm / verify <= 1.5 ? "met" : "NOT met");
    printf("new client + lc_status_get, cold                 %8.2f us per call  (%.2fx; goal <= 1.5x: %s)\n",
           cold * 1e6, cold / verify, cold / verify <= 1.5 ? "met" : "NOT met");
    printf("BENCH_RESULT {\"reference_us\": %.3f, \"warm_us\": %.3f, \"cold_us\": %.3f, "
           "\"warm_ratio\": %.4f, \"cold_ratio\": %.4f}\n",
           verify * 1e6, warm * 1e6, cold * 1e6, warm / verify, cold / verify);
    printf("status: %s\n", st.code);
    unlink(path);
    rmdir(dir);
    free(data);
    free(path);
    return strcmp(st.code, "VALID") != 0;
}
