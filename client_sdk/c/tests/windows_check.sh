#!/bin/sh
# Cross-compiles every library source file for Windows (x86_64) with Debian's
# mingw-w64, warnings as errors. Debian packages no Windows builds of libcurl,
# libsodium or cJSON, so this compiles against the host's copies of their
# (portable) headers and stops before linking: the Windows paths (MachineGuid,
# %LOCALAPPDATA%, MoveFileExW) compile here but run only on Windows.
set -eu
CC=x86_64-w64-mingw32-gcc
if ! command -v $CC >/dev/null 2>&1; then
  if [ "${CI:-}" = "true" ]; then echo "windows check: $CC missing under CI=true" >&2; exit 1; fi
  echo "(windows cross-compile skipped: $CC missing; apt-get install gcc-mingw-w64-x86-64)"
  exit 0
fi
here=$(cd "$(dirname "$0")/.." && pwd)
inc=$(mktemp -d)
trap 'rm -rf "$inc"' EXIT
for h in sodium.h sodium cjson; do ln -s "/usr/include/$h" "$inc/$h"; done
# Debian keeps curl's headers under the architecture's folder
curl_dir=$(dirname "$(find /usr/include -name curl.h -path '*curl/curl.h' | head -1)")
ln -s "$curl_dir" "$inc/curl"
for src in "$here"/src/*.c; do
  $CC -std=c11 -Wall -Wextra -Werror -DLICCLIENT_SHARED_BUILD -DCURL_STATICLIB -DSODIUM_STATIC \
    -I"$here/include" -I"$here/src" -idirafter "$inc" -c "$src" -o "$inc/$(basename "$src").obj"
done
echo "windows check: ok ($(ls "$here"/src/*.c | wc -l) sources compiled for x86_64-w64-mingw32, not linked)"
# The macOS branch (ioreg's IOPlatformUUID, ~/Library/Application Support)
# with the host compiler pretending to be Apple's: syntax only, never run here.
cc -std=c11 -Wall -Wextra -Werror -D__APPLE__ -I"$here/include" -I"$here/src" -fsyntax-only "$here/src/platform.c"
echo "macos check: ok (platform.c's __APPLE__ branch, syntax only)"
