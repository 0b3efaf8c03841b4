#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""
bench/linux/slot_write.py - how fast the Linux A/B backend writes a root
filesystem into a slot, and with how much memory, against `dd bs=4M
oflag=direct` writing the same filesystem to the same kind of slot file in
the same run (docs/benchmarks.md).

Three writes of one ext4 image (default 256 MiB, mostly incompressible
files) into fresh slot files on the same filesystem:
  dd         dd if=fs of=slot bs=4M oflag=direct conv=notrunc,fsync
  provision  ota-agent --provision B image: verify the file, write through
             the backend (body at 0, header+TLVs in the tail, fdatasync),
             read the slot back and verify it as a boot check would
  update     a full update from a loopback ota-server (ota-agent --once):
             download, hash, write, checkpoint every 4 MiB (fdatasync),
             read back, verify, mark the slot bootable (grub-editenv)
Peak RSS is the child's VmHWM (sampled every 5 ms). Run from the repository root
after building; about a minute:
    /usr/bin/python3 bench/linux/slot_write.py [--size-mib 256] [--dir DIR]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "agent"))
import linuxdev as L  # noqa: E402
from linuxdev import E  # noqa: E402


def timed(cmd, **kw):
    """Run cmd; (seconds, peak RSS in KiB, returncode, stderr). The peak is the
    child's VmHWM, sampled every 5 ms until it exits (ru_maxrss would count
    this Python process, which the child is forked from)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
    peak = 0
    status = "/proc/%d/status" % p.pid
    while p.poll() is None:
        try:
            with open(status) as f:
                for line in f:
                    if line.startswith("VmHWM:") and os.readlink("/proc/%d/exe" % p.pid) \
                            == os.path.realpath(cmd[0] if "/" in cmd[0] else shutil.which(cmd[0])):
                        peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.005)
    dt = time.monotonic() - t0
    err = p.stderr.read().decode(errors="replace")
    return dt, peak, p.returncode, err


def make_fs(work, mib):
    root = os.path.join(work, "rootfs")
    os.makedirs(os.path.join(root, "usr", "lib"))
    left = (mib - mib // 8) << 20  # leave room for ext4 metadata and journal
    i = 0
    while left > 0:
        n = min(left, 32 << 20)
        with open(os.path.join(root, "usr", "lib", "blob%02d" % i), "wb") as f:
            f.write(os.urandom(n))
        left -= n
        i += 1
    fs = os.path.join(work, "rootfs.ext4")
    E.run(["mke2fs", "-q", "-F", "-t", "ext4", "-d", root, fs, "%dM" % mib])
    shutil.rmtree(root)
    return fs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--size-mib", type=int, default=256)
    ap.add_argument("--dir", default=None, help="work directory (default: a temporary one)")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="ota-bench-linux-", dir=a.dir)
    try:
        return run(work, a.size_mib)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work, mib):
    keys = E.Keys(work)
    fs = make_fs(work, mib)
    size = os.path.getsize(fs)
    v1 = L.sign(work, keys, L.make_rootfs(work, "1.0.0"), "1.0.0", 1)
    v2 = L.sign(work, keys, fs, "2.0.0", 2)
    slot_mib = mib + 16
    rows = []

    # dd, O_DIRECT, same filesystem, fresh file of the slot's size
    slot = os.path.join(work, "dd-slot")
    with open(slot, "wb") as f:
        f.truncate(slot_mib << 20)
    dt, rss, rc, err = timed(["dd", "if=" + fs, "of=" + slot, "bs=4M", "oflag=direct",
                              "conv=notrunc,fsync", "status=none"])
    assert rc == 0, err
    rows.append(("dd bs=4M oflag=direct", dt, rss))
    os.unlink(slot)

    # ota-agent --provision (no server)
    d = L.LinuxDevice(work, "prov", None, keys, slot_mib=slot_mib, register=False)
    with open(d.cmdline, "w") as f:
        f.write("ota.slot=A\n")
    dt, rss, rc, err = timed([E.AGENT, "--config", d.conf, "--provision", "B", v2])
    assert rc == 0, err
    assert d.slot_bytes("B", size) == open(fs, "rb").read()
    rows.append(("ota-agent --provision (verify, write, read back)", dt, rss))
    shutil.rmtree(d.dir)

    # a full update from ota-server on loopback
    s = E.Server(work, keys.pub, ["--no-delta", "--max-release", str(2 * (mib + 1) << 20)]).start()
    try:
        s.upload(v1)
        r2 = s.upload(v2)
        d = L.LinuxDevice(work, "upd", s, keys, slot_mib=slot_mib)
        d.provision("A", v1)
        d.boot()
        d.agent("--confirm", check_rc=0)
        s.campaign(r2["id"], [{"percent": 100}])
        dt, rss, rc, err = timed([E.AGENT, "--config", d.conf, "--once"])
        assert rc == 20, (rc, err, d.log_tail())
        assert d.slot_bytes("B", size) == open(fs, "rb").read()
        rows.append(("ota-agent update from ota-server (download .. verified)", dt, rss))
    finally:
        s.stop()

    base = rows[0][1]
    print("filesystem image: %d MiB (%d bytes), slot files on %s" % (mib, size, work))
    print("%-58s %8s %10s %9s %10s" % ("write", "seconds", "MiB/s", "vs dd", "peak RSS"))
    for name, dt, rss in rows:
        print("%-58s %8.2f %10.1f %8.2fx %7.1f MiB" % (name, dt, size / dt / 1048576,
                                                      base / dt, rss / 1024.0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
