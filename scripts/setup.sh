#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs every Debian package ota needs to build, test and benchmark.
# Idempotent: re-running installs nothing new. Uses sudo when not root.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config git ca-certificates
  clang libclang-rt-14-dev llvm valgrind
  libmbedtls-dev libssl-dev openssl
  libcurl4-openssl-dev libmicrohttpd-dev
  libsqlite3-dev sqlite3 libpq-dev postgresql
  libjansson-dev libdivsufsort-dev libzstd-dev zstd liblzma-dev xz-utils
  # deflate-aware deltas (docs/delta-format.md, deflate section): zlib
  zlib1g-dev
  python3 python3-pytest python3-cryptography
  bsdiff xdelta3 wrk nginx-light curl
  # root filesystem images of the rootfs delta benchmark (bench/delta/rootfs.sh)
  squashfs-tools e2fsprogs
  gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm dpkg-dev
  # packaging (docs/install.md): man pages, `man`, systemd-analyze and
  # systemd-sysusers for the unit checks, `file` for cpack's shlibdeps
  scdoc man-db systemd file
  # coverage of src/core (scripts/coverage.sh, docs/testing.md)
  gcovr
  # the agent's Linux A/B backend (docs/linux.md): U-Boot environment library
  # and tools, grub-editenv, mkimage/mkenvimage, mke2fs for test filesystems
  libubootenv-dev libubootenv-tool grub-common u-boot-tools e2fsprogs
  # dist/linux/boot.cmd run by real U-Boot (linux.qemu_uboot_script)
  u-boot-qemu mtools fdisk
  # hawkBit DDI end to end (e2e.swupdate, docs/ddi.md): the real client and
  # the tool that packs its .swu archives
  swupdate cpio
  # the QEMU Linux VM tests (tests/linux, docs/linux.md, "The QEMU test VM"): x86-64
  # QEMU, GRUB for BIOS and UEFI, OVMF (the disk is built without root with
  # sfdisk, mtools and cpio, installed above); the guest's kernel and
  # busybox-static are fetched with apt-get download
  qemu-system-x86 grub-pc-bin grub-efi-amd64-bin ovmf
  # the arm64 U-Boot VM test (linux.qemu_uboot_update, docs/linux.md): the
  # agent cross-built for arm64 against arm64 libraries (dpkg multiarch,
  # enabled below); its kernel and busybox are fetched with apt-get download
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross
  libssl-dev:arm64 libmbedtls-dev:arm64 libcurl4-openssl-dev:arm64 libjansson-dev:arm64
  libubootenv-dev:arm64 libmicrohttpd-dev:arm64 libsqlite3-dev:arm64 libcbor-dev:arm64
  libdivsufsort-dev:arm64 libzstd-dev:arm64 liblzma-dev:arm64 zlib1g-dev:arm64
  # SMP (docs/smp.md): CBOR for `ota smp`, and the independent test client
  libcbor-dev python3-cbor2
  # the web console's browser tests and page-load benchmark (tests/console,
  # bench/console, docs/console.md): headless Chromium driven by Selenium
  chromium chromium-driver python3-selenium
)
# npm (only used by benchmarks to fetch the firmware corpus when ../shared is
# absent) comes with some Node.js builds; install Debian's only if none exists.
if ! command -v npm >/dev/null 2>&1; then PKGS+=(npm); fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# The Cortex-M port (src/boot/cortex-m) compiles mbedTLS from Debian's own
# source package (apt-get source): enable deb-src once, idempotently.
src_list=/etc/apt/sources.list.d/debian.sources
if [ -f "$src_list" ] && ! grep -q '^Types:.*deb-src' "$src_list"; then
  $SUDO sed -i 's/^Types: deb$/Types: deb deb-src/' "$src_list" && $SUDO apt-get update -qq
fi

# The Cortex-M port compiles mbedTLS 3.6 LTS (SHA-256 + the bundled p256-m:
# a bootloader under 16 KiB) from Debian trixie's mbedtls SOURCE package
# (src/boot/cortex-m/fetch_mbedtls.sh). Add trixie as a deb-src-only entry,
# and pin every trixie binary to priority -1 so apt never installs one (the
# deb-src entry lists no binaries anyway; the pin makes sure of it).
trixie_src=/etc/apt/sources.list.d/ota-trixie-src.sources
trixie_pin=/etc/apt/preferences.d/ota-no-trixie-binaries
if [ ! -f "$trixie_pin" ]; then
  printf '%s\n' "Explanation: ota: trixie only provides source packages; never install its binaries" \
    "Package: *" "Pin: release n=trixie" "Pin-Priority: -1" | $SUDO tee "$trixie_pin" >/dev/null
fi
if [ ! -f "$trixie_src" ]; then
  printf '%s\n' "Types: deb-src" "URIs: http://deb.debian.org/debian" "Suites: trixie" \
    "Components: main" "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" |
    $SUDO tee "$trixie_src" >/dev/null
  $SUDO apt-get update -qq
fi

# arm64 packages beside the host's (multiarch): once, idempotently
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  $SUDO dpkg --add-architecture arm64
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PKGS[@]} packages already installed"
  exit 0
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
