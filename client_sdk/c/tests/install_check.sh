#!/bin/sh
# Installs the C SDK from build folder $1 into a temporary prefix and builds a
# tiny program against it with pkg-config, shared and static; both must run.
set -eu
build=$1
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
for f in include/licclient.h lib/liblicclient.so lib/liblicclient.a lib/pkgconfig/licclient.pc; do
  test -e "$prefix/$f" || { echo "install: $f missing" >&2; exit 1; }
done
grep -q "^prefix=$prefix\$" "$prefix/lib/pkgconfig/licclient.pc" || {
  echo "install: licclient.pc does not carry the prefix $prefix" >&2; exit 1; }
cat > "$prefix/hello.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <licclient.h>
int main(void)
{
    lc_options o = {0};
    lc_client *c = NULL;
    lc_error err;
    o.server_url = "http://127.0.0.1:9";
    o.product = "cad-pro";
    o.public_keys = "k1=A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg";
    o.installation_id = "install-check-01";
    o.state_dir = getenv("LC_STATE");
    if (lc_client_new(&o, &c, &err) != 0) { printf("%s\n", err.code); return 1; }
    lc_status st;
    lc_status_get(c, &st);
    printf("licclient %s: %s\n", lc_version(), st.code);
    lc_client_free(c);
    return strcmp(st.code, "NOT_ACTIVATED") != 0;
}
C
sed -i 's/#include <string.h>/#include <string.h>\n#include <stdlib.h>/' "$prefix/hello.c"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cc -std=c11 -Wall -Wextra -Werror "$prefix/hello.c" -o "$prefix/hello-shared" $(pkg-config --cflags --libs licclient)
# --static names every library a static link needs (curl's own private ones
# too, which Debian ships only as shared objects): check ours are listed, then
# link liblicclient.a with the shared libraries of its dependencies.
static_libs=$(pkg-config --static --libs licclient)
for l in -lcurl -lsodium -lcjson -lm; do
  echo " $static_libs " | grep -q -- " $l " || { echo "install: --static lacks $l" >&2; exit 1; }
done
cc -std=c11 -Wall -Wextra -Werror "$prefix/hello.c" -o "$prefix/hello-static" \
  $(pkg-config --cflags licclient) "$prefix/lib/liblicclient.a" \
  $(pkg-config --libs libcurl libsodium libcjson) -lm
LC_STATE="$prefix/state" LD_LIBRARY_PATH="$prefix/lib" "$prefix/hello-shared"
LC_STATE="$prefix/state" "$prefix/hello-static"
if ldd "$prefix/hello-static" | grep -q liblicclient; then
  echo "install: the static program links liblicclient.so" >&2; exit 1
fi
echo "install check: ok (shared and static, pkg-config prefix $prefix)"
