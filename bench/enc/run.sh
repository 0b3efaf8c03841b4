#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/enc/run.sh - what encryption costs an install: the same firmware
# installed through the update engine (begin .. pending, on the flash
# simulator) as a plain, an AES-128 and an AES-256 image, per crypto
# backend, best of RUNS each, in one run; prints MB/s and the encrypted /
# plain ratio. Usage: bench/enc/run.sh [build-dir] [payload-KiB] [runs]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
KIB=${2:-2048}
RUNS=${3:-5}
BENCH=$BUILD/bench/enc/bench_enc_install
if [ ! -x "$BENCH" ]; then
  cmake -S "$ROOT" -B "$BUILD" >/dev/null
  cmake --build "$BUILD" -j2 --target bench_enc_install >/dev/null
fi
echo "payload ${KIB} KiB, best of ${RUNS}; $(nproc) CPUs; $(openssl version | cut -d' ' -f1-2)"
"$BENCH" "$KIB" "$RUNS" | awk '
  BEGIN {
    printf "| %-8s | %-7s | %11s | %9s | %8s | %14s |\n", "backend", "image", "bytes", "ms", "MB/s", "vs plain"
    printf "|----------|---------|-------------|-----------|----------|----------------|\n"
  }
  { printf "| %-8s | %-7s | %11d | %9.1f | %8.1f | %13.2fx |\n", $1, $2, $3, $4 * 1000, $5, $6 }'
