/* Internal declarations shared by the library's source files (not installed). */
#ifndef LC_INTERNAL_H
#define LC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "licclient.h"

#define LC_VERSION "0.1.0"
#define LC_MAX_KEYS 16
#define LC_MAX_TOKEN 4096
#define LC_MAX_STATE (64 * 1024)
#define LC_MAX_FEATURES 64
#define LC_MAX_TIMESTAMP 253402300799LL /* 9999-12-31T23:59:59Z */

/* ---- util.c ---- */
void lc_copy(char *dst, size_t size, const char *src);
void lc_fail(lc_error *err, const char *code, int http_status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
char *lc_strdup(const char *s);
int lc_utf8_valid(const unsigned char *s, size_t n);
struct cJSON *lc_json_parse(const char *text, size_t len);

/* ---- b64.c: strict base64url without padding ---- */
/* Decodes into out (capacity cap); returns the length, or -1 when the text is
 * not canonical base64url or does not fit. */
long lc_b64u_decode(const char *text, size_t len, unsigned char *out, size_t cap);
size_t lc_b64u_encode(const unsigned char *in, size_t len, char *out); /* out: 4*len/3+4 */

/* ---- verify.c ---- */
typedef struct {
    char kid[64];
    unsigned char key[32];
} lc_key;

typedef struct {
    lc_key keys[LC_MAX_KEYS];
    int count;
} lc_keyring;

typedef struct {
    char aid[128], lid[64], prod[128], iid[160], kid[64];
    int64_t iat, exp, until; /* exp 0: never */
    int has_exp;
    char *features[LC_MAX_FEATURES];
    int nfeatures;
} lc_cert;

int lc_keys_parse(const char *text, lc_keyring *ring);  /* 0 or -1 */
/* The verified payload of a PREFIX token as a cJSON object (caller frees), or
 * NULL with why[] filled. */
struct cJSON *lc_token_verify(const char *token, const char *prefix, const lc_keyring *ring,
                              char *why, size_t whylen);
int lc_cert_parse(const char *token, const lc_keyring *ring, lc_cert *cert, char *why,
                  size_t whylen);
void lc_cert_clear(lc_cert *cert);
/* 0 when header (Licserver-Answer-Signature) is a pinned key's signature of
 * "METHOD TARGET\nSTATUS\nT\nDIGEST\nNONCE" for this request and answer;
 * -1 with why[] filled otherwise (API.md "Signed answers"). */
int lc_answer_verify(const char *header, const lc_keyring *ring, const char *method,
                     const char *target, int status, const char *body, size_t len,
                     const char *nonce, char *why, size_t whylen);

/* ---- state.c ---- */
typedef struct {
    char *product, *installation_id, *server, *activation_id, *activation_token, *certificate;
    int64_t last_seen;
    char refusal[32]; /* "" : none */
} lc_state;

int lc_state_decode(const char *raw, size_t len, lc_state *st, char *why, size_t whylen);
char *lc_state_encode(const lc_state *st, size_t *len); /* malloc'd */
void lc_state_clear(lc_state *st);

/* ---- platform.c: files, folders, clocks, machine identity ---- */
int lc_mkdirs(const char *path);                                /* 0700; 0 or -1 */
/* 0: read (buf malloc'd, NUL-terminated); 1: no such file; -1: error (errno). */
int lc_read_file(const char *path, size_t max, char **buf, size_t *len);
int lc_write_atomic(const char *dir, const char *path, const char *data, size_t len);
int lc_remove_file(const char *dir, const char *path);           /* 0: removed or absent */
FILE *lc_fopen(const char *path, const char *mode);              /* UTF-8 path on Windows too */
int lc_file_size(const char *path, int64_t *size);               /* 0; 1: no such file; -1 */
int lc_rename(const char *from, const char *to);                 /* atomic, replaces; 0 or -1 */
char *lc_default_state_dir(void);                                /* malloc'd, or NULL */
char *lc_machine_identity(void);                                 /* malloc'd, or NULL */
char *lc_parse_ioreg(const char *out);                           /* IOPlatformUUID in ioreg -rd1 output */
char *lc_usable_identity(const char *text);                      /* trimmed, or NULL */
int64_t lc_system_clock(void *ctx);
void lc_sleep_ms(long ms);
void lc_hostname(char *buf, size_t size);
void lc_os_name(char *buf, size_t size);
char *lc_join(const char *dir, const char *name);                /* dir/name, malloc'd */

/* ---- fingerprint.c ---- */
void lc_derive_installation_id(const char *identity, const char *product, char out[41]);
int lc_installation_id_from_machine(const char *product, const char *state_dir, char out[41]);

/* ---- http.c ---- */
typedef struct {
    int status;      /* the final answer's status (0: none) */
    char *body;      /* NUL-terminated, malloc'd */
    size_t len;
} lc_answer;

typedef struct {
    const char *base_url;
    int timeout_ms;
    int retries;
    void (*sleep_ms)(long ms);
    const lc_keyring *keys; /* every answer must be signed by one of them */
} lc_http;

/* 0: a 2xx answer whose body is a JSON object (*json, caller frees); -1: err filled. */
int lc_http_request(const lc_http *h, const char *method, const char *path, const char *body,
                    const char *auth, struct cJSON **json, lc_error *err);
/* The error for a final non-2xx answer; also what lc_http_request uses. */
void lc_http_error_for(int status, const char *body, size_t len, lc_error *err);
double lc_parse_retry_after(const char *value, int64_t now);     /* seconds, -1: none */
double lc_backoff(int attempt);

/* ---- client.c / online.c ---- */
struct lc_client {
    char *server, *product, *state_dir, *state_path;
    char installation_id[160];
    lc_keyring keys;
    int64_t (*clock)(void *ctx);
    void *clock_ctx;
    lc_http http;
    /* The last state read and verified, by its exact bytes. */
    char *raw;
    size_t raw_len;
    lc_state state;
    lc_cert cert;
    int features_visible; /* the last status had a certificate */
};
void lc_forget(lc_client *c); /* drops the cached state */

/* online.c: what an answer does, apart from the transport (fuzzed by the tests) */
int lc_accept_activation(lc_client *c, const struct cJSON *answer, lc_error *err);
int lc_accept_checkin(lc_client *c, const lc_state *stored, const struct cJSON *answer,
                      lc_error *err);
void lc_checkin_refused(lc_client *c, const lc_state *stored, const lc_error *err);
/* The stored activation of this product and installation (0), or err filled. */
int lc_stored(lc_client *c, lc_state *s, lc_error *err);

/* update.c: the update object of a /updates answer, its UP1 manifest verified
 * and agreeing with it (unit-tested apart from the transport). */
int lc_update_from_answer(const lc_keyring *ring, const char *product, const struct cJSON *update,
                          int timeout_ms, int retries, lc_update **out, lc_error *err);

#endif
