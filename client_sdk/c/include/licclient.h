/* licclient — the licserver client SDK for C and every language with a C FFI.
 *
 * Offline status over the stored AC1 certificate, activation, check-in and
 * deactivation against a licserver, update checks and verified downloads; the same behaviour, codes and state file
 * as the Python SDK (see README.md next to this header's sources).
 *
 * A client is used from one thread at a time; separate clients are independent.
 * Strings are UTF-8 and NUL-terminated.
 */
#ifndef LICCLIENT_H
#define LICCLIENT_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32) && defined(LICCLIENT_SHARED_BUILD)
#define LC_API __declspec(dllexport)
#elif defined(_WIN32) && !defined(LICCLIENT_STATIC)
#define LC_API __declspec(dllimport)
#elif defined(__GNUC__)
#define LC_API __attribute__((visibility("default")))
#else
#define LC_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lc_client lc_client;
typedef struct {
    const char *server_url, *product;
    const char *public_keys;      /* "kid=base64url[,kid=base64url...]" */
    const char *state_dir;        /* NULL: the per-user default */
    const char *installation_id;  /* NULL: derived from the machine */
    int64_t (*clock)(void *ctx);  /* NULL: the system clock; unix seconds */
    void *clock_ctx;
    int timeout_ms;               /* 0: 10000 */
} lc_options;
typedef struct {
    int valid;                    /* 1 when code is "VALID" */
    char code[32];                /* the status codes of the Python SDK */
    char license_id[64];
    int64_t expires_at;           /* unix seconds; 0: never */
    int64_t offline_until;        /* unix seconds; 0: not activated */
} lc_status;
typedef struct {
    char code[48];                /* a server code of the table above, or
                                     NETWORK_ERROR, CERTIFICATE_INVALID,
                                     STATE_ERROR, INVALID_ARGUMENT */
    char detail[512];
    int http_status;              /* 0 when no answer came */
} lc_error;

/* Functions that return int return 0 on success and non-zero on failure, with
 * err filled; st and err may each be NULL, and on failure st holds what
 * lc_status_get would answer then. */
LC_API int  lc_client_new(const lc_options *opts, lc_client **out, lc_error *err);
LC_API void lc_client_free(lc_client *c);
LC_API const char *lc_installation_id(const lc_client *c);
LC_API int  lc_activate_key(lc_client *c, const char *license_key, lc_status *st, lc_error *err);
LC_API int  lc_activate_password(lc_client *c, const char *license_id,
                                 const char *activation_password, lc_status *st, lc_error *err);
LC_API int  lc_activate_company(lc_client *c, const char *customer_number,
                                const char *company_password, lc_status *st, lc_error *err);
LC_API void lc_status_get(lc_client *c, lc_status *st);   /* offline; never fails */
LC_API int  lc_checkin(lc_client *c, lc_status *st, lc_error *err);  /* DEACTIVATED removes the local activation */
LC_API int  lc_deactivate(lc_client *c, lc_error *err);
LC_API int  lc_has_feature(lc_client *c, const char *name);          /* 1 or 0, offline */
LC_API const char *lc_version(void);

/* Extension beyond API.md: the index-th feature of the certificate the last
 * lc_status_get (or call returning a status) read, NULL past the end or when
 * that status had no certificate (NOT_ACTIVATED, CERTIFICATE_INVALID). Valid
 * until the next call on the client. */
LC_API const char *lc_feature_at(const lc_client *c, size_t index);

/* Updates (API.md "Updates"): the newest release this licence may have above
 * current_version on channel (NULL: "stable") or a more stable one, for
 * platform/arch ("windows", "macos", "linux"; "x86_64", "arm64"; NULL: only
 * artifacts for every platform/arch). Returns 0 with *out NULL when there is
 * none, 0 with *out set (free it with lc_update_free) when there is one; its
 * answer signature and UP1 manifest are verified with the pinned keys and the
 * manifest agrees with the answer (CERTIFICATE_INVALID otherwise). Errors as
 * for lc_checkin (NOT_ACTIVATED, INVALID_CREDENTIALS, DEACTIVATED, ...; a
 * current_version the server cannot read: VALIDATION_FAILED), but the local
 * activation is left as it is. The library allocates lc_update; fields may be
 * added at its end in later versions. */
typedef struct {
    char version[128];
    char channel[64];
    char platform[16];            /* "": the artifact is for every platform */
    char arch[16];                /* "": for every architecture */
    char sha256[65];              /* lower-case hex */
    int64_t size;                 /* bytes */
    int64_t released_at;          /* unix seconds */
    const char *notes;            /* release notes as the vendor wrote them; NULL: none */
    const char *download_url;     /* short-lived, bound to this activation */
    const char *manifest;         /* the UP1 token */
} lc_update;
LC_API int  lc_check_update(lc_client *c, const char *current_version, const char *channel,
                            const char *platform, const char *arch, lc_update **out,
                            lc_error *err);
/* Downloads the update to path. PATH.part left by an interrupted download is
 * resumed (HTTP Range); the file gets its name (an atomic rename) only once
 * its size and SHA-256 match the verified manifest. A wrong file is removed
 * and never appears under path: CERTIFICATE_INVALID. A server error (an
 * expired link: LINK_EXPIRED; check again for a fresh one) or NETWORK_ERROR
 * keeps the .part for the next try; STATE_ERROR: it cannot be written. */
LC_API int  lc_update_download(const lc_update *u, const char *path, lc_error *err);
LC_API void lc_update_free(lc_update *u);

#ifdef __cplusplus
}
#endif
#endif /* LICCLIENT_H */
