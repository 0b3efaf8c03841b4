#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every test of ota: the normal build, the ASan+UBSan build, an
# optimised clang Release build, and (with clang) a short libFuzzer run of
# every fuzz target over its seed corpus. Every build here has warnings as
# errors (OTA_WERROR=ON); users' and packagers' builds do not.
# Usage: scripts/test.sh [--quick|--coverage]   (--quick: normal build only;
#        --coverage: line/branch coverage of src/core, see docs/testing.md)
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=$(nproc 2>/dev/null || echo 2)
FUZZ_SECONDS=${OTA_FUZZ_SECONDS:-20}

# The build configuration every build of this script shares.
CONFIG_ARGS=(-DOTA_WERROR=ON)

# run_config DIR [CTEST_ARGS...] -- [CMAKE_ARGS...]: configure, build, test.
run_config() {
  local dir=$1; shift
  local ctest_args=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do ctest_args+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  echo "== configure $dir (${CONFIG_ARGS[*]} $*)"
  cmake -S . -B "$dir" "${CONFIG_ARGS[@]}" "$@" >/dev/null
  echo "== build $dir"
  cmake --build "$dir" -j "$JOBS"
  echo "== test $dir"
  ctest --test-dir "$dir" --output-on-failure -j "$JOBS" "${ctest_args[@]}"
}

# --coverage: only the coverage build of src/core (scripts/coverage.sh)
[ "${1:-}" = "--coverage" ] && exec scripts/coverage.sh

run_config build -- -DCMAKE_BUILD_TYPE=RelWithDebInfo
[ "${1:-}" = "--quick" ] && exit 0
# The QEMU Linux VM tests (linux.qemu_*) run in the normal build only: they
# boot whole machines and the agent they run is the normal build's. So do the
# SMP tests on the QEMU Cortex-M board (smp.qemu_*, mcu.*) and the browser tests
# (console.*: the server's side of them is the server.* suite's, run here too).
# delta.create_memory measures peak RSS, which ASan's shadow memory inflates.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_config build-asan -E '^((linux|smp)\.qemu_|console\.|mcu\.|delta\.create_memory$)' -- -DCMAKE_BUILD_TYPE=Debug -DOTA_SANITIZE=ON

if command -v clang >/dev/null 2>&1; then
  # A second compiler at full optimisation (what a packager builds): every
  # test but the end-to-end suites and the QEMU boot (which the builds above
  # already ran and which do not depend on the host compiler's optimiser).
  run_config build-clang-release -E '^(e2e\.|boot\.qemu($|_)|linux\.qemu_|smp\.qemu_|console\.|mcu\.)' -- \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang

  echo "== fuzz (${FUZZ_SECONDS}s per target)"
  cmake -S . -B build-fuzz "${CONFIG_ARGS[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOTA_FUZZ=ON \
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
