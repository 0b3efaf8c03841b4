#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/delta/rootfs.sh - whole root filesystem images: ota against bsdiff
# 4.3, xdelta3 -9 and zstd -19 --patch-from --long on two releases of a real
# small Debian 12 root filesystem (rootfs_corpus.sh), as ext4 (SIZE MiB) and
# squashfs (gzip). For each tool: patch size, create and apply wall time and
# peak RSS (/usr/bin/time); every result is compared byte for byte (cmp) with
# the real new image. Why it exists: issue 15's rootfs goal (<= 0.5x
# xdelta3, <= 1.0x bsdiff) measured side by side in one run.
#
# Usage: bench/delta/rootfs.sh [--write] [SIZE_MIB]   (default 1024; --write
#        also replaces the rootfs section of docs/benchmarks.md: for SIZE
#        1024 the main one, for another SIZE a section of its own)
# Env:   OTA_BUILD_DIR, OTA_ROOTFS_CACHE (see rootfs_corpus.sh),
#        OTA_ROOTFS_KINDS (default "ext4 sqfs": which images),
#        OTA_BENCH_MEM_MIB (default 8192): a tool whose known peak (bsdiff:
#        about 10x the old image) would pass it is not run, and the table says so;
#        OTA_ROOTFS_TOOLS (default "ota xdelta3 zstd bsdiff": which tools),
#        OTA_BENCH_BSDIFF_TIMEOUT (default 3600 s): bsdiff is stopped after it
#        (its search can spend hours in memcmp over long equal runs), and the
#        table says so; OTA_BENCH_BSDIFF_FULL=1: bsdiff gets the whole new
#        image even when it ends in zeros (below).
# bsdiff on ext4: at 1 GiB it needs about 10 GiB, more than this machine
# shares; the corpus fits in ext4 from 232 MiB on, so bsdiff is measured at
# 256 MiB in a second run (one big process at a time, 2.4 GB):
#        OTA_ROOTFS_KINDS=ext4 bench/delta/rootfs.sh --write 256
# HDiffPatch is not packaged in Debian 12, so it is not compared.
set -euo pipefail
. "$(dirname "$0")/common.sh"
[ "${1:-}" = "--write" ] && shift
SIZE=${1:-1024}
MEM=${OTA_BENCH_MEM_MIB:-8192}
BSTIME=${OTA_BENCH_BSDIFF_TIMEOUT:-3600}
# want TOOL: TOOL is one of OTA_ROOTFS_TOOLS
want() { case " ${OTA_ROOTFS_TOOLS:-ota xdelta3 zstd bsdiff} " in *" $1 "*) return 0 ;; esac; return 1; }
need_tools bsdiff bspatch xdelta3 zstd /usr/bin/time cmp
build_targets ota

DIR=$("$ROOT/bench/delta/rootfs_corpus.sh" "$SIZE")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ota-rootfs.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ROWS=$WORK/rows
: > "$ROWS"

# timed OUT CMD...: run CMD, append "seconds peak_KiB" to OUT
timed() {
  local out=$1; shift
  /usr/bin/time -f "%e %M" -o "$WORK/t" "$@" >/dev/null 2>"$WORK/err" ||
    { cat "$WORK/err" >&2; echo "FAILED: $*" >&2; exit 1; }
  cat "$WORK/t" > "$out"
}

# row IMAGE TOOL PATCH CREATE_T APPLY_T RESULT NEW
row() {
  cmp -s "$6" "$7" || { echo "$2 on $1: result differs from the new image" >&2; exit 1; }
  echo "$1 $2 $(stat -c %s "$3") $(cat "$4") $(cat "$5")" >> "$ROWS"
  rm -f "$6" "$3"
}

for kind in ${OTA_ROOTFS_KINDS:-ext4 sqfs}; do
  o="$DIR/old.$kind"; n="$DIR/new.$kind"
  osz=$(stat -L -c %s "$o")
  name="$kind $((osz / 1048576)) MiB"
  [ "$kind" = sqfs ] && name="squashfs $((osz / 1048576)) MiB"
  name=${name// /_}
  # ota (auto: the hash index from 64 MiB)
  if want ota; then
  timed "$WORK/c" "$OTA" delta create "$o" "$n" -o "$WORK/p.otad"
  timed "$WORK/a" "$OTA" delta apply "$o" "$WORK/p.otad" -o "$WORK/n.ota"
  row "$name" ota "$WORK/p.otad" "$WORK/c" "$WORK/a" "$WORK/n.ota" "$n"
  # ota --deflate (what ota-server makes for ota-agent's Linux backend):
  # squashfs's gzip blocks are zlib streams, ext4 holds gzip'd files
  timed "$WORK/c" "$OTA" delta create --deflate "$o" "$n" -o "$WORK/p.otad"
  timed "$WORK/a" "$OTA" delta apply "$o" "$WORK/p.otad" -o "$WORK/n.ota"
  row "$name" ota_--deflate "$WORK/p.otad" "$WORK/c" "$WORK/a" "$WORK/n.ota" "$n"
  fi
  # xdelta3 -9, source window = the whole old image
  B=$(( (osz + 1048575) / 1048576 * 1048576 ))
  if want xdelta3; then
  timed "$WORK/c" xdelta3 -9 -B "$B" -e -f -s "$o" "$n" "$WORK/p.xd3"
  timed "$WORK/a" xdelta3 -B "$B" -d -f -s "$o" "$WORK/p.xd3" "$WORK/n.xd3"
  row "$name" xdelta3_-9 "$WORK/p.xd3" "$WORK/c" "$WORK/a" "$WORK/n.xd3" "$n"
  fi
  # zstd -19 --patch-from, window covering the old image
  wl=27
  while [ $((1 << wl)) -lt "$osz" ]; do wl=$((wl + 1)); done
  if want zstd; then
  timed "$WORK/c" zstd -q -19 --long=$wl -f --patch-from="$o" "$n" -o "$WORK/p.zst"
  timed "$WORK/a" zstd -q -d --long=$wl -f --patch-from="$o" "$WORK/p.zst" -o "$WORK/n.zst"
  row "$name" zstd_-19_--long=$wl "$WORK/p.zst" "$WORK/c" "$WORK/a" "$WORK/n.zst" "$n"
  fi
  # bsdiff: its suffix array (8 bytes per old byte), both images and its
  # output buffers: 2.36 GB peak at 256 MiB (9.2x), so about 10x
  need=$(( osz * 10 / 1048576 ))
  if ! want bsdiff; then
    :
  elif [ "$need" -le "$MEM" ]; then
    # Its search is quadratic in a long run of equal bytes in NEW that the
    # old image matches almost but not exactly at the current offset: on
    # the 256 MiB ext4, 92 % of the image took 7.5 CPU minutes, then its
    # last 20 MiB (free space: zeros) went at ~400 bytes per CPU second
    # (hours). So bsdiff gets NEW without its trailing zeros (when there
    # are 1 MiB or more; OTA_BENCH_BSDIFF_FULL=1: the whole image); the
    # result of bspatch gets them back before cmp, and the row says so.
    # The cut bytes would cost bsdiff one control triple and a bzip2 block
    # of zeros (49 bytes for 20 MiB).
    bn=$n; btool=bsdiff
    nz=$(/usr/bin/python3 -c 'import os, sys
f = open(sys.argv[1], "rb"); end = f.seek(0, os.SEEK_END); z = 0
while end > 0:  # 1 MiB blocks from the end, until one holds a non-zero byte
    k = min(end, 1 << 20); f.seek(end - k); b = f.read(k); t = len(b.rstrip(b"\0"))
    z += k - t; end -= k
    if t: break
print(z)' "$n")
    if [ "${OTA_BENCH_BSDIFF_FULL:-0}" != 1 ] && [ "$nz" -ge 1048576 ]; then
      bn=$WORK/new.cut
      head -c $(( $(stat -L -c %s "$n") - nz )) "$n" > "$bn"
      btool="bsdiff_(new's_zero_tail_of_${nz}_bytes_cut)"
    fi
    # still bounded: its search can degenerate elsewhere
    rc=0
    timeout --signal=KILL "$BSTIME" /usr/bin/time -f "%e %M" -o "$WORK/c" \
      bsdiff "$o" "$bn" "$WORK/p.bsdiff" 2>"$WORK/err" || rc=$?
    if [ "$rc" = 0 ]; then
      timed "$WORK/a" bspatch "$o" "$WORK/n.bsp" "$WORK/p.bsdiff"
      [ "$bn" = "$n" ] || head -c "$nz" /dev/zero >> "$WORK/n.bsp"
      row "$name" "$btool" "$WORK/p.bsdiff" "$WORK/c" "$WORK/a" "$WORK/n.bsp" "$n"
      rm -f "$WORK/new.cut"
    elif [ "$rc" = 137 ]; then
      echo "$name bsdiff - not_finished_after_${BSTIME}_s" >> "$ROWS"
    else
      cat "$WORK/err" >&2; echo "FAILED: bsdiff $o $n" >&2; exit 1
    fi
  else
    echo "$name bsdiff - not_run:_needs_~${need}_MiB_>_${MEM}" >> "$ROWS"
  fi
done

TABLE=$WORK/table.md
awk '
BEGIN {
  print "| image | tool | patch bytes | vs xdelta3 | vs bsdiff | create s | create peak RSS MiB | apply s | apply peak RSS MiB |"
  print "|---|---|---:|---:|---:|---:|---:|---:|---:|"
}
{ img[NR] = $1; tool[NR] = $2; size[NR] = $3; ct[NR] = $4; cm[NR] = $5; at[NR] = $6; am[NR] = $7
  if ($2 == "xdelta3_-9") xd[$1] = $3
  if ($2 ~ /^bsdiff/ && $3 != "-") bs[$1] = $3 }
END {
  for (i = 1; i <= NR; i++) {
    t = tool[i]; gsub(/_/, " ", t); im = img[i]; gsub(/_/, " ", im)
    if (size[i] == "-") { n = ct[i]; gsub(/_/, " ", n); printf "| %s | %s | %s | | | | | | |\n", im, t, n; continue }
    rx = xd[img[i]] ? sprintf("%.3f", size[i] / xd[img[i]]) : ""
    rb = bs[img[i]] ? sprintf("%.3f", size[i] / bs[img[i]]) : ""
    if (t ~ /^ota/) t = "**" t "**"
    printf "| %s | %s | %d | %s | %s | %.1f | %d | %.1f | %d |\n", im, t, size[i], rx, rb, ct[i], cm[i] / 1024, at[i], am[i] / 1024
  }
}' "$ROWS" > "$TABLE"
cat "$TABLE"
echo "packages: $(wc -l < "$(dirname "$DIR")/old.list") (old: $(dirname "$DIR")/old.list, new: new.list)"

if [ "$WRITE" = 1 ]; then
  DOC="$ROOT/docs/benchmarks.md"
  DIFFN=$(join <(sort "$(dirname "$DIR")/old.list") <(sort "$(dirname "$DIR")/new.list") |
          awk '$2 != $3' | wc -l)
  # the default size has the main section, another size one of its own
  HEAD='## Delta patches: root filesystem images (`bench/delta/rootfs.sh`)'
  [ "$SIZE" = 1024 ] || HEAD="## Delta patches: root filesystem images at $SIZE MiB (\`bench/delta/rootfs.sh $SIZE\`)"
  CMD="bench/delta/rootfs.sh --write $SIZE"
  [ -z "${OTA_ROOTFS_KINDS:-}" ] || CMD="OTA_ROOTFS_KINDS=\"$OTA_ROOTFS_KINDS\" $CMD"
  [ -z "${OTA_ROOTFS_TOOLS:-}" ] || CMD="OTA_ROOTFS_TOOLS=\"$OTA_ROOTFS_TOOLS\" $CMD"
  /usr/bin/python3 - "$TABLE" "$(date -u +%Y-%m-%d)" "$SIZE" "$(wc -l < "$(dirname "$DIR")/old.list")" "$DIFFN" "$HEAD" "$CMD" "${OTA_ROOTFS_KINDS:-ext4 sqfs}" > "$WORK/section.md" <<'PY'
import sys
table, day, size, npk, ndiff, head, cmd, kinds = sys.argv[1:]
kinds = kinds.split()
sq = " and squashfs (`mksquashfs -reproducible`, gzip)" if "sqfs" in kinds else ""
ext4 = f"ext4 (`mkfs.ext4 -d`, {size} MiB, fixed UUID, hash seed and times)"
images = (ext4 + sq) if "ext4" in kinds else sq[5:]
body = open(table).read().rstrip() + "\n"
print(f"{head}\n\n"
      f"Measured {day} with `{cmd}` on this 2-core machine "
      "(shared with other jobs: times are wall seconds, indicative). Two releases of a small "
      f"Debian 12 root filesystem, {npk} packages unpacked with `dpkg-deb -x` "
      f"(`bench/delta/rootfs_corpus.sh`): every package at its oldest and at its newest "
      f"version in bookworm, -updates and -security ({ndiff} differ), as {images}. "
      "Peak RSS and time from `/usr/bin/time`, CLI to "
      "CLI; every result compared byte for byte with the real new image. HDiffPatch is "
      "not packaged in Debian 12.\n\n" + body, end="")
PY
  /usr/bin/python3 "$ROOT/bench/delta/write_section.py" "$DOC" "$HEAD" "$WORK/section.md"
  echo "updated docs/benchmarks.md"
fi
