#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/delta/compressed.sh - delta patch benchmark on compressed content:
# pairs of real Debian 12 package payloads full of gzip'd man pages and of
# jar (zip) files, and a kernel changelog GNU gzip made (1.3 MB: a stream zlib
# does not reproduce, kept in token form), two releases each (bookworm point release vs
# bookworm-security), fetched with `apt-get download` into a cache outside
# git and unpacked to the package's uncompressed data tar (what a root
# filesystem image holds), plus one jar on its own. ota with --deflate
# (version 2/3 patches, docs/delta-format.md#deflate-section) and without,
# bsdiff 4.3, xdelta3 -9 (-D: on the bytes as they are, not gunzipped by
# xdelta3 itself) and zstd -19 --patch-from --long: patch size,
# create and apply CPU time and peak RSS (one run each, from wait4); every
# patch is applied and its result compared byte for byte with the real new
# file.
#
# Usage: bench/delta/compressed.sh [--write]   (--write: also replace the
#        "Delta patches: compressed content" section of docs/benchmarks.md)
# Env:   OTA_BUILD_DIR (default build), OTA_COMPRESSED_CACHE (default
#        ~/.cache/ota-bench-compressed; the .deb files).
# The pairs name exact archive versions: when Debian drops one, the fetch
# fails and says which (pick the versions `apt-cache madison PKG` lists).
set -euo pipefail
. "$(dirname "$0")/common.sh"
CACHE=${OTA_COMPRESSED_CACHE:-$HOME/.cache/ota-bench-compressed}
need_tools bsdiff bspatch xdelta3 zstd apt-get dpkg-deb

# name package old-version new-version [file inside the package, glob]
PAIRS=(
  "git-man-data git-man 1:2.39.5-0+deb12u2 1:2.39.5-0+deb12u3"
  "libssl-doc-data libssl-doc 3.0.20-1~deb12u2 3.0.22-1~deb12u2"
  "libtomcat10-java-data libtomcat10-java 10.1.55-1~deb12u1 10.1.60-1~deb12u1"
  "tomcat10-catalina.jar libtomcat10-java 10.1.55-1~deb12u1 10.1.60-1~deb12u1 usr/share/java/tomcat10-catalina-1*.jar"
  "linux-libc-dev-data linux-libc-dev 6.1.176-1 6.1.192-3"
  "changelog.Debian.gz linux-libc-dev 6.1.176-1 6.1.192-3 usr/share/doc/linux-libc-dev/changelog.Debian.gz"
)

build_targets ota

# payload PKG VERSION [GLOB]: the package's data tar (or one file of it)
payload() {
  local base="$CACHE/$1_${2//:/%3a}" tar="$CACHE/$1_${2//:/%3a}.tar" deb
  mkdir -p "$CACHE"
  deb=$(ls "$base"_*.deb 2>/dev/null | head -n 1)
  if [ -z "$deb" ]; then
    (cd "$CACHE" && apt-get download "$1=$2" >/dev/null 2>&1) ||
      { echo "apt-get download $1=$2 failed (see apt-cache madison $1)" >&2; exit 1; }
    deb=$(ls "$base"_*.deb | head -n 1)
  fi
  [ -f "$tar" ] || dpkg-deb --fsys-tarfile "$deb" > "$tar"
  if [ -z "${3:-}" ]; then
    echo "$tar"
    return
  fi
  local dir="$CACHE/x/$1_${2//:/%3a}"
  if [ ! -d "$dir" ]; then
    mkdir -p "$dir.tmp" && tar -xf "$tar" -C "$dir.tmp" && mv "$dir.tmp" "$dir"
  fi
  # shellcheck disable=SC2086
  ls "$dir"/$3 | head -n 1
}

# measure CMD...: "cpu_ms peak_rss_kib" of one run (wait4); fails with CMD
measure() {
  /usr/bin/python3 - "$@" <<'PY'
import os, subprocess, sys
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, status, ru = os.wait4(p.pid, 0)
if status != 0:
    sys.exit(f"{sys.argv[1]} failed")
print(f"{(ru.ru_utime + ru.ru_stime) * 1000:.0f} {ru.ru_maxrss}")
PY
}

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
ROWS=$WORK/rows
: > "$ROWS"
for pair in "${PAIRS[@]}"; do
  set -- $pair
  name=$1
  o=$(payload "$2" "$3" "${5:-}")
  n=$(payload "$2" "$4" "${5:-}")
  c_bsd=$(measure bsdiff "$o" "$n" "$WORK/p.bsdiff")
  a_bsd=$(measure bspatch "$o" "$WORK/n.bsd" "$WORK/p.bsdiff")
  c_xd3=$(measure xdelta3 -9 -D -e -f -s "$o" "$n" "$WORK/p.xd3")
  a_xd3=$(measure xdelta3 -d -D -R -f -s "$o" "$WORK/p.xd3" "$WORK/n.xd3")
  c_zst=$(measure zstd -q -19 --long=27 -f --patch-from="$o" "$n" -o "$WORK/p.zst")
  a_zst=$(measure zstd -q -d --long=27 -f --patch-from="$o" "$WORK/p.zst" -o "$WORK/n.zst")
  c_ot1=$(measure "$OTA" delta create "$o" "$n" -o "$WORK/p1.otad")
  a_ot1=$(measure "$OTA" delta apply "$o" "$WORK/p1.otad" -o "$WORK/n.ot1")
  c_ota=$(measure "$OTA" delta create --deflate "$o" "$n" -o "$WORK/p.otad")
  a_ota=$(measure "$OTA" delta apply "$o" "$WORK/p.otad" -o "$WORK/n.ota")
  for r in bsd xd3 zst ot1 ota; do
    cmp -s "$WORK/n.$r" "$n" || { echo "$r round trip FAILED for $name" >&2; exit 1; }
  done
  "$OTA" delta create --deflate "$o" "$n" -o "$WORK/p3.otad" -v > "$WORK/v.txt"
  streams=$(sed -n 's/.*re-compressed: old \([0-9]*\), new \([0-9]*\); not reproducible \([0-9]*\); in token form \([0-9]*\).*/\2\/\4\/\3/p' "$WORK/v.txt")
  echo "$name $3 $4 $(stat -c %s "$n") $(stat -c %s "$WORK/p.bsdiff") $(stat -c %s "$WORK/p.xd3") $(stat -c %s "$WORK/p.zst") $(stat -c %s "$WORK/p1.otad") $(stat -c %s "$WORK/p.otad") $c_bsd $a_bsd $c_xd3 $a_xd3 $c_zst $a_zst $c_ot1 $a_ot1 $c_ota $a_ota ${streams:-0/0}" >> "$ROWS"
done

TABLE=$WORK/table.md
awk '
function mib(k) { return sprintf("%.0f", k / 1024) }
BEGIN {
  print "| payload | old → new | new size | bsdiff | xdelta3 -9 | zstd -19 --long | ota (v1) | **ota --deflate** | ota/bsdiff | streams kept (new) / in token form (old + new) / not reproducible (old + new) |"
  print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
}
{
  r = $9 / $5; lg += log(r); n++
  printf "| %s | %s → %s | %d | %d | %d | %d | %d | **%d** | %.3f | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, r, $30
  t[n] = sprintf("| %s | %s / %s | %s / %s | %s / %s | %s / %s | **%s / %s** | %s / %s | %s / %s | %s / %s | %s / %s | **%s / %s** |", $1, \
    $10, mib($11), $14, mib($15), $18, mib($19), $22, mib($23), $26, mib($27), \
    $12, mib($13), $16, mib($17), $20, mib($21), $24, mib($25), $28, mib($29))
}
END {
  printf "\nGeometric mean of ota --deflate / bsdiff over %d pairs: **%.3f** (goal <= 0.5).\n\n", n, exp(lg / n)
  print "CPU ms / peak RSS MiB (one run each):\n"
  print "| payload | create bsdiff | create xdelta3 | create zstd | create ota (v1) | **create ota --deflate** | apply bspatch | apply xdelta3 | apply zstd | apply ota (v1) | **apply ota --deflate** |"
  print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for (i = 1; i <= n; i++) print t[i]
}' "$ROWS" > "$TABLE"
cat "$TABLE"

if [ "$WRITE" = 1 ]; then
  DOC="$ROOT/docs/benchmarks.md"
  /usr/bin/python3 - "$TABLE" "$(date -u +%Y-%m-%d)" > "$WORK/section.md" <<'PY'
import sys
table, day = sys.argv[1:]
body = open(table).read().rstrip() + "\n"
section = ("## Delta patches: compressed content (`bench/delta/compressed.sh`)\n\n"
           f"Measured {day} with `bench/delta/compressed.sh --write`. The payloads are real "
           "Debian 12 packages from `apt-get download` (bookworm point release and "
           "bookworm-security builds), kept out of git in a cache: each package's "
           "uncompressed data tar (`dpkg-deb --fsys-tarfile`, what a root filesystem holds: "
           "gzip'd man pages made by GNU gzip -9n, jar files, linux-libc-dev's headers and "
           "its 1.3 MB kernel changelog), one jar and that changelog (`changelog.Debian.gz`, "
           "one GNU gzip stream zlib does not reproduce) on their own. Sizes "
           "in bytes; every patch of every tool is applied and its result compared byte for "
           "byte with the real new file. `ota (v1)` is `ota delta create` without "
           "`--deflate`; `streams` counts the new image's deflate streams kept "
           "(re-compressed by zlib or re-encoded from tokens, bit for bit), those of both "
           "images kept in token form (streams zlib does not reproduce: GNU gzip above a few "
           "tens of KiB, pigz) and those neither reproduces (kept compressed). xdelta3 runs "
           "with `-D` (on the bytes as they are; it would otherwise gunzip `.gz` inputs "
           "itself, and its round trip failed on the changelog). Apply RSS "
           "of `ota delta apply` is the CLI's, which holds old, patch and new image in "
           "memory; the device applier's bound is in "
           "[delta-format.md](delta-format.md#deflate-section).\n\n" + body)
print(section, end="")
PY
  /usr/bin/python3 "$ROOT/bench/delta/write_section.py" "$DOC" '## Delta patches: compressed content (`bench/delta/compressed.sh`)' "$WORK/section.md"
  echo "updated docs/benchmarks.md"
fi
