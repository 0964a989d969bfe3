/* The installation ID: HMAC-SHA256(key = the machine's identity,
 * msg = "licclient/installation-id/v1:" + product), the first 40 hex digits —
 * the Python SDK's derivation, so both SDKs name one machine alike. Without a
 * machine identity (minimal containers) a random one is kept once in
 * STATE_DIR/machine-id. */
#if !defined(_WIN32)
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <io.h>
#include <sys/stat.h>
#else
#include <unistd.h>
#endif

#include <sodium.h>

#include "internal.h"

#define DOMAIN "licclient/installation-id/v1:"

void lc_derive_installation_id(const char *identity, const char *product, char out[41])
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)identity, strlen(identity));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)DOMAIN, strlen(DOMAIN));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)product, strlen(product));
    crypto_auth_hmacsha256_final(&st, mac);
    char hex[2 * sizeof mac + 1];
    sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
    memcpy(out, hex, 40);
    out[40] = '\0';
}

static char *read_identity(const char *path)
{
    char *raw;
    size_t len;
    if (lc_read_file(path, 4096, &raw, &len) != 0)
        return NULL;
    char *id = lc_usable_identity(raw);
    free(raw);
    return id;
}

static char *fallback_identity(const char *state_dir)
{
    char *path = lc_join(state_dir, "machine-id");
    char *found = NULL;
    for (int i = 0; path && i < 2 && !found; i++) {
        if ((found = read_identity(path)))
            break;
        lc_mkdirs(state_dir);
#ifdef _WIN32
        int fd = _open(path, _O_WRONLY | _O_CREAT | _O_EXCL | _O_BINARY, _S_IREAD | _S_IWRITE);
#else
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
#endif
        if (fd < 0) {
            if (errno == EEXIST)
                continue; /* another process made it first: read theirs */
            break;
        }
        unsigned char rnd[16];
        char line[34];
        randombytes_buf(rnd, sizeof rnd);
        sodium_bin2hex(line, sizeof line, rnd, sizeof rnd);
        line[32] = '\n';
#ifdef _WIN32
        int ok = _write(fd, line, 33) == 33 && _commit(fd) == 0;
        _close(fd);
#else
        int ok = write(fd, line, 33) == 33 && fsync(fd) == 0;
        close(fd);
#endif
        (void)ok;
    }
    if (!found && path)
        found = read_identity(path);
    free(path);
    return found;
}

int lc_installation_id_from_machine(const char *product, const char *state_dir, char out[41])
{
    char *identity = lc_machine_identity();
    if (!identity)
        identity = fallback_identity(state_dir);
    if (!identity)
        return -1;
    lc_derive_installation_id(identity, product, out);
    sodium_memzero(identity, strlen(identity));
    free(identity);
    return 0;
}
