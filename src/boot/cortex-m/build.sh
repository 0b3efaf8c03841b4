#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# build.sh BUILD_DIR [cmake -D options...] - cross-build ota's Cortex-M port
# (boot ROM, bootloader, test apps) with cmake/arm-none-eabi.cmake, then print
# the size of every program. Needs gcc-arm-none-eabi and
# libnewlib-arm-none-eabi (scripts/setup.sh installs them).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=${1:?usage: build.sh BUILD_DIR [cmake -D options...]}
shift
for t in arm-none-eabi-gcc arm-none-eabi-objcopy arm-none-eabi-size; do
  command -v "$t" >/dev/null || { echo "build.sh: $t not found (run scripts/setup.sh)" >&2; exit 1; }
done
cmake -S "$here" -B "$out" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/arm-none-eabi.cmake" "$@" >/dev/null
cmake --build "$out" -j2
(cd "$out" && arm-none-eabi-size ./*.elf)
