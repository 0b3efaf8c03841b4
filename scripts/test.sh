#!/usr/bin/env bash
# Runs every test of ota: the normal build, the ASan+UBSan build, and (with
# clang) a short libFuzzer run of every fuzz target over its seed corpus.
# Usage: scripts/test.sh [--quick]   (--quick: normal build only)
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=$(nproc 2>/dev/null || echo 2)
FUZZ_SECONDS=${OTA_FUZZ_SECONDS:-20}

run_config() {
  local dir=$1; shift
  echo "== configure $dir ($*)"
  cmake -S . -B "$dir" "$@" >/dev/null
  echo "== build $dir"
  cmake --build "$dir" -j "$JOBS"
  echo "== test $dir"
  ctest --test-dir "$dir" --output-on-failure -j "$JOBS"
}

run_config build -DCMAKE_BUILD_TYPE=RelWithDebInfo
[ "${1:-}" = "--quick" ] && exit 0
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_config build-asan -DCMAKE_BUILD_TYPE=Debug -DOTA_SANITIZE=ON

if command -v clang >/dev/null 2>&1; then
  echo "== fuzz (${FUZZ_SECONDS}s per target)"
  cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOTA_FUZZ=ON \
        -DCMAKE_C_COMPILER=clang >/dev/null
  shopt -s nullglob
  targets=()
  for src in fuzz/fuzz_*.c; do targets+=("$(basename "$src" .c)"); done
  [ ${#targets[@]} -gt 0 ] && cmake --build build-fuzz -j "$JOBS" --target "${targets[@]}"
  for name in "${targets[@]}"; do
    f=build-fuzz/fuzz/$name
    corpus=fuzz/corpus/${name#fuzz_}
    work=$(mktemp -d)
    [ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
    echo "-- $name"
    "$f" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 "$work" 2>&1 | tail -n 30
    rm -rf "$work"
  done
else
  echo "== fuzz: clang not found, skipped (scripts/setup.sh installs it)"
  exit 1
fi
echo "== all tests passed"
