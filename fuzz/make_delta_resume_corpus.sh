#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# fuzz/make_delta_resume_corpus.sh - writes the seed corpus of
# fuzz_delta_resume into fuzz/corpus/delta_resume/: each real patch of
# fuzz/corpus/delta (seed-*) suspended at a few points of its stream (just
# after the header, a third, two thirds, at the end), without edits, so every
# seed resumes from a real snapshot; the fuzzer's edits start from there.
# Layout: fuzz/fuzz_delta_resume.c. Run by hand: fuzz/make_delta_resume_corpus.sh
set -eu
src=${1:-fuzz/corpus/delta}
dst=${2:-fuzz/corpus/delta_resume}
mkdir -p "$dst"
le16() { printf "\\$(printf %03o $(($1 & 255)))\\$(printf %03o $((($1 >> 8) & 255)))"; }
for f in "$src"/seed-*; do
  name=$(basename "$f")
  size=$(wc -c <"$f")
  plen=$((size - 10 + 88)) # the input's 10-byte prefix stands for the 88-byte header
  k=0
  for at in 100 $((plen / 3)) $((2 * plen / 3)) "$plen"; do
    # byte 2: a feeding pattern per point; byte 3: no edits
    { le16 "$at"; printf "\\$(printf %03o $((k * 5)))\\000"; cat "$f"; } >"$dst/$name-at$k"
    k=$((k + 1))
  done
done
