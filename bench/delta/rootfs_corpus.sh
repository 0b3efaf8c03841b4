#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/delta/rootfs_corpus.sh - builds two releases of a small real Linux
# root filesystem from Debian 12 packages, as ext4 and squashfs images, for
# the rootfs delta benchmark (rootfs.sh). Why it exists: issue 15 asks for
# whole-image deltas measured on a real root filesystem, and a checked-in
# 1 GiB image is out of the question.
#
# Release "old" is every package of PKGS at the lowest version the archive
# offers (bookworm point release, -updates or -security: whichever is older),
# release "new" at the highest; packages with one version are the same in
# both. `apt-get download` fetches the .deb files, `dpkg-deb -x` unpacks them
# over a usr-merged skeleton (no maintainer scripts, no debootstrap).
#
# Usage: bench/delta/rootfs_corpus.sh [SIZE_MIB]   (default 1024)
# Prints the directory holding old.ext4 new.ext4 old.sqfs new.sqfs.
# Env: OTA_ROOTFS_CACHE (default ~/.cache/ota-bench-rootfs), OTA_ROOTFS_PKGS
# (override the package list, space separated; the CI short form uses a few).
# Reproducible: fixed UUID and directory hash seed, root owner 0:0, every
# inode time from E2FSPROGS_FAKE_TIME / -mkfs-time / -all-time, and file
# times from the packages themselves; building twice gives the same bytes.
set -euo pipefail
SIZE=${1:-1024}
CACHE=${OTA_ROOTFS_CACHE:-$HOME/.cache/ota-bench-rootfs}
EPOCH=1700000000
UUID=0f7a0b1c-2d3e-4f50-8a61-72839405a6b7
SEED=1b2c3d4e-5f60-4718-89a0-b1c2d3e4f506

PKGS=${OTA_ROOTFS_PKGS:-"base-files netbase media-types ncurses-base readline-common debconf
  sensible-utils adduser tzdata ca-certificates
  libc6 libc-bin libgcc-s1 libstdc++6 libcrypt1 libselinux1 libpcre2-8-0 libacl1 libattr1
  libzstd1 liblzma5 zlib1g libbz2-1.0 liblz4-1 libssl3 openssl libcurl4 curl libnghttp2-14
  libssh2-1 libsasl2-2 libldap-2.5-0 libpsl5 libidn2-0 libunistring2 libkrb5-3
  libgssapi-krb5-2 libk5crypto3 libkrb5support0 libcom-err2 libkeyutils1
  libgnutls30 libtasn1-6 libp11-kit0 libffi8 libgmp10 libnettle8 libhogweed6 libgcrypt20
  libgpg-error0 libexpat1 libxml2 libicu72
  systemd libsystemd0 libudev1 udev libsystemd-shared libkmod2 kmod libapparmor1 libcap2
  libcryptsetup12 libdevmapper1.02.1 libjson-c5 libargon2-1 libip4tc2 libseccomp2
  libaudit1 libcap-ng0 libpam0g libpam-modules libpam-runtime dbus libdbus-1-3
  bash dash coreutils busybox util-linux libblkid1 libmount1 libuuid1 libsmartcols1
  login passwd sed grep tar gzip xz-utils findutils procps libproc2-0 less
  libtinfo6 libncursesw6 libreadline8 perl-base
  python3.11-minimal libpython3.11-minimal libpython3.11-stdlib python3.11 libpython3.11
  libsqlite3-0 libdb5.3
  openssh-server openssh-client openssh-sftp-server iproute2 libmnl0 libelf1 libbpf1
  e2fsprogs libext2fs2 libss2 logsave"}

# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
need_tools apt-get apt-cache dpkg-deb dpkg mkfs.ext4 mksquashfs

# pick old|new: "PKG VERSION" for every package of PKGS, at the lowest
# (old) or highest (new) amd64 version the archive offers
pick() {
  apt-cache madison $PKGS | /usr/bin/python3 -c '
import sys, functools, subprocess
want, pkgs = sys.argv[1], sys.argv[2].split()
vs = {}
for line in sys.stdin:
    f = [x.strip() for x in line.split("|")]
    if len(f) == 3 and f[2].endswith("Packages"):
        vs.setdefault(f[0], set()).add(f[1])
def cmp(a, b):
    if a == b: return 0
    return -1 if subprocess.call(["dpkg", "--compare-versions", a, "lt", b]) == 0 else 1
for p in pkgs:
    if p not in vs:
        sys.exit(f"no version of {p} in the archive")
    s = sorted(vs[p], key=functools.cmp_to_key(cmp))
    print(p, s[0] if want == "old" else s[-1])' "$1" "$PKGS"
}

# deb PKG VERSION: path of the .deb in the cache (downloaded once)
deb() {
  local d="$DEBS" ver="$2"
  mkdir -p "$d"
  local f
  f=$(ls "$d/$1_${ver//:/%3a}_"*.deb 2>/dev/null | head -n 1 || true)
  if [ -z "$f" ]; then
    (cd "$d" && apt-get download "$1=$2" >/dev/null 2>&1) ||
      { echo "apt-get download $1=$2 failed (see apt-cache madison $1)" >&2; exit 1; }
    f=$(ls "$d/$1_${ver//:/%3a}_"*.deb | head -n 1)
  fi
  echo "$f"
}

# tree REL: unpack release REL (old|new) into $CACHE/REL.tree
tree() {
  local rel=$1 dir="$CACHE/$1.tree"
  [ -d "$dir" ] && return 0
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"/usr/{bin,sbin,lib,lib64}
  ln -s usr/bin "$dir.tmp/bin"; ln -s usr/sbin "$dir.tmp/sbin"
  ln -s usr/lib "$dir.tmp/lib"; ln -s usr/lib64 "$dir.tmp/lib64"
  pick "$rel" > "$CACHE/$rel.list"
  local p v need=()
  while read -r p v; do
    ls "$DEBS/${p}_${v//:/%3a}_"*.deb >/dev/null 2>&1 || need+=("$p=$v")
  done < "$CACHE/$rel.list"
  if [ ${#need[@]} -gt 0 ]; then
    mkdir -p "$DEBS"
    (cd "$DEBS" && apt-get download "${need[@]}" >/dev/null) ||
      { echo "apt-get download failed for some of: ${need[*]}" >&2; exit 1; }
  fi
  while read -r p v; do
    dpkg-deb -x "$(deb "$p" "$v")" "$dir.tmp"
  done < "$CACHE/$rel.list"
  # the directories dpkg-deb made or the skeleton: one fixed time
  find "$dir.tmp" -type d -newermt "@$EPOCH" -exec touch -h -d "@$EPOCH" {} +
  touch -h -d "@$EPOCH" "$dir.tmp"/bin "$dir.tmp"/sbin "$dir.tmp"/lib "$dir.tmp"/lib64
  mv "$dir.tmp" "$dir"
}

# images REL: ext4 of SIZE MiB and squashfs (gzip, mksquashfs's default)
images() {
  local rel=$1 out="$CACHE/$SIZE"
  mkdir -p "$out"
  if [ ! -f "$out/$rel.ext4" ]; then
    rm -f "$out/$rel.ext4.tmp"
    E2FSPROGS_FAKE_TIME=$EPOCH SOURCE_DATE_EPOCH=$EPOCH \
      mkfs.ext4 -q -F -t ext4 -d "$CACHE/$rel.tree" -U "$UUID" -L rootfs \
      -E "hash_seed=$SEED,root_owner=0:0,lazy_itable_init=0,lazy_journal_init=0" \
      "$out/$rel.ext4.tmp" "${SIZE}M"
    mv "$out/$rel.ext4.tmp" "$out/$rel.ext4"
  fi
  if [ ! -f "$CACHE/$rel.sqfs" ]; then
    rm -f "$CACHE/$rel.sqfs.tmp"
    mksquashfs "$CACHE/$rel.tree" "$CACHE/$rel.sqfs.tmp" -reproducible -mkfs-time "$EPOCH" \
      -all-root -no-progress -quiet >/dev/null
    mv "$CACHE/$rel.sqfs.tmp" "$CACHE/$rel.sqfs"
  fi
  ln -sf "../$rel.sqfs" "$out/$rel.sqfs"
}

# trees and images per package set (the .deb files are shared)
DEBS="$CACHE/debs"
CACHE="$CACHE/set-$(echo $PKGS | sha256sum | cut -c1-12)"
mkdir -p "$CACHE"
for rel in old new; do
  tree "$rel" >&2
  images "$rel" >&2
done
echo "$CACHE/$SIZE"
