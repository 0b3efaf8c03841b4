#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# fetch_mbedtls.sh DEST - put the mbedTLS source tree that matches the host's
# libmbedtls-dev into DEST, from Debian's own source package (apt-get source;
# needs a deb-src entry, which scripts/setup.sh adds). Nothing third-party is
# ever copied into the ota repository: the MCU build compiles from DEST.
# Idempotent: an existing tree is kept. OTA_MBEDTLS_SRC_VERSION overrides the
# version (default: the installed libmbedtls-dev's).
set -euo pipefail
dest=${1:?usage: fetch_mbedtls.sh DEST}
if [ -f "$dest/library/ecdsa.c" ] && [ -f "$dest/include/mbedtls/ecdsa.h" ]; then
  exit 0
fi
ver=${OTA_MBEDTLS_SRC_VERSION:-$(dpkg-query -W -f='${Version}' libmbedtls-dev 2>/dev/null || true)}
spec=mbedtls
if [ -n "$ver" ]; then spec="mbedtls=$ver"; fi
work=$(mktemp -d "${dest%/}.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "fetch_mbedtls: apt-get source --download-only $spec"
fetch() { (cd "$work" && apt-get source --download-only -qq "$1" >/dev/null 2>"$work/err"); }
if ! fetch "$spec" && [ "$spec" != mbedtls ]; then
  echo "fetch_mbedtls: $spec not offered by the sources; taking the current mbedtls source" >&2
  spec=mbedtls
  fetch "$spec" || true
fi
if ! ls "$work"/mbedtls_*.dsc >/dev/null 2>&1; then
  cat "$work/err" >&2
  echo "fetch_mbedtls: cannot download the mbedtls source package ($spec)." >&2
  echo "  Debian source packages need a deb-src entry: run scripts/setup.sh, or add" >&2
  echo "  'deb-src' to the Types: line of /etc/apt/sources.list.d/debian.sources and" >&2
  echo "  run apt-get update; or pass -DOTA_MBEDTLS_SRC=/path/to/mbedtls-2.28." >&2
  exit 1
fi
dsc=$(ls "$work"/mbedtls_*.dsc)
dpkg-source --no-check -x "$dsc" "$work/tree" >/dev/null
rm -rf "$dest"
mv "$work/tree" "$dest"
echo "fetch_mbedtls: $(basename "$dsc" .dsc) in $dest"
