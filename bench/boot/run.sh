#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/boot/run.sh - boot and update cost figures for docs/benchmarks.md:
#  1. flash erases / bytes programmed per update cycle, per geometry
#     (bench_boot cost);
#  2. boot-time verification of a device whose slot holds a 256 KiB image,
#     as instruction counts under valgrind --tool=callgrind, per crypto
#     backend, beside SHA-256 of the same bytes alone with the same backend
#     (the floor any verifying bootloader pays) as the reference.
# Usage: bench/boot/run.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
if [ ! -x "$BUILD/bench/boot/bench_boot" ]; then
  cmake -S . -B "$BUILD" >/dev/null
  cmake --build "$BUILD" -j2 --target bench_boot >/dev/null
fi
BENCH=$BUILD/bench/boot/bench_boot
command -v valgrind >/dev/null || { echo "valgrind not found (scripts/setup.sh installs it)"; exit 1; }

echo "== flash cost per update cycle"
"$BENCH" cost
echo
echo "== boot-time verification of a 256 KiB image (valgrind callgrind, instructions)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "| backend | SHA-256 alone (Ir) | boot: stage 0 + bootloader (Ir) | ..image verify (Ir) | ..ECDSA P-256 verify (Ir) | ..stage 0 (Ir) | boot / SHA-256 alone |"
echo "|---|---|---|---|---|---|---|"
for b in openssl mbedtls; do
  case $b in openssl) ecdsa=os_p256_verify ;; mbedtls) ecdsa=mb_p256_verify ;; esac
  for fn in bench_sha_only bench_boot_once; do
    valgrind --tool=callgrind --collect-atstart=no --toggle-collect="$fn" \
      --callgrind-out-file="$tmp/cg.$b.$fn" "$BENCH" verify "$b" >/dev/null 2>"$tmp/vg" || {
      cat "$tmp/vg"; exit 1; }
  done
  ir() { callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null |
         grep -E "[ :]$2( |\$|\[)" | head -n1 | awk '{gsub(",","",$1); print $1}'; }
  sha=$(ir "$tmp/cg.$b.bench_sha_only" bench_sha_only)
  boot=$(ir "$tmp/cg.$b.bench_boot_once" bench_boot_once)
  ver=$(ir "$tmp/cg.$b.bench_boot_once" ota_image_verify)
  sig=$(ir "$tmp/cg.$b.bench_boot_once" "$ecdsa")
  s0=$(ir "$tmp/cg.$b.bench_boot_once" ota_boot_stage0)
  ratio=$(awk -v a="$boot" -v b="$sha" 'BEGIN{printf "%.2f", a/b}')
  echo "| $b | $sha | $boot | $ver | $sig | $s0 | $ratio |"
done
echo
echo "(stage 0 hashes the 16 KiB bootloader region; a boot verifies the confirmed slot once;"
echo " valgrind hides SHA-NI, so OpenSSL runs its SIMD SHA-256 code path here)"
