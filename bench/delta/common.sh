# SPDX-License-Identifier: Apache-2.0
# common.sh - sourced by the delta benchmarks (run.sh, elf.sh, compressed.sh):
# where the repository and build are, the --write flag, the reference tools
# they need, and the ota build they measure. Why it exists: each script
# carried its own copy of these steps.
#
# After sourcing: ROOT, BUILD (OTA_BUILD_DIR or ROOT/build), WRITE (1 with
# --write as the first argument), and the functions below.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${OTA_BUILD_DIR:-$ROOT/build}
WRITE=0
[ "${1:-}" = "--write" ] && WRITE=1

# need_tools TOOL...: exit 1 naming the first one missing.
need_tools() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null || { echo "missing $t (scripts/setup.sh installs it)" >&2; exit 1; }
  done
}

# build_targets TARGET...: configure BUILD if needed and build the targets;
# sets OTA to the ota tool.
build_targets() {
  if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  cmake --build "$BUILD" -j2 --target "$@" >/dev/null
  OTA="$BUILD/src/tool/ota"
}
