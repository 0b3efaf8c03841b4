#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# run.sh BUILD_DIR FLASH [KERNEL] - power on the QEMU mps2-an385 board of
# ota's Cortex-M port once: FLASH (made by `ota-mcu-flash create`) is the
# board's persistent flash, KERNEL the boot ROM (default BUILD_DIR/rom.elf).
# Console on stdout. Exit status: 0 = the app ended normally, 1 = recovery,
# refused bootloader or fault, 124 = still running after OTA_QEMU_TIMEOUT
# seconds (default 30). -icount shift=0: time counts instructions (1 ns
# each); sleep=off: time jumps ahead while the CPU waits in wfi.
# OTA_QEMU_MACHINE: mps2-an386 runs the same board with a Cortex-M4
# (build with -DOTA_ARM_CPU=cortex-m4).
# OTA_PORT_CMDLINE (tests): text for the programs' semihosting command line,
# e.g. "cut=1 torn" to lose power inside flash operation 1 (powercut.h).
# OTA_QEMU_SMP=unix:PATH or tcp:HOST:PORT: UART 1 (the smp apps' SMP server,
# docs/smp.md) becomes a listening chardev socket there; UART 0 stays stdout.
set -euo pipefail
build=${1:?usage: run.sh BUILD_DIR FLASH [KERNEL]}
flash=${2:?usage: run.sh BUILD_DIR FLASH [KERNEL]}
kernel=${3:-$build/rom.elf}
append=()
if [ -n "${OTA_PORT_CMDLINE:-}" ]; then append=(-append "$OTA_PORT_CMDLINE"); fi
serial=()
case "${OTA_QEMU_SMP:-}" in
  "") ;;
  unix:*) serial=(-chardev "socket,id=smp,path=${OTA_QEMU_SMP#unix:},server=on,wait=off"
                  -serial stdio -serial chardev:smp) ;;
  tcp:*) hp=${OTA_QEMU_SMP#tcp:}
         serial=(-chardev "socket,id=smp,host=${hp%:*},port=${hp##*:},server=on,wait=off,nodelay=on"
                 -serial stdio -serial chardev:smp) ;;
  *) echo "run.sh: OTA_QEMU_SMP must be unix:PATH or tcp:HOST:PORT" >&2; exit 2 ;;
esac
command -v qemu-system-arm >/dev/null || { echo "run.sh: qemu-system-arm not found (run scripts/setup.sh)" >&2; exit 2; }
[ -f "$flash" ] || { echo "run.sh: $flash: no such flash file" >&2; exit 2; }
exec timeout "${OTA_QEMU_TIMEOUT:-30}" qemu-system-arm -M "${OTA_QEMU_MACHINE:-mps2-an385}" -m 16M \
  -object "memory-backend-file,id=flash,size=16M,mem-path=$flash,share=on" \
  -machine memory-backend=flash -nographic -monitor none \
  -semihosting-config enable=on,target=native -icount shift=0,sleep=off \
  "${serial[@]}" -kernel "$kernel" "${append[@]}"
