#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# scripts/demo.sh - the README's main command: a whole fleet update, for real.
#
# Why it exists: one command that shows what ota does from a fresh clone. It
# builds the project (cmake into build/), starts ota-server on its embedded
# defaults (SQLite, generated keys and admin token) on a free loopback port,
# creates a firmware signing key, builds and signs releases v1, v2 and a
# faulty v3 (it crashes at boot), provisions a fleet of simulated devices
# running v1 (each an `ota-sim run` process whose firmware runs ota-agent),
# rolls v2 out in stages to every device, then rolls out v3, which fails on
# the canary devices: they roll back by themselves and the campaign halts.
# It prints progress as it goes and a final table, and cleans up after
# itself (processes and temporary files), also on Ctrl-C.
#
# Usage: scripts/demo.sh [--no-build] [--devices N] [--keep]
#   --no-build   use the binaries already in build/ (or $OTA_BUILD_DIR)
#   --devices N  fleet size (default 10)
#   --keep       keep the work directory (logs, flash files, database)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${OTA_BUILD_DIR:-$ROOT/build}
JOBS=${OTA_JOBS:-2}
N=10
DO_BUILD=1
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) DO_BUILD=0 ;;
    --devices) N=$2; shift ;;
    --keep) KEEP=1 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "demo: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

bold() { printf '\033[1m%s\033[0m\n' "$*"; }
say() { printf '\n'; bold "== $*"; }
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3

if [ $DO_BUILD = 1 ]; then
  say "building into $BUILD (cmake, -j$JOBS)"
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD" -j "$JOBS" --target ota ota-server ota-sim ota-agent >/dev/null
fi
OTA="$BUILD/src/tool/ota"
SERVER="$BUILD/src/server/ota-server"
SIM="$BUILD/src/sim/ota-sim"
for b in "$OTA" "$SERVER" "$SIM"; do
  [ -x "$b" ] || { echo "demo: $b is not built (run without --no-build)" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ota-demo.XXXXXX")
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ $KEEP = 1 ]; then echo "demo: work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$WORK"

PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
HW=demo-board

say "1. a firmware signing key (ECDSA P-256)"
"$OTA" keygen -o fw.pem
"$OTA" pubkey fw.pem > fw.pub.pem

say "2. ota-server: zero-config start (SQLite, manifest key, admin token) on $URL"
"$SERVER" --data "$WORK/server" --listen "127.0.0.1:$PORT" --trusted-key fw.pub.pem \
  --admin-token-file admin-token --poll-interval 1 --no-access-log > server.log 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
  curl -fsS "$URL/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$URL/healthz" >/dev/null || { cat server.log; echo "demo: server did not start" >&2; exit 1; }
sed -n '1,12p' server.log | grep -v "^ts=" | sed 's/^/   /'
TOKEN=$(cat admin-token)
api() { # METHOD PATH [JSON]
  if [ $# -ge 3 ]; then
    curl -fsS -X "$1" -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
         --data "$3" "$URL$2"
  else
    curl -fsS -X "$1" -H "Authorization: Bearer $TOKEN" "$URL$2"
  fi
}
jget() { $PY -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

say "3. releases: v1.0.0, v2.0.0 (healthy) and v3.0.0 (faulty: crashes at boot)"
# Firmware payloads that differ a little between versions, as real builds do
# (so the server can offer small deltas); the marker tells the simulated
# device how the firmware behaves.
head -c 120000 /dev/urandom > base.bin
make_fw() { # VERSION BEHAVIOUR SEED
  { printf 'OTA-SIM-BEHAVIOUR=%s\nversion=%s\n' "$2" "$1"; cat base.bin; } > "fw-$1.bin"
  local i
  for i in $(seq 1 20); do
    printf '%08x' $(( $3 * 1000 + i )) | dd of="fw-$1.bin" bs=1 seek=$(( (i * 5821 + $3 * 97) % 110000 + 100 )) conv=notrunc status=none
  done
  "$OTA" sign --key fw.pem --version "$1" --security-counter "${1%%.*}" --hw-id "$HW" \
    -q "fw-$1.bin" "v$1.img"
}
make_fw 1.0.0 healthy 1
make_fw 2.0.0 healthy 2
make_fw 3.0.0 crash-at-boot 3
for v in 1.0.0 2.0.0 3.0.0; do
  id=$(curl -fsS -X POST -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/octet-stream" \
       --data-binary "@v$v.img" "$URL/v1/releases" | jget 'd["id"]')
  eval "REL_${v%%.*}=$id"
  echo "   release $id: v$v ($(stat -c %s "v$v.img") bytes, signed, hw $HW)"
done

say "4. a fleet of $N simulated devices running v1.0.0"
MPUB="$WORK/server/keys/manifest-key.pub.pem"
DEVS=()
for i in $(seq -w 1 "$N"); do
  dev="dev-$i"
  DEVS+=("$dev")
  tok=$(api POST /v1/devices "{\"id\":\"$dev\",\"hw_id\":\"$HW\"}" | jget 'd["token"]')
  "$SIM" create "$dev.flash" --key fw.pub.pem --hw-id "$HW" >/dev/null
  "$SIM" install "$dev.flash" v1.0.0.img >/dev/null
  "$SIM" boot "$dev.flash" >/dev/null
  "$SIM" confirm "$dev.flash" >/dev/null
  cat > "$dev.conf" <<EOF
# ota-agent configuration of $dev (see ota-agent --help)
server = $URL
allow_http = yes
device_id = $dev
token = $tok
server_key = $MPUB
poll_interval = 1
backoff_min = 0.2
backoff_max = 3
EOF
  "$SIM" run "$dev.flash" --agent-config "$dev.conf" --watchdog 0.5 > "$dev.log" 2>&1 &
  PIDS+=($!)
done
echo "   ${#DEVS[@]} devices provisioned (A/B slots, bootloader, OTP) and running; logs in $WORK/dev-*.log"

running_version() { # FLASH -> version of the running slot
  "$SIM" status "$1" --json 2>/dev/null | jget '[s["version"] for s in d["slots"] if s["name"]==d["running"]][0] if d.get("running") else "-"'
}

campaign_line() { # ID
  api GET "/v1/campaigns/$1" | jget '"stage %d/%d (%g%%) %-8s offered-so-far=%d success=%d rolled-back=%d failure=%d%s" % (d["stage"]+1, len(d["stages"]), d["stage_percent"], d["state"], sum(d["counts"].values()), d["counts"]["success"], d["counts"]["rolled-back"], d["counts"]["failure"], (" halted: " + d["halt_reason"]) if d.get("halt_reason") else "")'
}

fleet_versions() {
  local dev out=""
  for dev in "${DEVS[@]}"; do out+="$(running_version "$dev.flash" | cut -d+ -f1) "; done
  echo "$out"
}

# ota-server places each device deterministically in a campaign's rollout:
# bucket = SHA-256("ota-rollout\0" || campaign id (u64 LE) || device id) mod
# 10000, offered once bucket < percent * 100. With a fleet this small we
# size the first stage so that it holds at least `want` devices.
stage_pct() { # CAMPAIGN_ID WANT -> percent
  $PY - "$1" "$2" "${DEVS[@]}" <<'PYEOF'
import hashlib, struct, sys
cid, want, devs = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
b = sorted(int.from_bytes(hashlib.sha256(b"ota-rollout\0" + struct.pack("<Q", cid) + d.encode()).digest()[:8], "little") % 10000 for d in devs)
print(max(10, (b[want - 1] + 100) // 100))
PYEOF
}
NEXT_ID=$(( $(api GET /v1/campaigns | jget 'max([c["id"] for c in d["campaigns"]] or [0])') + 1 ))
P1=$(stage_pct "$NEXT_ID" 1)
P2=$(( P1 < 50 ? 50 : (P1 + 100) / 2 ))
say "5. campaign 1: roll out v2.0.0 in stages ($P1% -> $P2% -> 100%, 2 s soak each, halt above 20% failures)"
C1=$(api POST /v1/campaigns "{\"name\":\"v2-rollout\",\"release_id\":$REL_2,\"stages\":[
  {\"percent\":$P1,\"soak_seconds\":2,\"min_finished\":1,\"max_failure_ratio\":0.2},
  {\"percent\":$P2,\"soak_seconds\":2,\"min_finished\":2,\"max_failure_ratio\":0.2},
  {\"percent\":100,\"max_failure_ratio\":0.2}]}" | jget 'd["id"]')
for t in $(seq 1 120); do
  line=$(campaign_line "$C1")
  vers=$(fleet_versions)
  printf '   t=%3ss  %s\n          fleet: %s\n' "$t" "$line" "$vers"
  done_n=$(api GET "/v1/campaigns/$C1" | jget 'd["counts"]["success"]')
  [ "$done_n" -ge "$N" ] && break
  sleep 1
done
[ "$done_n" -ge "$N" ] || { echo "demo: v2 did not reach every device" >&2; exit 1; }
bold "   -> v2.0.0 is on all $N devices"

P1=$(stage_pct $((C1 + 1)) 2)
say "6. campaign 2: roll out the faulty v3.0.0 (canary stage $P1%, halt on the first failure)"
C2=$(api POST /v1/campaigns "{\"name\":\"v3-rollout\",\"release_id\":$REL_3,\"stages\":[
  {\"percent\":$P1,\"soak_seconds\":600,\"min_finished\":1,\"max_failure_ratio\":0.0},
  {\"percent\":100,\"max_failure_ratio\":0.2}]}" | jget 'd["id"]')
for t in $(seq 1 120); do
  line=$(campaign_line "$C2")
  printf '   t=%3ss  %s\n          fleet: %s\n' "$t" "$line" "$(fleet_versions)"
  st=$(api GET "/v1/campaigns/$C2" | jget 'd["state"] + " " + str(d["in_progress"])')
  [ "$st" = "halted 0" ] && break
  sleep 1
done
[ "${st:-}" = "halted 0" ] || { echo "demo: the v3 campaign did not halt" >&2; exit 1; }
bold "   -> v3.0.0 crashed at boot on the canary devices; their bootloaders reverted to v2.0.0, the agents reported the rollback, the campaign halted"

say "7. where everything stands"
printf '   %-8s %-9s %-10s %-6s %-7s %s\n' DEVICE RUNNING CONFIRMED OTP BOOTS "LAST REPORT"
for dev in "${DEVS[@]}"; do
  st=$("$SIM" status "$dev.flash" --json)
  last=$(api GET "/v1/devices/$dev/reports" | jget '(lambda r: "%s (campaign %d)%s" % (r[-1]["state"], r[-1]["campaign_id"], (": " + r[-1]["detail"][:60]) if r[-1]["detail"] else "") if r else "-")(d["reports"])')
  echo "$st" | jget '"   %-8s %-9s %-10s %-6d %-7d " % ("'"$dev"'", [s["version"] for s in d["slots"] if s["name"]==d["running"]][0].split("+")[0], ([s["version"] for s in d["slots"] if s.get("role")=="confirmed"] or ["-"])[0].split("+")[0], d["otp"]["counter"], d["boot_count"])' | tr -d '\n'
  echo "$last"
done
echo
printf '   %-9s %-11s %-18s %-6s %-8s %-12s %s\n' CAMPAIGN NAME STATE STAGE SUCCESS ROLLED-BACK "HALT REASON"
for c in "$C1" "$C2"; do
  api GET "/v1/campaigns/$c" | jget '"   %-9d %-11s %-18s %-6s %-8d %-12d %s" % (d["id"], d["name"], d["state"] + (" (complete)" if d["rollout_complete"] else ""), "%d/%d" % (d["stage"]+1, len(d["stages"])), d["counts"]["success"], d["counts"]["rolled-back"], d.get("halt_reason") or "-")'
done
echo
deltas=$(cat dev-*.log | grep -c "delta payload" || true)
fulls=$(cat dev-*.log | grep -c "full payload" || true)
dbytes=$(cat dev-*.log | grep -o "delta payload [0-9]*" | awk '{s+=$3} END {if (NR) printf "%d", s/NR; else print 0}')
echo "   downloads: $deltas delta payloads (average $dbytes bytes for a $(stat -c %s v2.0.0.img)-byte image), $fulls full images"

# Checks: the demo fails loudly if the story did not happen.
for dev in "${DEVS[@]}"; do
  v=$(running_version "$dev.flash")
  [ "$v" = "2.0.0+0" ] || { echo "demo: FAILED: $dev runs $v, expected 2.0.0" >&2; exit 1; }
done
rb=$(api GET "/v1/campaigns/$C2" | jget 'd["counts"]["rolled-back"]')
[ "$rb" -ge 1 ] || { echo "demo: FAILED: no canary rolled back" >&2; exit 1; }
say "the web console, served by the same ota-server: $URL/"
page=$(curl -fsS "$URL/")
[[ "$page" == *"/console/app.js"* ]] || { echo "demo: FAILED: no web console at $URL/" >&2; exit 1; }
api GET /v1/fleet/summary | jget '"   what its overview shows: %d devices, %d online; by version: %s" % (d["devices"], d["online"], ", ".join("%s: %d" % (v["version"] or "none", v["devices"]) for v in d["by_version"]))'
echo "   (log in with the admin token; with --keep, ota-server --data $WORK/server serves it again)"
say "done: v2.0.0 everywhere; v3.0.0 stopped at the canaries ($rb canary device(s) rolled back on their own)"
