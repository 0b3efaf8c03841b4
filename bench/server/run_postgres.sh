#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/server/run_postgres.sh - what the PostgreSQL backend costs: device
# check-ins (wrk, the same script and fleet as run.sh) and durable reports
# against ota-server on PostgreSQL (--db, a throwaway local cluster started
# here) beside the same server on its default SQLite, in one run, with the
# same number of registered devices. Prints a table with the ratios.
#
# Usage: bench/server/run_postgres.sh [BUILD_DIR] [SECONDS] [DEVICES]
#        (defaults: build, 10, 100000). Needs wrk, python3, PostgreSQL server
#        binaries (/usr/lib/postgresql/*/bin); ota-server and ota built.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
SECS=${2:-10}
N=${3:-100000}
SERVER=$BUILD/src/server/ota-server
TOOL=$BUILD/src/tool/ota
CONNS=${OTA_BENCH_CONNS:-64}
SRV_THREADS=${OTA_BENCH_SERVER_THREADS:-$((2 * $(nproc)))}
ROUNDS=${OTA_BENCH_ROUNDS:-3}
for bin in "$SERVER" "$TOOL"; do [ -x "$bin" ] || { echo "missing $bin (build first)" >&2; exit 1; }; done
command -v wrk >/dev/null || { echo "wrk not installed (scripts/setup.sh)" >&2; exit 1; }
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$PGBIN/initdb" ] || { echo "PostgreSQL server not installed (scripts/setup.sh)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/ota-bench-pg.XXXXXX)
chmod 755 "$WORK"
PIDS=()
AS=()
[ "$(id -u)" = 0 ] && AS=(runuser -u postgres --)
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  [ -d "$WORK/pg/data" ] && "${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- PostgreSQL: fsync and synchronous_commit on (durable like SQLite FULL) --
mkdir -p "$WORK/pg/sock"
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$WORK/pg"
PGPORT=$(free_port)
"${AS[@]}" "$PGBIN/initdb" -D "$WORK/pg/data" -U postgres --auth=trust --encoding=UTF8 \
  --locale=C.UTF-8 >/dev/null
"${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/log" -w -o \
  "-c listen_addresses=127.0.0.1 -c port=$PGPORT -c unix_socket_directories=$WORK/pg/sock -c fsync=on -c synchronous_commit=on -c shared_buffers=128MB" \
  start >/dev/null
PSQL=("${AS[@]}" "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -v ON_ERROR_STOP=1 -qAt)
"${AS[@]}" "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres ota
DB="postgresql://postgres@127.0.0.1:$PGPORT/ota"

# --- release: the campaign target every device already runs ----------------
"$TOOL" keygen -o "$WORK/fw.pem" >/dev/null 2>&1
"$TOOL" pubkey "$WORK/fw.pem" > "$WORK/fw.pub.pem"
head -c 65536 /dev/urandom > "$WORK/app.bin"
"$TOOL" sign -k "$WORK/fw.pem" -v 1.0.0 -s 1 --hw-id bench-hw "$WORK/app.bin" "$WORK/app.img" >/dev/null
DIGEST=$(sha256sum "$WORK/app.img" | cut -d' ' -f1)

start_server() { # name extra-args... -> PORT, TOKEN, PID
  local name=$1; shift
  "$SERVER" --data "$WORK/$name" --listen 127.0.0.1:0 --per-ip-connections 0 --trusted-key "$WORK/fw.pub.pem" \
    --threads "$SRV_THREADS" --no-access-log --log-level warn "$@" > "$WORK/$name.out" 2>"$WORK/$name.err" &
  PID=$!
  PORT=""
  for _ in $(seq 100); do
    PORT=$(sed -n 's/^listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$WORK/$name.out" 2>/dev/null || true)
    [ -n "$PORT" ] && break; sleep 0.1
  done
  [ -n "$PORT" ] || { cat "$WORK/$name.err"; exit 1; }
  TOKEN=$(sed -n 's/^admin token (shown once[^:]*: \(.*\)$/\1/p' "$WORK/$name.out")
}
setup_campaign() {
  curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/octet-stream' \
    --data-binary @"$WORK/app.img" "http://127.0.0.1:$PORT/v1/releases" >/dev/null
  curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"release_id":1,"stages":[{"percent":100}]}' "http://127.0.0.1:$PORT/v1/campaigns" >/dev/null
}

declare -A P T
# SQLite: create, seed offline (server stopped), restart.
start_server sqlite; setup_campaign; T[sqlite]=$TOKEN; kill "$PID"; wait "$PID" || true
t0=$(date +%s)
/usr/bin/python3 "$HERE/seed_devices.py" "$WORK/sqlite/ota.db" "$N" "$DIGEST" >/dev/null
echo "-- sqlite: $N devices seeded in $(( $(date +%s) - t0 ))s"
start_server sqlite; PIDS+=("$PID"); P[sqlite]=$PORT  # keeps the first start's token
# PostgreSQL: same fleet, seeded with SQL (same rows as seed_devices.py).
start_server postgres --db "$DB"; PIDS+=("$PID"); P[postgres]=$PORT; T[postgres]=$TOKEN
setup_campaign
t0=$(date +%s)
NOW=$(date +%s)
"${PSQL[@]}" -d ota -c "INSERT INTO devices(id, token_hash, hw_id, tags, created_at, current_version, current_digest, last_seen)
  SELECT 'dev-' || i, sha256(convert_to('tok-' || i, 'UTF8')), 'bench-hw', '', $NOW - 86400, '1.0.0',
         decode('$DIGEST', 'hex'), $NOW - 120 FROM generate_series(0, $N - 1) AS i; ANALYZE;"
echo "-- postgres: $N devices seeded in $(( $(date +%s) - t0 ))s"

ANSWER='{"action":"none","poll_interval":300}'
for t in sqlite postgres; do
  B=$(curl -sf -H "Authorization: Bearer tok-0" -H 'Content-Type: application/json' \
    -d "{\"hw_id\":\"bench-hw\",\"current_version\":\"1.0.0\",\"current_digest\":\"$DIGEST\"}" \
    "http://127.0.0.1:${P[$t]}/v1/devices/dev-0/checkin")
  [ "$B" = "$ANSWER" ] || { echo "$t: unexpected check-in answer: $B" >&2; exit 1; }
done

run_wrk() { # port -> RESULT line
  DEVICES=$N DIGEST=$DIGEST wrk -t1 -c"$CONNS" -d"${2:-$SECS}s" --latency \
    -s "$HERE/checkin.lua" "http://127.0.0.1:$1" > "$WORK/wrk.out" 2>&1 || { cat "$WORK/wrk.out"; exit 1; }
  sed -n 's/^RESULT //p' "$WORK/wrk.out"
}
echo "== check-ins: wrk -t1 -c$CONNS -d${SECS}s x $ROUNDS interleaved rounds, $N devices, ota-server --threads $SRV_THREADS, $(nproc) CPUs (shared by wrk, server and PostgreSQL)"
for t in sqlite postgres; do run_wrk "${P[$t]}" 3 >/dev/null; done  # warm-up
declare -A RES
for r in $(seq "$ROUNDS"); do
  for t in sqlite postgres; do
    out=$(run_wrk "${P[$t]}")
    RES[$t]="${RES[$t]:-}$out;"
    echo "   round $r $t: $out"
  done
done
declare -A REP
for t in sqlite postgres; do
  REP[$t]=$(/usr/bin/python3 "$HERE/reports.py" "${P[$t]}" "${T[$t]}" 8 5 | sed -n 's/^RESULT //p')
  echo "-- $t durable reports: ${REP[$t]}"
done

/usr/bin/python3 - "$N" "${RES[sqlite]}" "${RES[postgres]}" "${REP[sqlite]}" "${REP[postgres]}" <<'PY'
import statistics, sys
n = sys.argv[1]
def parse(s):
    return [{k: float(v) for k, v in (f.split("=") for f in p.split())} for p in filter(None, s.split(";"))]
sq, pg = parse(sys.argv[2]), parse(sys.argv[3])
rq, rp = ({k: float(v) for k, v in (f.split("=") for f in a.split())} for a in sys.argv[4:6])
med = lambda rows, k: statistics.median(r[k] for r in rows)
print(f"\n| ota-server store | devices | check-ins/s | p50 (ms) | p99 (ms) | errors | vs SQLite | durable reports/s (8 clients) | report p99 (ms) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for label, rows, rep in (("SQLite (default)", sq, rq), ("PostgreSQL (--db)", pg, rp)):
    ratio = statistics.median(r["rps"] / s["rps"] for r, s in zip(rows, sq))
    errs = sum(r["errors"] + r["non2xx"] for r in rows)
    print(f"| {label} | {n} | {med(rows, 'rps'):.0f} | {med(rows, 'p50_us') / 1000:.2f} | "
          f"{med(rows, 'p99_us') / 1000:.2f} | {errs:.0f} | {ratio:.2f}x | {rep['rps']:.0f} | {rep['p99_ms']:.1f} |")
PY
