#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# check_freestanding.sh - fails if the portable core library references any
# external symbol beyond the few a freestanding C toolchain always provides
# (mem*, strlen, and compiler/sanitizer runtime helpers). Keeps malloc, stdio
# and OS calls out of src/core.
set -eu
lib=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nm -g --defined-only --format=posix "$lib" 2>/dev/null | awk 'NF>=2 && $1 !~ /:$/ {print $1}' | sort -u > "$tmp/defined"
nm -u --format=posix "$lib" 2>/dev/null | awk 'NF>=2 && $1 !~ /:$/ {print $1}' | sort -u > "$tmp/undefined"
external=$(comm -23 "$tmp/undefined" "$tmp/defined" |
  grep -Ev '^(memcpy|memset|memmove|memcmp|strlen|__stack_chk_fail|__asan_.*|__ubsan_.*|__sanitizer_.*|_GLOBAL_OFFSET_TABLE_|__sancov.*)$' || true)
if [ -n "$external" ]; then
  echo "src/core references symbols a freestanding build cannot provide:"
  echo "$external"
  exit 1
fi
echo "src/core is freestanding: references only $(comm -23 "$tmp/undefined" "$tmp/defined" | tr '\n' ' ')"
