#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/server/ddi_poll.sh - what a hawkBit DDI poll costs next to a native
# check-in (docs/ddi.md): one ota-server, 1000 registered devices that all
# run the campaign's target (nothing to do), wrk driving native check-ins
# and DDI polls with TargetToken (checkin.lua, DDI=1), interleaved.
#
# Usage: bench/server/ddi_poll.sh [BUILD_DIR] [SECONDS]   (defaults: build, 5)
# Needs: wrk, python3, curl; ota-server and ota built. About 40 s.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
SECS=${2:-5}
SERVER=$BUILD/src/server/ota-server
TOOL=$BUILD/src/tool/ota
CONNS=${OTA_BENCH_CONNS:-32}
N=1000
for bin in "$SERVER" "$TOOL"; do [ -x "$bin" ] || { echo "missing $bin (build first)" >&2; exit 1; }; done
command -v wrk >/dev/null || { echo "wrk not installed (scripts/setup.sh)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/ota-bench-ddi.XXXXXX)
SRV_PID=""
cleanup() {
  [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

"$TOOL" keygen -o "$WORK/fw.pem" >/dev/null 2>&1
"$TOOL" pubkey "$WORK/fw.pem" > "$WORK/fw.pub.pem"
head -c 65536 /dev/urandom > "$WORK/app.bin"
"$TOOL" sign -k "$WORK/fw.pem" -v 1.0.0 -s 1 --hw-id bench-hw "$WORK/app.bin" "$WORK/app.img" >/dev/null
DIGEST=$(sha256sum "$WORK/app.img" | cut -d' ' -f1)

start_server() {
  : > "$WORK/server.out"
  "$SERVER" --data "$WORK/data" --listen 127.0.0.1:0 --per-ip-connections 0 \
    --trusted-key "$WORK/fw.pub.pem" --no-access-log --log-level warn \
    > "$WORK/server.out" 2>"$WORK/server.err" &
  SRV_PID=$!
  PORT=""
  for _ in $(seq 100); do
    PORT=$(sed -n 's/^listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$WORK/server.out" || true)
    [ -n "$PORT" ] && break; sleep 0.1
  done
  [ -n "$PORT" ] || { cat "$WORK/server.err"; exit 1; }
}
start_server
TOKEN=$(sed -n 's/^admin token (shown once[^:]*: \(.*\)$/\1/p' "$WORK/server.out")
curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/octet-stream' \
  --data-binary @"$WORK/app.img" "http://127.0.0.1:$PORT/v1/releases" >/dev/null
curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"release_id":1,"stages":[{"percent":100}]}' "http://127.0.0.1:$PORT/v1/campaigns" >/dev/null
kill "$SRV_PID"; wait "$SRV_PID" || true; SRV_PID=""
/usr/bin/python3 "$HERE/seed_devices.py" "$WORK/data/ota.db" "$N" "$DIGEST" >/dev/null
start_server
URL="http://127.0.0.1:$PORT"
# sanity: a DDI poll of a device on the target offers nothing
POLL=$(curl -sf -H "Authorization: TargetToken tok-0" "$URL/DEFAULT/controller/v1/dev-0")
case "$POLL" in *deploymentBase*|'') echo "unexpected poll answer: $POLL" >&2; exit 1 ;; esac

run_wrk() { # checkin|ddi [seconds] -> "rps p50 p99"
  DDI=$([ "$1" = ddi ] && echo 1 || echo 0) DEVICES=$N DIGEST=$DIGEST \
    wrk -t1 -c"$CONNS" -d"${2:-$SECS}s" --latency -s "$HERE/checkin.lua" "$URL" \
    > "$WORK/wrk.out" 2>&1 || { cat "$WORK/wrk.out"; exit 1; }
  local r; r=$(sed -n 's/^RESULT //p' "$WORK/wrk.out")
  case "$r" in *" errors=0 non2xx=0 "*) ;; *) echo "errors: $r" >&2; exit 1 ;; esac
  echo "$r"
}
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

echo "== DDI poll vs native check-in: $N devices, wrk -t1 -c$CONNS -d${SECS}s x 3 rounds, $(nproc) CPUs"
run_wrk checkin 2 >/dev/null; run_wrk ddi 2 >/dev/null  # warm-up
declare -A SUM
for r in 1 2 3; do
  for s in checkin ddi; do
    res=$(run_wrk "$s")
    echo "round $r $s: $res"
    SUM[$s]="${SUM[$s]:-} $(field "$res" rps)"
  done
done
med() { echo "$1" | tr ' ' '\n' | sed '/^$/d' | sort -n | sed -n 2p; }
C=$(med "${SUM[checkin]}"); D=$(med "${SUM[ddi]}")
/usr/bin/python3 -c 'import sys; c, d = map(float, sys.argv[1:]); print(
    "median requests/s: native check-in %.0f, DDI poll %.0f (%.2fx)" % (c, d, d / c))' "$C" "$D"
