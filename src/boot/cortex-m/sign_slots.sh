#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# sign_slots.sh BUILD_DIR KEY.pem VERSION OUT_DIR [ota sign options...] -
# sign the SMP demo app of one version both ways, as a per-slot release
# needs it (docs/boot-port.md 3.4): BUILD_DIR/app-a-VERSION-smp.bin linked
# for slot A and app-b-VERSION-smp.bin linked for slot B become
# OUT_DIR/app-VERSION-slotA.img and app-VERSION-slotB.img, each with its
# LINK_SLOT TLV (--link-slot) and its slot's flash address (--rom-fixed,
# which the port checks before the jump). Upload the A image as a release
# and the B image to POST /v1/releases/{id}/images. The ota tool comes from
# $OTA (default: ota on PATH); extra options (e.g. --security-counter 2)
# go to both `ota sign` runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: sign_slots.sh BUILD_DIR KEY.pem VERSION OUT_DIR [ota sign options...]}
key=${2:?key}
version=${3:?version}
out=${4:?output directory}
shift 4
ota=${OTA:-ota}
# board.h: the flash base, slot offsets and header size, read, not repeated
board() { sed -n "s/^#define $1 \\(0x[0-9a-fA-F]*\\).*/\\1/p" "$here/board.h"; }
base=$(board BOARD_FLASH_BASE)
hdr=$(board BOARD_IMAGE_HDR_SIZE)
mkdir -p "$out"
for slot in A B; do
  off=$(board "BOARD_SLOT_${slot}_OFF")
  lower=$(echo "$slot" | tr AB ab)
  "$ota" sign --key "$key" --version "$version" --hw-id mps2-an385 -H "$hdr" \
    --link-slot "$slot" --rom-fixed "$(printf '0x%x' $((base + off)))" "$@" \
    "$build/app-$lower-$version-smp.bin" "$out/app-$version-slot$slot.img"
done
