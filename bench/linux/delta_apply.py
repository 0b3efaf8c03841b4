#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""
bench/linux/delta_apply.py - ota-agent (Linux backend) installing a root
filesystem delta from a loopback ota-server: slot A -> slot B, how fast, with
how much memory and CPU, and how a kill -9 in the middle resumes
(docs/benchmarks.md, "ota-agent applying a root filesystem delta").

Why it exists: bench/delta/rootfs.sh measures the CLI (`ota delta apply`,
files in, file out); the device path is different: the agent streams the
patch over HTTP and reads the old image out of the running slot through the
slot layer (src/agent/backend_linux_flash.c), checkpointing as it goes.

The images are the real root filesystems of bench/delta/rootfs_corpus.sh
(read only; made by `bench/delta/rootfs_corpus.sh` if absent): ext4 of
256 MiB (default) or 1024 MiB, or the 82 MiB squashfs. Both are signed; the
old one is provisioned into slot A (`ota-agent --provision`), both are
published in ota-server, whose `--deflate` delta (what it makes for a
device saying "deflate", the Linux agent) is generated first through a
warm-up check-in, so the agent's time is the install only. Then, each on
fresh slot files:
  apply      `ota-agent --once` per agent binary given (--agent, default
             this build's; several: compared in the same run, each once per
             --rounds, interleaved): wall, CPU (user+sys, wait4), peak RSS
             (VmHWM, sampled every 5 ms), slot B compared byte for byte
  kill -9    `ota-agent --once` killed with SIGKILL once its log says 50 %
             of the patch was downloaded, then run again: the patch byte it
             resumed from (its log), the bytes downloaded again, slot B
             compared byte for byte
Run from the repository root after building; at 256 MiB a few minutes
(mostly the server generating the patch; at 1 GiB the server reads both
images into memory beside the creator's ~3 GB, docs/benchmarks.md):
    /usr/bin/python3 bench/linux/delta_apply.py [--image ext4-256|ext4-1024|sqfs]
        [--agent PATH ...] [--rounds N] [--no-kill] [--dir DIR]
"""

import argparse
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "agent"))
import linuxdev as L  # noqa: E402
from linuxdev import E  # noqa: E402

CACHE = os.path.expanduser("~/.cache/ota-bench-rootfs/set-f2a14a6dc0df")
IMAGES = {
    "ext4-256": ("256/old.ext4", "256/new.ext4"),
    "ext4-1024": ("1024/old.ext4", "1024/new.ext4"),
    "sqfs": ("old.sqfs", "new.sqfs"),
}


def run_measured(cmd, log_path, kill_when=None):
    """Run cmd (stdout+stderr appended to log_path) to its end, or until
    kill_when(log text) is true (then SIGKILL). Returns (wall s, CPU s
    (user, sys), peak RSS KiB (VmHWM sampled every 5 ms), read system calls
    (/proc/PID/io syscr, last sample), exit status or -signal, log text
    this run wrote)."""
    with open(log_path, "a") as log:
        start = log.tell()
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    peak, syscr, killed = 0, 0, False
    status = "/proc/%d/status" % p.pid
    exe = os.path.realpath(cmd[0])
    while True:
        pid, st, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        try:
            if os.readlink("/proc/%d/exe" % p.pid) == exe:
                with open(status) as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            peak = max(peak, int(line.split()[1]))
                with open("/proc/%d/io" % p.pid) as f:
                    for line in f:
                        if line.startswith("syscr:"):
                            syscr = max(syscr, int(line.split()[1]))
        except OSError:
            pass
        if kill_when and not killed:
            with open(log_path) as f:
                f.seek(start)
                if kill_when(f.read()):
                    os.kill(p.pid, signal.SIGKILL)  # our child, by PID
                    killed = True
        time.sleep(0.005)
    p.returncode = os.waitstatus_to_exitcode(st)
    dt = time.monotonic() - t0
    with open(log_path) as f:
        f.seek(start)
        text = f.read()
    return dt, (ru.ru_utime, ru.ru_stime), peak, syscr, p.returncode, text


def hwm(pid):
    """A running process's peak RSS so far (VmHWM), KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def slot_matches(d, fs):
    """Slot B's first len(fs) bytes are fs, byte for byte."""
    n = os.path.getsize(fs)
    with open(d.slots[1], "rb") as a, open(fs, "rb") as b:
        left = n
        while left:
            x, y = a.read(min(left, 1 << 20)), b.read(min(left, 1 << 20))
            if x != y or not x:
                return False
            left -= len(x)
    return True


def warm_delta(s, v1, timeout):
    """Check in as a deflate+model2 device until the server has generated
    the delta; returns (payload as offered, seconds it took)."""
    tok = s.api("POST", "/v1/devices", {"id": "warm-up", "hw_id": L.HW})["token"]
    body = {"hw_id": L.HW, "current_version": "1.0.0", "current_digest": sha256(v1),
            "manifest_format": 2, "delta_features": ["deflate", "model2"]}
    t0 = time.monotonic()
    while True:
        r = s.api("POST", "/v1/devices/warm-up/checkin", body, token=tok)
        if r.get("action") == "update":
            return r["payload"], time.monotonic() - t0
        if r.get("reason") != "delta_pending" or time.monotonic() - t0 > timeout:
            raise SystemExit("no delta from the server: %s (server log: %s)" % (r, s.log_path))
        time.sleep(0.5)


def fresh_device(work, s, keys, name, v1, slot_mib, agent):
    d = L.LinuxDevice(work, name, s, keys, slot_mib=slot_mib)
    E.run([agent, "--config", d.conf, "--provision", "A", v1])
    assert d.boot() == "A"
    E.run([agent, "--config", d.conf, "--confirm"])
    return d


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--image", choices=sorted(IMAGES), default="ext4-256")
    ap.add_argument("--agent", action="append", default=None,
                    help="an ota-agent binary (repeatable: compared in the same run; "
                         "default: this build's)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="apply runs per agent (0: only the kill -9 run)")
    ap.add_argument("--no-kill", action="store_true", help="skip the kill -9 run")
    ap.add_argument("--dir", default=None, help="work directory (default: a temporary one)")
    a = ap.parse_args()
    old, new = (os.path.join(CACHE, p) for p in IMAGES[a.image])
    if not (os.path.exists(old) and os.path.exists(new)):
        raise SystemExit("missing %s / %s: make the corpus first with "
                         "bench/delta/rootfs_corpus.sh (see docs/benchmarks.md, "
                         "\"Delta patches: root filesystem images\")" % (old, new))
    agents = [os.path.abspath(x) for x in (a.agent or [E.AGENT])]
    work = tempfile.mkdtemp(prefix="ota-bench-delta-", dir=a.dir)
    try:
        return run(work, old, new, agents, a.rounds, not a.no_kill)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work, old, new, agents, rounds, kill):
    keys = E.Keys(work)
    v1 = L.sign(work, keys, old, "1.0.0", 1)
    v2 = L.sign(work, keys, new, "2.0.0", 2)
    size = max(os.path.getsize(old), os.path.getsize(new))
    slot_mib = (size >> 20) + 16
    s = E.Server(work, keys.pub, ["--max-release", str(size + (4 << 20))]).start()
    rows = []
    try:
        s.upload(v1)
        r2 = s.upload(v2)
        s.campaign(r2["id"], [{"percent": 100}])
        payload, gen_s = warm_delta(s, v1, 3600)
        assert payload["kind"] == "delta", payload
        psize = payload["size"]
        print("%s -> %s: patch %d bytes (server --deflate delta, generated in %.1f s, "
              "server peak RSS %.0f MiB); new image %d bytes"
              % (old, new, psize, gen_s, hwm(s.proc.pid) / 1024.0, os.path.getsize(new)))
        sys.stdout.flush()

        for rnd in range(rounds):
            for i, agent in enumerate(agents):
                d = fresh_device(work, s, keys, "dev-%d-%d" % (rnd, i), v1, slot_mib, agent)
                dt, cpu, rss, nr, rc, log = run_measured([agent, "--config", d.conf, "--once"],
                                                     d.log_path)
                assert rc == 20, (agent, rc, log[-3000:])
                assert "delta payload %d bytes" % psize in log, log[-3000:]
                ok = slot_matches(d, new)
                rows.append((agent, dt, cpu, rss, nr, ok))
                print("apply  %-44s %6.2f s wall %5.2f+%.2f s CPU (user+sys) %5.1f MiB "
                      "%8d read calls  slot B %s"
                      % (agent, dt, cpu[0], cpu[1], rss / 1024.0, nr,
                         "== new image" if ok else "DIFFERS"))
                sys.stdout.flush()
                shutil.rmtree(d.dir)

        if kill:
            kill_run(work, s, keys, v1, new, slot_mib, agents[-1], psize)
    finally:
        s.stop()
    if len(agents) > 1 or rounds > 1:
        print("\n| agent | wall s | CPU s user + sys | peak RSS MiB | read system calls |")
        print("|---|---:|---:|---:|---:|")
        for agent in agents:
            mine = [r for r in rows if r[0] == agent]
            print("| %s | %s | %s | %.1f | %s |"
                  % (agent, ", ".join("%.2f" % r[1] for r in mine),
                     ", ".join("%.2f + %.2f" % r[2] for r in mine),
                     max(r[3] for r in mine) / 1024.0,
                     ", ".join("%d" % r[4] for r in mine)))
    bad = [r for r in rows if not r[5]]
    return 1 if bad else 0


def kill_run(work, s, keys, v1, new, slot_mib, agent, psize):
    d = fresh_device(work, s, keys, "dev-kill", v1, slot_mib, agent)
    pat = re.compile(r"download: (\d+)% \((\d+) of (\d+) bytes\)")

    def half(text):
        return any(int(m.group(1)) >= 50 for m in pat.finditer(text))
    dt1, cpu1, rss1, nr1, rc1, log1 = run_measured([agent, "--config", d.conf, "--once"],
                                              d.log_path, kill_when=half)
    at = [int(m.group(2)) for m in pat.finditer(log1)]
    assert rc1 == -signal.SIGKILL, (rc1, log1[-3000:])
    killed_at = max(at)
    dt2, cpu2, rss2, nr2, rc2, log2 = run_measured([agent, "--config", d.conf, "--once"], d.log_path)
    assert rc2 == 20, (rc2, log2[-3000:])
    m = re.search(r"delta install resumed at patch byte (\d+) of (\d+) .*written up to byte "
                  r"(\d+)\)", log2)
    g = re.search(r"GET \S+ from byte (\d+) of (\d+)", log2)
    resumed = int(g.group(1)) if g else 0
    ok = slot_matches(d, new)
    print("kill -9 after the log said %d of %d patch bytes (%.0f %%), %.2f s in; "
          "restart: %s" % (killed_at, psize, 100.0 * killed_at / psize, dt1,
                           m.group(0) if m else "no delta state resumed"))
    print("        GET from patch byte %d: %d bytes downloaded again (%.0f %% of what the "
          "killed run had), restart %.2f s wall %.2f s CPU %.1f MiB, slot B %s"
          % (resumed, max(0, killed_at - resumed),
             100.0 * max(0, killed_at - resumed) / killed_at, dt2, sum(cpu2), rss2 / 1024.0,
             "== new image" if ok else "DIFFERS"))
    shutil.rmtree(d.dir)
    assert ok


if __name__ == "__main__":
    sys.exit(main())
