/* What differs between Linux, macOS and Windows: files and folders (atomic,
 * user-only), the per-user state folder, the machine's identity, clocks,
 * sleeping and the host name. Windows and macOS branches are compiled by the
 * mingw-w64 syntax check in sdk.mk but run only on those systems. */
#if !defined(_WIN32)
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#endif

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _WIN32
#include <windows.h>
#include <direct.h>
#include <fcntl.h>
#include <io.h>
#include <sys/stat.h>
#else
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <unistd.h>
#endif

#include <sodium.h>

#include "internal.h"

char *lc_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, a);
#ifdef _WIN32
    p[a] = '\\';
#else
    p[a] = '/';
#endif
    memcpy(p + a + 1, name, b + 1);
    return p;
}

/* ---- files ---------------------------------------------------------------- */
#ifdef _WIN32
static wchar_t *wide(const char *utf8)
{
    int n = MultiByteToWideChar(CP_UTF8, 0, utf8, -1, NULL, 0);
    wchar_t *w = n > 0 ? malloc((size_t)n * sizeof *w) : NULL;
    if (w)
        MultiByteToWideChar(CP_UTF8, 0, utf8, -1, w, n);
    return w;
}

static int make_dir(const char *path)
{
    wchar_t *w = wide(path);
    int rc = w && (CreateDirectoryW(w, NULL) || GetLastError() == ERROR_ALREADY_EXISTS) ? 0 : -1;
    free(w);
    return rc;
}
#else
static int make_dir(const char *path)
{
    return mkdir(path, 0700) == 0 || errno == EEXIST ? 0 : -1;
}
#endif

int lc_mkdirs(const char *path)
{
    char *copy = lc_strdup(path);
    if (!copy)
        return -1;
    for (char *p = copy + 1; *p; p++) {
        if (*p == '/' || *p == '\\') {
            char c = *p;
            *p = '\0';
            if (!(p > copy && p[-1] == ':')) /* "C:" is no folder to make */
                make_dir(copy);
            *p = c;
        }
    }
    int rc = make_dir(copy);
    free(copy);
    return rc;
}

int lc_read_file(const char *path, size_t max, char **out, size_t *len)
{
#ifdef _WIN32
    wchar_t *w = wide(path);
    int fd = w ? _wopen(w, _O_RDONLY | _O_BINARY) : -1;
    free(w);
#else
    int fd = open(path, O_RDONLY | O_CLOEXEC);
#endif
    if (fd < 0)
        return errno == ENOENT ? 1 : -1;
    char *buf = malloc(max + 2);
    size_t n = 0;
    int rc = buf ? 0 : -1;
    while (rc == 0 && n < max + 1) {
#ifdef _WIN32
        int got = _read(fd, buf + n, (unsigned)(max + 1 - n));
#else
        ssize_t got = read(fd, buf + n, max + 1 - n);
#endif
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            rc = -1;
        else if (got == 0)
            break;
        else
            n += (size_t)got;
    }
#ifdef _WIN32
    _close(fd);
#else
    close(fd);
#endif
    if (rc) {
        free(buf);
        return -1;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

#ifndef _WIN32
static void fsync_dir(const char *dir) /* dir NULL: none */
{
    int fd = dir ? open(dir, O_RDONLY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}
#endif

int lc_write_atomic(const char *dir, const char *path, const char *data, size_t len)
{
    char *tmp = malloc(strlen(path) + 16);
    if (!tmp)
        return -1;
    int rc = -1;
#ifdef _WIN32
    (void)dir;
    unsigned char rnd[4];
    for (int tries = 0; tries < 8 && rc; tries++) {
        randombytes_buf(rnd, sizeof rnd);
        sprintf(tmp, "%s.%02x%02x%02x%02x.tmp", path, rnd[0], rnd[1], rnd[2], rnd[3]);
        wchar_t *wt = wide(tmp), *wp = wide(path);
        int fd = wt ? _wopen(wt, _O_WRONLY | _O_CREAT | _O_EXCL | _O_BINARY, _S_IREAD | _S_IWRITE)
                    : -1;
        if (fd < 0) {
            free(wt), free(wp);
            continue;
        }
        int ok = _write(fd, data, (unsigned)len) == (int)len && _commit(fd) == 0;
        _close(fd);
        if (ok && wp && MoveFileExW(wt, wp, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
            rc = 0;
        else
            _wunlink(wt);
        free(wt), free(wp);
        if (!ok)
            break;
    }
#else
    sprintf(tmp, "%s.XXXXXX", path);
    int fd = mkstemp(tmp); /* mode 0600 */
    if (fd >= 0) {
        size_t off = 0;
        while (off < len) {
            ssize_t n = write(fd, data + off, len - off);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            off += (size_t)n;
        }
        int ok = off == len && fchmod(fd, 0600) == 0 && fsync(fd) == 0;
        ok = close(fd) == 0 && ok;
        if (ok && rename(tmp, path) == 0) {
            fsync_dir(dir);
            rc = 0;
        } else {
            unlink(tmp);
        }
    }
#endif
    free(tmp);
    return rc;
}

FILE *lc_fopen(const char *path, const char *mode)
{
#ifdef _WIN32
    wchar_t *wp = wide(path), *wm = wide(mode);
    FILE *f = wp && wm ? _wfopen(wp, wm) : NULL;
    free(wp), free(wm);
    return f;
#else
    return fopen(path, mode);
#endif
}

int lc_file_size(const char *path, int64_t *size)
{
    *size = 0;
#ifdef _WIN32
    struct _stat64 sb;
    wchar_t *w = wide(path);
    int rc = w ? _wstat64(w, &sb) : -1;
    free(w);
#else
    struct stat sb;
    int rc = stat(path, &sb);
#endif
    if (rc != 0)
        return errno == ENOENT ? 1 : -1;
    *size = (int64_t)sb.st_size;
    return 0;
}

int lc_rename(const char *from, const char *to)
{
#ifdef _WIN32
    wchar_t *wf = wide(from), *wt = wide(to);
    int rc = wf && wt && MoveFileExW(wf, wt, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)
                 ? 0
                 : -1;
    free(wf), free(wt);
    return rc;
#else
    return rename(from, to) == 0 ? 0 : -1;
#endif
}

int lc_remove_file(const char *dir, const char *path)
{
#ifdef _WIN32
    (void)dir;
    wchar_t *w = wide(path);
    int rc = w && (_wunlink(w) == 0 || errno == ENOENT) ? 0 : -1;
    free(w);
    return rc;
#else
    if (unlink(path) != 0)
        return errno == ENOENT ? 0 : -1;
    fsync_dir(dir);
    return 0;
#endif
}

/* ---- the per-user state folder ------------------------------------------ */
static char *env_join(const char *var, const char *fallback_rel, const char *leaf)
{
    const char *base = var ? getenv(var) : NULL;
    char *dir = NULL;
    if (base && *base) {
        dir = lc_join(base, leaf);
    } else {
#ifdef _WIN32
        const char *home = getenv("USERPROFILE");
#else
        const char *home = getenv("HOME");
#endif
        if (!home || !*home)
            return NULL;
        char *mid = lc_join(home, fallback_rel);
        dir = mid ? lc_join(mid, leaf) : NULL;
        free(mid);
    }
    return dir;
}

char *lc_default_state_dir(void)
{
#if defined(_WIN32)
    return env_join("LOCALAPPDATA", "AppData\\Local", "licclient");
#elif defined(__APPLE__)
    return env_join(NULL, "Library/Application Support", "licclient");
#else
    return env_join("XDG_STATE_HOME", ".local/state", "licclient");
#endif
}

/* ---- the machine's identity -------------------------------------------- */
char *lc_usable_identity(const char *text)
{
    if (!text)
        return NULL;
    while (*text && isspace((unsigned char)*text))
        text++;
    size_t n = strlen(text);
    while (n && isspace((unsigned char)text[n - 1]))
        n--;
    /* systemd writes "uninitialized" during first boot; all zeros is no identity either */
    if (n == 0 || (n == 13 && memcmp(text, "uninitialized", 13) == 0) ||
        strspn(text, "0-") >= n)
        return NULL;
    char *out = malloc(n + 1);
    if (out) {
        memcpy(out, text, n);
        out[n] = '\0';
    }
    return out;
}

char *lc_parse_ioreg(const char *out)
{
    const char *p = out ? strstr(out, "\"IOPlatformUUID\"") : NULL;
    if (!p)
        return NULL;
    p += strlen("\"IOPlatformUUID\"");
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p++ != '=')
        return NULL;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p++ != '"')
        return NULL;
    const char *end = strchr(p, '"');
    if (!end || end == p || end - p > 200)
        return NULL;
    char value[256];
    memcpy(value, p, (size_t)(end - p));
    value[end - p] = '\0';
    return lc_usable_identity(value);
}

#if defined(_WIN32)
char *lc_machine_identity(void)
{
    char value[256];
    DWORD size = sizeof value;
    if (RegGetValueA(HKEY_LOCAL_MACHINE, "SOFTWARE\\Microsoft\\Cryptography", "MachineGuid",
                     RRF_RT_REG_SZ | RRF_SUBKEY_WOW6464KEY, NULL, value, &size) != ERROR_SUCCESS)
        return NULL;
    value[sizeof value - 1] = '\0';
    return lc_usable_identity(value);
}
#elif defined(__APPLE__)
char *lc_machine_identity(void)
{
    FILE *p = popen("/usr/sbin/ioreg -rd1 -c IOPlatformExpertDevice", "r");
    if (!p)
        return NULL;
    char out[16384];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    pclose(p);
    return lc_parse_ioreg(out);
}
#else
char *lc_machine_identity(void)
{
    static const char *const files[] = {"/etc/machine-id", "/var/lib/dbus/machine-id"};
    for (size_t i = 0; i < 2; i++) {
        char *raw;
        size_t len;
        if (lc_read_file(files[i], 4096, &raw, &len) == 0) {
            char *id = lc_usable_identity(raw);
            free(raw);
            if (id)
                return id;
        }
    }
    return NULL;
}
#endif

/* ---- clocks, sleeping, names ---------------------------------------------- */
int64_t lc_system_clock(void *ctx)
{
    (void)ctx;
    return (int64_t)time(NULL);
}

void lc_sleep_ms(long ms)
{
    if (ms <= 0)
        return;
#ifdef _WIN32
    Sleep((DWORD)ms);
#else
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
#endif
}

void lc_hostname(char *buf, size_t size)
{
#ifdef _WIN32
    const char *name = getenv("COMPUTERNAME");
    lc_copy(buf, size, name && *name ? name : "unknown");
#else
    if (gethostname(buf, size) != 0 || !buf[0])
        lc_copy(buf, size, "unknown");
    buf[size - 1] = '\0';
#endif
}

void lc_os_name(char *buf, size_t size)
{
#ifdef _WIN32
    lc_copy(buf, size, "Windows");
#else
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(buf, size, "%s %s", u.sysname, u.release);
    else
        lc_copy(buf, size, "");
#endif
}
