#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/verify/run.sh - image verification throughput vs OpenSSL's own SHA-256.
# Builds an 8 MiB signed image, then times on the same file (best of RUNS):
#   - ota_image_verify with the OpenSSL and the mbedTLS backends (bench_verify:
#     streaming read through a 1 MiB buffer + SHA-256 + ECDSA P-256 verify),
#   - `openssl dgst -sha256 FILE` (minus openssl's start-up time, measured on
#     an empty file, so the figure is its hashing throughput),
#   - `openssl speed -evp sha256` at 16 KiB blocks (pure in-memory hashing),
# and prints MB/s and ratios. Usage: bench/verify/run.sh [build-dir] [runs]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
RUNS=${2:-7}
OTA=$BUILD/src/tool/ota
BENCH=$BUILD/bench/verify/bench_verify
if [ ! -x "$OTA" ] || [ ! -x "$BENCH" ]; then
  cmake -S "$ROOT" -B "$BUILD" >/dev/null
  cmake --build "$BUILD" -j2 --target ota bench_verify >/dev/null
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
SIZE=$((8 * 1024 * 1024))
# Firmware-like input: real firmware when available, else random bytes.
fw_src=$(ls "$ROOT"/../shared/corpus/firmware/*.bin 2>/dev/null | head -n 1 || true)
if [ -n "$fw_src" ]; then
  while [ "$(stat -c %s "$work/fw.bin" 2>/dev/null || echo 0)" -lt $SIZE ]; do cat "$fw_src" >> "$work/fw.bin"; done
  head -c $SIZE "$work/fw.bin" > "$work/fw8.bin"
  input="$(basename "$fw_src") repeated to 8 MiB"
else
  input="8 MiB of random bytes"
  head -c $SIZE /dev/urandom > "$work/fw8.bin"
fi
"$OTA" keygen -o "$work/key.pem" 2>/dev/null
"$OTA" sign -q --key "$work/key.pem" --version 1.0.0 --security-counter 1 "$work/fw8.bin" "$work/img"
: > "$work/empty"
IMG_BYTES=$(stat -c %s "$work/img")

best_time() { # best wall time in seconds of "$@" over RUNS runs
  local best=""
  for _ in $(seq "$RUNS"); do
    local t0 t1
    t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N)
    local d=$((t1 - t0))
    if [ -z "$best" ] || [ $d -lt $best ]; then best=$d; fi
  done
  awk -v ns="$best" 'BEGIN { printf "%.6f", ns / 1e9 }'
}

cat "$work/img" > /dev/null  # warm the page cache
"$BENCH" "$work/img" "$work/key.pem" "$RUNS" > "$work/ota.txt"
t_dgst=$(best_time openssl dgst -sha256 "$work/img")
t_start=$(best_time openssl dgst -sha256 "$work/empty")
speed=$(openssl speed -evp sha256 -bytes 16384 -seconds 1 2>/dev/null | awk '/^sha256/ { v=$NF; sub(/k$/, "", v); print v * 1000 / 1e6 }')

echo "input: $input; $(nproc) CPUs; $(openssl version | cut -d' ' -f1-2)"
awk -v bytes="$IMG_BYTES" -v td="$t_dgst" -v ts="$t_start" -v speed="$speed" '
  { t[$1] = $2; mbs[$1] = $3 }
  END {
    dgst = bytes / td / 1e6
    net = (td > ts) ? bytes / (td - ts) / 1e6 : dgst
    printf "Image verification, %d-byte image (8 MiB payload), best of runs\n\n", bytes
    printf "| %-46s | %9s | %12s | %12s |\n", "measurement", "MB/s", "vs dgst net", "vs speed"
    printf "|%s|%s|%s|%s|\n", "------------------------------------------------", "-----------", "--------------", "--------------"
    row("ota verify, OpenSSL backend (file, 1 MiB buf)", mbs["verify_openssl"])
    row("ota verify, mbedTLS backend (file, 1 MiB buf)", mbs["verify_mbedtls"])
    row("SHA-256 in memory, OpenSSL backend", mbs["sha256_mem_openssl"])
    row("SHA-256 in memory, mbedTLS backend", mbs["sha256_mem_mbedtls"])
    row("openssl dgst -sha256 FILE (incl. start-up)", dgst)
    row("openssl dgst -sha256 FILE (minus start-up)", net)
    row("openssl speed -evp sha256 (16 KiB blocks)", speed)
    printf "\nopenssl start-up (empty file): %.1f ms\n", ts * 1000
    printf "goal: OpenSSL-backed verify >= 0.9x openssl SHA-256: %s (%.2fx dgst net, %.2fx speed)\n",
           (mbs["verify_openssl"] >= 0.9 * net && mbs["verify_openssl"] >= 0.9 * speed) ? "MET" : "NOT MET",
           mbs["verify_openssl"] / net, mbs["verify_openssl"] / speed
  }
  function row(name, v) {
    printf "| %-46s | %9.1f | %11.2fx | %11.2fx |\n", name, v, v / net, v / speed
  }' "$work/ota.txt"
