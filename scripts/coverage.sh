#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Line and branch coverage of the portable device core (src/core), measured:
# an instrumented build (gcc --coverage, -O0 so lines and branches map to the
# source), the unit, power-loss and delta suites that exercise the core, then
# gcovr (Debian package gcovr, in scripts/setup.sh) over src/core only.
# The figures and the list of uncovered branches are kept in docs/testing.md.
# Usage: scripts/coverage.sh [BUILD_DIR]   (default build-cov)
#        also run by: scripts/test.sh --coverage
# Output: a summary on stdout, BUILD_DIR/coverage/core.txt (per file, with
# uncovered lines), BUILD_DIR/coverage/uncovered-branches.txt (each line with
# a branch outcome never taken) and BUILD_DIR/coverage/index.html (annotated
# sources).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-build-cov}
JOBS=$(nproc 2>/dev/null || echo 2)
# the suites that drive src/core directly (the end-to-end suites add process
# start-up, not core paths; QEMU runs an ARM build that is not instrumented),
# plus server.manifest: the manifest codec's own unit test (src/core's
# manifest_parse.c/manifest_encode.c, which the server links)
TESTS=${OTA_COVERAGE_TESTS:-'^(core|boot|delta|sim|tool|agent)\.|^server\.manifest$'}

command -v gcovr >/dev/null || { echo "coverage: gcovr missing (scripts/setup.sh)"; exit 1; }
cmake -S . -B "$DIR" -DCMAKE_BUILD_TYPE=Debug \
      -DCMAKE_C_FLAGS="--coverage -O0" -DCMAKE_EXE_LINKER_FLAGS=--coverage \
      -DCMAKE_SHARED_LINKER_FLAGS=--coverage >/dev/null
cmake --build "$DIR" -j "$JOBS"
find "$DIR" -name '*.gcda' -delete
# core.freestanding checks the core's symbols, which --coverage extends with
# gcov's; the boot power-loss proof covers every 4th operation index here (it
# is ~10x slower at -O0 with coverage; all paths are still taken)
OTA_POWER_LOSS_STRIDE=${OTA_POWER_LOSS_STRIDE:-4} \
  ctest --test-dir "$DIR" -R "$TESTS" -E 'qemu|core\.freestanding' --output-on-failure -j "$JOBS"
mkdir -p "$DIR/coverage"
# exclude-unreachable-branches: drop branches gcc emits for lines with no
# source-level decision; every remaining uncovered branch is a real one.
common=(--root . --filter 'src/core/' --object-directory "$DIR"
        --exclude-unreachable-branches --exclude-throw-branches)
gcovr "${common[@]}" --branches --txt "$DIR/coverage/core-branches.txt" \
      --html-details "$DIR/coverage/index.html" >/dev/null
gcovr "${common[@]}" --txt "$DIR/coverage/core.txt" >/dev/null
# every line with a branch outcome never taken, with its source: the list
# docs/testing.md explains line by line
gcovr "${common[@]}" --json "$DIR/coverage/core.json" >/dev/null
python3 - "$DIR/coverage/core.json" >"$DIR/coverage/uncovered-branches.txt" <<'PY'
import json, sys
for f in sorted(json.load(open(sys.argv[1]))["files"], key=lambda f: f["file"]):
    src = open(f["file"]).read().split("\n")
    for l in f["lines"]:
        miss = sum(1 for b in l["branches"] if b["count"] == 0)
        if miss and not l.get("gcovr/noncode"):
            n = l["line_number"]
            print("%s:%d\t%d of %d\t%s" % (f["file"], n, miss, len(l["branches"]),
                                           src[n - 1].strip()))
PY
echo "== src/core line coverage ($DIR/coverage/core.txt)"
tail -n 3 "$DIR/coverage/core.txt"
echo "== src/core branch coverage ($DIR/coverage/core-branches.txt)"
tail -n 3 "$DIR/coverage/core-branches.txt"
echo "== $(wc -l <"$DIR/coverage/uncovered-branches.txt") lines with a branch outcome never taken ($DIR/coverage/uncovered-branches.txt)"
