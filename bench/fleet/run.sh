#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# bench/fleet/run.sh - the fleet-at-scale run of docs/benchmarks.md in one
# command: a fresh ota-server (SQLite, test clock) on a free loopback port,
# three signed releases, then ota-fleet with N devices that enroll, check
# in, and go through two staged campaigns: 1.1.0 (healthy) must complete on
# every device, 1.2.0 (30 % of trials roll back) must halt at its canary.
# Samples the server's RSS and CPU while it runs; prints the fleet's JSON
# summary and one line of figures.
#
#   bench/fleet/run.sh [--devices N] [--interval S] [--pool N] [--clock-rate R]
#                      [--threads N] [--tmpfs] [--keep DIR] [-- ota-fleet options]
# --tmpfs puts the server's data directory in /dev/shm, where fsync costs
# nothing (docs/benchmarks.md says why the figures are given both ways).
# Environment: OTA_BUILD_DIR (default ./build).
set -eu

devices=100000 interval=120 pool=48 clock_rate=120 keep= threads=4 tmpfs=
while [ $# -gt 0 ]; do
    case "$1" in
    --devices) devices=$2; shift 2 ;;
    --interval) interval=$2; shift 2 ;;
    --pool) pool=$2; shift 2 ;;
    --clock-rate) clock_rate=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    --tmpfs) tmpfs=1; shift ;;
    --) shift; break ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${OTA_BUILD_DIR:-$root/build}
ota=$build/src/tool/ota
server=$build/src/server/ota-server
fleet=$build/src/fleet/ota-fleet
for b in "$ota" "$server" "$fleet"; do
    [ -x "$b" ] || { echo "run.sh: $b not built" >&2; exit 1; }
done
if [ -n "$keep" ]; then work=$keep; mkdir -p "$work"; else work=$(mktemp -d); fi
data=$work/data
if [ -n "$tmpfs" ]; then data=$(mktemp -d /dev/shm/ota-fleet-data.XXXXXX); fi
spid=
samp=
cleanup() {
    [ -n "$samp" ] && kill "$samp" 2>/dev/null || true
    if [ -n "$spid" ]; then kill "$spid" 2>/dev/null || true; wait "$spid" 2>/dev/null || true; fi
    [ -n "$tmpfs" ] && rm -rf "$data"
    [ -n "$keep" ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM

# --- firmware: one key, three releases of one hardware ------------------------
"$ota" keygen -o "$work/fw.pem" >/dev/null 2>&1
"$ota" pubkey "$work/fw.pem" >"$work/fw.pub.pem"
# each release changes 2 KiB of the previous one: deltas pay, as in life
head -c 65536 /dev/urandom >"$work/app-base.bin"
for v in 1.0.0 1.1.0 1.2.0; do
    head -c 2048 /dev/urandom | dd of="$work/app-base.bin" bs=2048 seek="$(shuf -i 0-31 -n 1)" \
        conv=notrunc status=none
    cp "$work/app-base.bin" "$work/app-$v.bin"
    "$ota" sign -k "$work/fw.pem" -v "$v" -s 1 --hw-id fleet-hw "$work/app-$v.bin" \
        "$work/app-$v.img" >/dev/null
done

# --- server ------------------------------------------------------------------
"$server" --data "$data" --listen 127.0.0.1:0 --test-clock --no-access-log \
    --per-ip-connections 0 --threads "$threads" --poll-interval "$interval" \
    --trusted-key "$work/fw.pub.pem" --admin-token-file "$work/admin.token" \
    >"$work/server.out" 2>"$work/server.log" &
spid=$!
port=
for _ in $(seq 1 200); do
    port=$(sed -n 's/.*listening on http:\/\/[^ ]*:\([0-9][0-9]*\).*/\1/p' "$work/server.out")
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || { echo "run.sh: ota-server did not start" >&2; cat "$work/server.log" >&2; exit 1; }
url=http://127.0.0.1:$port
tok=$(cat "$work/admin.token")
upload() {
    curl -sf -H "Authorization: Bearer $tok" -H 'Content-Type: application/octet-stream' \
        --data-binary @"$1" "$url/v1/releases" | sed -n 's/^{"id": *\([0-9]*\).*/\1/p'
}
upload "$work/app-1.0.0.img" >/dev/null
r2=$(upload "$work/app-1.1.0.img")
r3=$(upload "$work/app-1.2.0.img")

# --- the two campaigns (min_finished scaled to the fleet) ----------------------
pct() { echo $(( devices * $1 / 1000 )); }
# canary 1 % (10 % below 10 000 devices: a 1 % stage of a small fleet places
# too few devices for a verdict)
canary=1 c_min=6 h_min=4
[ "$devices" -ge 10000 ] || { canary=10 c_min=60 h_min=40; }
cat >"$work/campaign-complete.json" <<JSON
{"name": "fleet-healthy", "release_id": $r2, "stages": [
  {"percent": $canary, "soak_seconds": 3600, "min_finished": $(pct $c_min), "max_failure_ratio": 0.05},
  {"percent": $(( canary == 1 ? 10 : 25 )), "soak_seconds": 3600, "min_finished": $(pct $(( canary == 1 ? 70 : 175 )))},
  {"percent": 50, "soak_seconds": 3600, "min_finished": $(pct 400)},
  {"percent": 100, "soak_seconds": 0, "min_finished": $devices}]}
JSON
cat >"$work/campaign-halt.json" <<JSON
{"name": "fleet-rollbacks", "release_id": $r3, "stages": [
  {"percent": $canary, "soak_seconds": 3600, "min_finished": $(pct $h_min), "max_failure_ratio": 0.05},
  {"percent": 100, "soak_seconds": 0, "min_finished": $devices}]}
JSON

# --- server RSS/CPU samples (1 s) ---------------------------------------------------
(
    tck=$(getconf CLK_TCK)
    while kill -0 "$spid" 2>/dev/null; do
        set -- $(cut -d' ' -f14,15 "/proc/$spid/stat" 2>/dev/null || echo 0 0)
        rss=$(awk '/^VmRSS:/{print $2}' "/proc/$spid/status" 2>/dev/null || echo 0)
        echo "$(date +%s.%N) $(( ($1 + $2) * 100 / tck )) $rss"
        sleep 1
    done
) >"$work/server-samples.txt" &
samp=$!

rc=0
"$fleet" --server "$url" --admin-token-file "$work/admin.token" \
    --trusted-key "$work/fw.pub.pem" --image "$work/app-1.0.0.img" \
    --devices "$devices" --pool "$pool" --clock-rate "$clock_rate" \
    --outcome 1.2.0=healthy:0.7,rollback:0.3 --tamper 0 \
    --campaign "complete:$work/campaign-complete.json" \
    --campaign "halted:$work/campaign-halt.json" \
    --summary "$work/summary.json" "$@" >/dev/null || rc=$?

kill "$samp" 2>/dev/null || true
samp=
# server CPU: centiseconds of user+system over the fleet's run; RSS peak
awk 'NR==1{t0=$1;c0=$2} {t=$1;c=$2; if($3>m)m=$3} END{printf "server: %.0f%% CPU average over %.0f s, peak RSS %.1f MiB\n", (c-c0)/(t-t0), t-t0, m/1024}' \
    "$work/server-samples.txt"
cat "$work/summary.json"
echo "run.sh: ota-fleet exit $rc (work dir $work${keep:+, kept})"
exit $rc
