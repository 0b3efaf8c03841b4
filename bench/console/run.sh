#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/console/run.sh - web console page load times at N devices (default
# 100,000) in headless Chromium: the fleet overview, the devices list, a
# campaign page (with 20 % of the fleet finished in it) and one device.
# Also times the /v1/fleet/ endpoints alone with curl (median of 5).
#
# Usage: bench/console/run.sh [BUILD_DIR] [DEVICES]   (defaults: build, 100000)
# Needs: chromium, chromium-driver, python3-selenium, curl (scripts/setup.sh).
# Takes about a minute; the figures are in docs/benchmarks.md.
# OTA_BENCH_API_ONLY=1: the curl timings only.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
N=${2:-100000}
SERVER=$BUILD/src/server/ota-server
TOOL=$BUILD/src/tool/ota
for bin in "$SERVER" "$TOOL"; do [ -x "$bin" ] || { echo "missing $bin (build first)" >&2; exit 1; }; done

WORK=$(mktemp -d /tmp/ota-bench-console.XXXXXX)
SRV_PID=""
cleanup() {
  [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

"$TOOL" keygen -o "$WORK/fw.pem" >/dev/null 2>&1
"$TOOL" pubkey "$WORK/fw.pem" > "$WORK/fw.pub.pem"
head -c 65536 /dev/urandom > "$WORK/app.bin"
"$TOOL" sign -k "$WORK/fw.pem" -v 1.0.0 -s 1 --hw-id bench-hw "$WORK/app.bin" "$WORK/v1.img" >/dev/null
head -c 65536 /dev/urandom > "$WORK/app2.bin"
"$TOOL" sign -k "$WORK/fw.pem" -v 2.0.0 -s 1 --hw-id bench-hw "$WORK/app2.bin" "$WORK/v2.img" >/dev/null
DIGEST=$(sha256sum "$WORK/v1.img" | cut -d' ' -f1)

start_server() {
  "$SERVER" --data "$WORK/data" --listen 127.0.0.1:0 --trusted-key "$WORK/fw.pub.pem" \
    --no-access-log --log-level warn > "$WORK/server.out" 2>"$WORK/server.err" &
  SRV_PID=$!
  PORT=""
  for _ in $(seq 200); do
    PORT=$(sed -n 's/^listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$WORK/server.out" 2>/dev/null || true)
    [ -n "$PORT" ] && break; sleep 0.1
  done
  [ -n "$PORT" ] || { cat "$WORK/server.err"; exit 1; }
  T=$(sed -n 's/^admin token (shown once[^:]*: \(.*\)$/\1/p' "$WORK/server.out")
  [ -n "$T" ] && TOKEN=$T
  URL=http://127.0.0.1:$PORT
}
stop_server() { kill "$SRV_PID"; wait "$SRV_PID" || true; SRV_PID=""; }
api() { curl -sf -H "Authorization: Bearer $TOKEN" "$@"; }

start_server          # creates the schema and the admin token
stop_server
/usr/bin/python3 "$ROOT/bench/server/seed_devices.py" "$WORK/data/ota.db" "$N" "$DIGEST"
start_server
api -X POST --data-binary @"$WORK/v1.img" -H 'Content-Type: application/octet-stream' "$URL/v1/releases" >/dev/null
REL=$(api -X POST --data-binary @"$WORK/v2.img" -H 'Content-Type: application/octet-stream' \
  "$URL/v1/releases" | sed 's/.*"id":\([0-9]*\).*/\1/')
CID=$(api -X POST -H 'Content-Type: application/json' "$URL/v1/campaigns" -d \
  "{\"name\":\"bench\",\"release_id\":$REL,\"stages\":[{\"percent\":10,\"min_finished\":100,\"max_failure_ratio\":0.2},{\"percent\":100,\"min_finished\":1000}]}" \
  | sed 's/^{"id":\([0-9]*\).*/\1/')
stop_server
/usr/bin/python3 "$HERE/seed_fleet.py" "$WORK/data/ota.db" "$CID" 0.2
start_server
DEV=$(api "$URL/v1/fleet/devices?limit=1&after=dev-5000" | sed 's/.*"id":"\([^"]*\)".*/\1/')

echo "== $N devices: API alone (curl, ms, median of 5) =="
for path in "/v1/fleet/summary" "/v1/fleet/devices?limit=50" "/v1/fleet/devices?limit=50&tag=beta&seen=online" \
            "/v1/fleet/devices?limit=50&after=dev-50000" "/v1/campaigns/$CID" "/v1/fleet/campaigns/$CID/timeline?points=60" \
            "/v1/campaigns/$CID/devices?limit=50" "/v1/fleet/devices/$DEV"; do
  ts=()
  for _ in 1 2 3 4 5; do
    ts+=("$(api -o /dev/null -w '%{time_total}' "$URL$path")")
  done
  med=$(printf '%s\n' "${ts[@]}" | sort -n | sed -n 3p)
  awk -v p="$path" -v t="$med" 'BEGIN { printf "%-52s %6.1f\n", p, t * 1000 }'
done
[ -n "${OTA_BENCH_API_ONLY:-}" ] && exit 0
echo "== $N devices: console pages in headless Chromium =="
/usr/bin/python3 "$HERE/page_load.py" "$URL" "$TOKEN" overview devices "campaigns/$CID" "devices/$DEV"
