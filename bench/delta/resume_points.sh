#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/delta/resume_points.sh - where a --deflate (version 2/3) root
# filesystem install can keep a resume state: for the squashfs and ext4
# pairs of rootfs_corpus.sh, makes the patch with `ota delta create
# --deflate` and runs bench_delta_resume (resume_points.c) with ota-agent's
# 4096-byte writes in both modes: "feed" (a state only at a write's end, as
# before ota_update_want_checkpoint_delta) and "cuts" (also where the
# applier stops at a new stream's start, what the agent does now). Why it
# exists: docs/benchmarks.md's resume figures, reproducible by one command.
#
# Usage: bench/delta/resume_points.sh [SIZE_MIB]   (default 256: ext4 size)
# Env:   OTA_BUILD_DIR, OTA_ROOTFS_CACHE (see rootfs_corpus.sh),
#        OTA_ROOTFS_KINDS (default "sqfs ext4")
set -euo pipefail
. "$(dirname "$0")/common.sh"
SIZE=${1:-256}
build_targets ota bench_delta_resume
DIR=$("$ROOT/bench/delta/rootfs_corpus.sh" "$SIZE")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ota-resume.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
for kind in ${OTA_ROOTFS_KINDS:-sqfs ext4}; do
  "$OTA" delta create --deflate "$DIR/old.$kind" "$DIR/new.$kind" -o "$WORK/p.otad" >/dev/null
  for mode in feed cuts; do
    echo "== $kind ${SIZE} MiB ($mode)"
    "$BUILD/bench/delta/bench_delta_resume" "$DIR/old.$kind" "$WORK/p.otad" 4096 "$mode"
  done
done
