# SPDX-License-Identifier: Apache-2.0
# bench/delta/best_of.sh - sourced by the delta benchmarks (run.sh, elf.sh).
# best_of CMD...: runs REPS times, prints the smallest CPU time (user + sys of
# the child, from wait4) in ms: unlike wall time it does not count waiting for
# the disk (fsync) or for other processes on a shared machine.
best_of() {
  /usr/bin/python3 - "$REPS" "$@" <<'PY'
import os, subprocess, sys
reps, cmd = int(sys.argv[1]), sys.argv[2:]
best = None
for _ in range(reps):
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    if status != 0:
        sys.exit(f"{cmd[0]} failed")
    t = ru.ru_utime + ru.ru_stime
    best = t if best is None or t < best else best
print(f"{best * 1000:.1f}")
PY
}
