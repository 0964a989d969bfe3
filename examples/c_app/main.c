/* A small C product embedding licclient: the first start asks for a licence
 * key, later starts work offline, "deactivate" gives the seat back, every
 * error is said in plain words, and a newer version the licence includes is
 * announced and downloaded (verified) into C_APP_DOWNLOAD_DIR (default: the
 * current folder).
 *
 *   c_app SERVER_URL PUBLIC_KEYS [deactivate]
 *   (PUBLIC_KEYS: "kid=base64url[,...]" as GET /api/v1/keys lists them; a
 *   real product compiles its keys in.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <licclient.h>

#define PRODUCT "cad-pro"
#define VERSION "1.0.0"

#if defined(_WIN32)
#define PLATFORM "windows"
#elif defined(__APPLE__)
#define PLATFORM "macos"
#else
#define PLATFORM "linux"
#endif
#if defined(__x86_64__) || defined(_M_X64)
#define ARCH "x86_64"
#elif defined(__aarch64__) || defined(_M_ARM64)
#define ARCH "arm64"
#else
#define ARCH NULL
#endif

static const char *plain_words(const char *code)
{
    static const struct {
        const char *code, *words;
    } table[] = {
        {"INVALID_CREDENTIALS", "That licence key was not accepted. Check it and try again."},
        {"SEAT_LIMIT_REACHED",
         "Every seat of this licence is in use. Deactivate another computer first."},
        {"LICENSE_EXPIRED", "This licence has expired. Renew it to keep working."},
        {"LICENSE_SUSPENDED", "This licence is suspended. Contact your vendor."},
        {"LICENSE_REVOKED", "This licence was revoked. Contact your vendor."},
        {"DEACTIVATED", "This computer was deactivated. Enter your licence key again."},
        {"RATE_LIMITED", "The licence server is busy. Try again in a minute."},
        {"NETWORK_ERROR", "The licence server cannot be reached. Check your internet connection."},
        {"CERTIFICATE_INVALID", "The licence on this computer is damaged. Activate again."},
        {"STATE_ERROR", "The licence cannot be saved on this computer (check disk space and rights)."},
        {"NOT_ACTIVATED", "This computer is not activated."},
        {"CLOCK_TAMPERED", "This computer's clock is wrong. Set the date and time correctly."},
        {"CHECKIN_REQUIRED", "Connect to the internet once so the licence can be renewed."},
    };
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if (strcmp(table[i].code, code) == 0)
            return table[i].words;
    return "The licence server refused the request.";
}

/* At every start: is there a newer version? An error here never stops the work. */
static void offer_update(lc_client *c)
{
    lc_update *u = NULL;
    lc_error err;
    if (lc_check_update(c, VERSION, "stable", PLATFORM, ARCH, &u, &err) != 0) {
        printf("Could not check for updates: %s\n", plain_words(err.code));
        return;
    }
    if (!u)
        return;
    printf("A new version is available: %s\n", u->version);
    const char *dir = getenv("C_APP_DOWNLOAD_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/cad-pro-%s.bin", dir && *dir ? dir : ".", u->version);
    if (lc_update_download(u, path, &err) == 0)
        printf("Downloaded and verified: %s (SHA-256 %s)\n", path, u->sha256);
    else
        printf("The update could not be downloaded: %s\n", err.detail);
    lc_update_free(u);
}

static int activate_interactively(lc_client *c)
{
    char key[2048];
    for (int tries = 0; tries < 3; tries++) {
        printf("Enter your licence key: ");
        fflush(stdout);
        if (!fgets(key, sizeof key, stdin))
            return 1;
        key[strcspn(key, "\r\n")] = '\0';
        lc_status st;
        lc_error err;
        if (lc_activate_key(c, key, &st, &err) == 0) {
            printf("Thank you: licence %s is active on this computer.\n", st.license_id);
            return 0;
        }
        printf("%s\n", plain_words(err.code));
        if (strcmp(err.code, "INVALID_CREDENTIALS") != 0 && strcmp(err.code, "INVALID_ARGUMENT"))
            return 1;
    }
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s SERVER_URL PUBLIC_KEYS [deactivate]\n", argv[0]);
        return 2;
    }
    lc_options opts = {.server_url = argv[1], .product = PRODUCT, .public_keys = argv[2]};
    lc_client *c;
    lc_error err;
    if (lc_client_new(&opts, &c, &err) != 0) {
        fprintf(stderr, "This copy is not set up correctly: %s\n", err.detail);
        return 2;
    }
    int rc = 0;
    if (argc > 3 && strcmp(argv[3], "deactivate") == 0) {
        /* the menu item "Deactivate this computer" */
        if (lc_deactivate(c, &err) == 0)
            printf("This computer is deactivated; its seat is free for another one.\n");
        else
            printf("%s\n", plain_words(err.code)), rc = 1;
        lc_client_free(c);
        return rc;
    }
    lc_status st;
    lc_status_get(c, &st); /* offline, at every start */
    if (!strcmp(st.code, "NOT_ACTIVATED") || !strcmp(st.code, "CERTIFICATE_INVALID"))
        rc = activate_interactively(c);
    else if (!strcmp(st.code, "CHECKIN_REQUIRED") || !strcmp(st.code, "CLOCK_TAMPERED"))
        rc = lc_checkin(c, &st, &err) == 0 ? 0 : (printf("%s\n", plain_words(err.code)), 1);
    else if (!st.valid)
        printf("%s\n", plain_words(st.code)), rc = 1;
    if (rc == 0) {
        lc_status_get(c, &st);
        printf("Working (licence %s%s).\n", st.license_id,
               lc_has_feature(c, "export") ? ", export enabled" : "");
        offer_update(c);
    }
    lc_client_free(c);
    return rc;
}
