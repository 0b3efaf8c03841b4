#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# fetch_mbedtls.sh DEST - put the mbedTLS 3.6 LTS source tree the MCU build
# compiles (SHA-256 and the bundled p256-m, see ota_mbedtls_config.h) into
# DEST, from Debian trixie's own source package (apt-get source; needs the
# deb-src-only trixie entry that scripts/setup.sh adds -- no trixie binary is
# ever installed). Nothing third-party is ever copied into the ota
# repository: the MCU build compiles from DEST.
# Idempotent: an existing 3.6 tree is kept. OTA_MBEDTLS_SRC_SPEC overrides
# what apt-get source is asked for (default: mbedtls/trixie; e.g.
# mbedtls=3.6.6-0.1~deb13u1 for one exact version).
set -euo pipefail
dest=${1:?usage: fetch_mbedtls.sh DEST}
want='"3\.6\.'
version_of() { grep -o 'MBEDTLS_VERSION_STRING  *"[0-9.]*"' "$1/include/mbedtls/build_info.h" 2>/dev/null || true; }
if [ -f "$dest/3rdparty/p256-m/p256-m/p256-m.c" ] && version_of "$dest" | grep -q "$want"; then
  exit 0
fi
spec=${OTA_MBEDTLS_SRC_SPEC:-mbedtls/trixie}
mkdir -p "$(dirname "$dest")"
work=$(mktemp -d "${dest%/}.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "fetch_mbedtls: apt-get source --download-only $spec"
if ! (cd "$work" && apt-get source --download-only -qq "$spec" >/dev/null 2>"$work/err") ||
   ! ls "$work"/mbedtls_*.dsc >/dev/null 2>&1; then
  cat "$work/err" >&2
  echo "fetch_mbedtls: cannot download the mbedtls source package ($spec)." >&2
  echo "  The MCU build needs mbedTLS 3.6 from Debian trixie's source package: run" >&2
  echo "  scripts/setup.sh (it adds a deb-src-only trixie entry and pins trixie" >&2
  echo "  binaries out), or pass -DOTA_MBEDTLS_SRC=/path/to/mbedtls-3.6." >&2
  exit 1
fi
dsc=$(ls "$work"/mbedtls_*.dsc)
dpkg-source --no-check -x "$dsc" "$work/tree" >/dev/null
if ! version_of "$work/tree" | grep -q "$want"; then
  echo "fetch_mbedtls: $(basename "$dsc") is not mbedTLS 3.6 ($(version_of "$work/tree"))" >&2
  exit 1
fi
rm -rf "$dest"
mv "$work/tree" "$dest"
echo "fetch_mbedtls: $(basename "$dsc" .dsc) in $dest"
