#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Regenerates the seed corpus of fuzz_image (fuzz/corpus/image/): a few small
# valid images signed with the test-only key fuzz/image-fuzz-key.pem (which
# fuzz_image.c trusts), and near-valid ones (wrong hw id, low counter, no
# protected TLVs, padded, truncated, a TLV length off by one).
# Usage: fuzz/make_image_corpus.sh [path/to/ota]
set -euo pipefail
cd "$(dirname "$0")"
OTA=${1:-../build/src/tool/ota}
OUT=corpus/image
KEY=image-fuzz-key.pem
mkdir -p "$OUT"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
head -c 64 /dev/zero | tr '\0' 'A' > "$tmp/p64"
printf 'x' > "$tmp/p1"
head -c 300 /dev/zero | tr '\0' '\177' > "$tmp/p300"

"$OTA" sign -q --key "$KEY" --version 1.0.0+1 --security-counter 2 --hw-id fuzz-board "$tmp/p64" "$OUT/valid.img"
"$OTA" sign -q --key "$KEY" --version 2.3.4 --security-counter 9 --hw-id fuzz-board --header-size 64 "$tmp/p1" "$OUT/valid-hdr64.img"
"$OTA" sign -q --key "$KEY" --version 1 --security-counter 1 --hw-id fuzz-board "$tmp/p64" "$OUT/rollback.img"
"$OTA" sign -q --key "$KEY" --version 1 --security-counter 5 --hw-id other "$tmp/p64" "$OUT/wrong-hw.img"
"$OTA" sign -q --key "$KEY" --version 1 "$tmp/p300" "$OUT/no-protected.img"
"$OTA" sign -q --key "$KEY" --version 1 --security-counter 3 --hw-id fuzz-board --slot-size 1024 --confirm "$tmp/p64" "$OUT/padded.img"
size=$(stat -c %s "$OUT/valid.img")
head -c $((size - 10)) "$OUT/valid.img" > "$OUT/truncated.img"
cp "$OUT/valid.img" "$OUT/tlv-len.img"
# first unprotected TLV (SHA256) length 32 -> 33: off by one
off=$((32 + 64 + 4 + 8 + 14 + 4 + 2))
printf '\x21' | dd of="$OUT/tlv-len.img" bs=1 seek=$off conv=notrunc status=none
ls -l "$OUT"
