#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/server/run.sh - check-in throughput and latency of ota-server with
# 1k and 1M registered devices, beside nginx serving a static response of
# the same size, all driven by wrk on loopback in this one run.
#
# Usage: bench/server/run.sh [BUILD_DIR] [SECONDS]   (defaults: build, 10)
# Needs: wrk, nginx (nginx-light), python3; ota-server and ota built.
# Also measures durable status reports per second (8 clients, 5 s).
# Prints a table and the ratios; takes about 2 minutes (SECONDS=10, 3 rounds).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
SECS=${2:-10}
SERVER=$BUILD/src/server/ota-server
TOOL=$BUILD/src/tool/ota
CONNS=${OTA_BENCH_CONNS:-64}
WRK_THREADS=${OTA_BENCH_WRK_THREADS:-1}
# Both servers run with their defaults: ota-server 2 threads per CPU,
# nginx one worker per CPU (worker_processes auto).
SRV_THREADS=${OTA_BENCH_SERVER_THREADS:-$((2 * $(nproc)))}
BIG=${OTA_BENCH_BIG:-1000000}
for bin in "$SERVER" "$TOOL"; do [ -x "$bin" ] || { echo "missing $bin (build first)" >&2; exit 1; }; done
command -v wrk >/dev/null || { echo "wrk not installed (scripts/setup.sh)" >&2; exit 1; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "nginx not installed (scripts/setup.sh)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/ota-bench-server.XXXXXX)
SRV_PID=""; NGX_PID=""
cleanup() {
  [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null || true
  [ -n "$NGX_PID" ] && kill "$NGX_PID" 2>/dev/null && wait "$NGX_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- firmware release: the campaign target every device already runs ----
"$TOOL" keygen -o "$WORK/fw.pem" >/dev/null 2>&1
"$TOOL" pubkey "$WORK/fw.pem" > "$WORK/fw.pub.pem"
head -c 65536 /dev/urandom > "$WORK/app.bin"
"$TOOL" sign -k "$WORK/fw.pem" -v 1.0.0 -s 1 --hw-id bench-hw "$WORK/app.bin" "$WORK/app.img" >/dev/null
DIGEST=$(sha256sum "$WORK/app.img" | cut -d' ' -f1)

start_server() { # data dir
  "$SERVER" --data "$1" --listen 127.0.0.1:0 --per-ip-connections 0 --trusted-key "$WORK/fw.pub.pem" \
    --threads "$SRV_THREADS" --no-access-log --log-level warn > "$WORK/server.out" 2>"$WORK/server.err" &
  SRV_PID=$!
  for _ in $(seq 100); do
    PORT=$(sed -n 's/^listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$WORK/server.out" 2>/dev/null || true)
    [ -n "$PORT" ] && break; sleep 0.1
  done
  [ -n "$PORT" ] || { cat "$WORK/server.err"; exit 1; }
  TOKEN=$(sed -n 's/^admin token (shown once[^:]*: \(.*\)$/\1/p' "$WORK/server.out")
}
stop_server() { kill "$SRV_PID"; wait "$SRV_PID" || true; SRV_PID=""; }

prepare() { # data dir, devices
  local d=$1 n=$2
  start_server "$d"
  local tok=$TOKEN
  curl -sf -H "Authorization: Bearer $tok" -H 'Content-Type: application/octet-stream' \
    --data-binary @"$WORK/app.img" "http://127.0.0.1:$PORT/v1/releases" >/dev/null
  curl -sf -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
    -d '{"release_id":1,"stages":[{"percent":100}]}' "http://127.0.0.1:$PORT/v1/campaigns" >/dev/null
  stop_server
  /usr/bin/python3 "$HERE/seed_devices.py" "$d/ota.db" "$n" "$DIGEST" >/dev/null
  ADMIN_TOKENS[$n]=$tok
}

# Sanity: one check-in answers "nothing to do" as the benchmark expects.
checkin_once() {
  curl -sf -H "Authorization: Bearer tok-0" -H 'Content-Type: application/json' \
    -d "{\"hw_id\":\"bench-hw\",\"current_version\":\"1.0.0\",\"current_digest\":\"$DIGEST\",\"manifest_format\":2}" \
    "http://127.0.0.1:$PORT/v1/devices/dev-0/checkin"
}

run_wrk() { # url devices [seconds] -> "rps p50 p99 errors"
  DEVICES=$2 DIGEST=$DIGEST wrk -t"$WRK_THREADS" -c"$CONNS" -d"${3:-$SECS}s" --latency \
    -s "$HERE/checkin.lua" "$1" > "$WORK/wrk.out" 2>&1 || { cat "$WORK/wrk.out"; exit 1; }
  sed -n 's/^RESULT //p' "$WORK/wrk.out"
}
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# --- nginx: static response of the same size on the same machine ----------
start_nginx() { # body
  NPORT=$(free_port)
  mkdir -p "$WORK/nginx/logs"
  cat > "$WORK/nginx/nginx.conf" <<NGX
worker_processes auto;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NPORT;
    location / { default_type application/json; return 200 '$1'; }
  }
}
NGX
  "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/logs/error.log" &
  NGX_PID=$!
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$NPORT/x" >/dev/null 2>&1 && break; sleep 0.1; done
}

ROUNDS=${OTA_BENCH_ROUNDS:-3}
echo "== ota-server check-in benchmark: wrk -t$WRK_THREADS -c$CONNS -d${SECS}s x $ROUNDS rounds (interleaved), ota-server --threads $SRV_THREADS, nginx worker_processes auto, $(nproc) CPUs"

# Prepare both databases, then run all three servers side by side and
# interleave the measurements, so machine noise hits each target alike.
declare -A PORTS PIDS ADMIN_TOKENS
for n in 1000 "$BIG"; do
  t0=$(date +%s)
  prepare "$WORK/data-$n" "$n"
  echo "-- $n devices seeded in $(( $(date +%s) - t0 ))s"
done
for n in 1000 "$BIG"; do
  start_server "$WORK/data-$n"
  PORTS[$n]=$PORT; PIDS[$n]=$SRV_PID; SRV_PID=""
  BODY=$(checkin_once)
  # "nothing to do" with the signed no-offer statement (as ota-agent is answered)
  case "$BODY" in '{"action":"none","poll_interval":300,"no_offer":"T1RBTg'*'"}') ;;
    *) echo "unexpected check-in answer: $BODY" >&2; exit 1 ;; esac
done
trap 'kill ${PIDS[1000]} ${PIDS[$BIG]} 2>/dev/null; wait ${PIDS[1000]} ${PIDS[$BIG]} 2>/dev/null; cleanup' EXIT
start_nginx "$BODY"
NBODY=$(curl -sf -X POST "http://127.0.0.1:$NPORT/v1/devices/dev-0/checkin")
[ "$NBODY" = "$BODY" ] || { echo "nginx body differs: $NBODY" >&2; exit 1; }

declare -A URL=([nginx]="http://127.0.0.1:$NPORT" [1000]="http://127.0.0.1:${PORTS[1000]}" [$BIG]="http://127.0.0.1:${PORTS[$BIG]}")
declare -A DEVS=([nginx]=1000 [1000]=1000 [$BIG]=$BIG)
for t in nginx 1000 "$BIG"; do run_wrk "${URL[$t]}" "${DEVS[$t]}" 3 >/dev/null; done  # warm-up
declare -A RES
for r in $(seq "$ROUNDS"); do
  for t in nginx 1000 "$BIG"; do
    out=$(run_wrk "${URL[$t]}" "${DEVS[$t]}")
    RES[$t]="${RES[$t]:-}$out;"
    echo "   round $r $t: $out"
  done
done
REP=$(/usr/bin/python3 "$HERE/reports.py" "${PORTS[1000]}" "${ADMIN_TOKENS[1000]}" 8 5 | sed -n 's/^RESULT //p')
echo "-- durable reports (commit + fsync before each 201): $REP"
for n in 1000 "$BIG"; do
  SEEN=$(curl -sf -H "Authorization: Bearer ${ADMIN_TOKENS[$n]}" "http://127.0.0.1:${PORTS[$n]}/metrics" 2>/dev/null | sed -n 's/^ota_checkins_total //p' || true)
  echo "-- server with $n devices counted ${SEEN:-?} check-ins"
done

# --- table: medians over the rounds -----------------------------------------
/usr/bin/python3 - "$BIG" "${RES[nginx]}" "${RES[1000]}" "${RES[$BIG]}" <<'PY'
import statistics, sys
big = sys.argv[1]
def parse(s):
    rows = []
    for part in filter(None, s.split(";")):
        rows.append({k: float(v) for k, v in (f.split("=") for f in part.split())})
    return rows
ng, small, large = (parse(a) for a in sys.argv[2:5])
med = lambda rows, k: statistics.median(r[k] for r in rows)
print("\n| target | devices | req/s | p50 (ms) | p99 (ms) | errors | req/s vs nginx (median of rounds) |")
print("|---|---:|---:|---:|---:|---:|---:|")
for label, dev, rows in (("nginx (static, same body size)", "-", ng),
                         ("ota-server check-in", "1000", small),
                         ("ota-server check-in", big, large)):
    ratio = statistics.median(r["rps"] / n["rps"] for r, n in zip(rows, ng))
    errs = sum(r["errors"] + r["non2xx"] for r in rows)
    print(f"| {label} | {dev} | {med(rows, 'rps'):.0f} | {med(rows, 'p50_us') / 1000:.2f} | "
          f"{med(rows, 'p99_us') / 1000:.2f} | {errs:.0f} | {ratio:.2f}x |")
print(f"\nlatency {big} vs 1000 devices: p50 x{med(large, 'p50_us') / med(small, 'p50_us'):.2f}, "
      f"p99 x{med(large, 'p99_us') / med(small, 'p99_us'):.2f}; "
      f"throughput x{med(large, 'rps') / med(small, 'rps'):.2f}")
PY
