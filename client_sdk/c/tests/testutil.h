/* Helpers shared by the unit tests: a signing key, tokens, state files. */
#ifndef LC_TESTUTIL_H
#define LC_TESTUTIL_H
#include <stdint.h>
#include <stdio.h>

#include "internal.h"

extern int failures;
#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                              \
        }                                                                            \
    } while (0)

extern unsigned char test_pk[32], test_sk[64];
extern char test_keys[128]; /* "k1=..." */
extern int64_t test_now;
extern char test_dir[256];

char *sign_token(const char *prefix, const char *payload_json); /* malloc'd */
char *cert_json(const char *prod, const char *iid, const char *aid, int64_t iat, int64_t exp,
                int64_t until);
char *cert_token(const char *prod, const char *iid, const char *aid, int64_t iat, int64_t exp,
                 int64_t until);
void write_state(const char *product, const char *iid, const char *aid, const char *cert,
                 int64_t last_seen, const char *refusal);
void write_raw(const char *product, const char *data, size_t len);
lc_client *new_client(const char *product, const char *iid);
void run_fuzz(void);
void test_update_answers(void); /* test_update.c */
#endif
