#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# demo-linux.sh - a real Linux VM updates itself: ota-server on 127.0.0.1, a
# QEMU x86-64 machine (SeaBIOS, GRUB with dist/linux/grub.cfg, a Debian
# kernel, busybox) whose ota-agent (backend = linux) downloads release 2.0.0
# into its other root filesystem slot, reboots into it through GRUB, passes
# its self-test and confirms. The guest's console is shown as it happens,
# then the GRUB environment on the disk and the server's reports.
# --arm64: the same on an arm64 VM (qemu-system-aarch64 -M virt) booted by
# Debian's U-Boot with dist/linux/boot.cmd, its agent cross-built for arm64
# (bootloader = uboot); the U-Boot environment is shown instead.
# Why it exists: the README's "see it" for Linux devices; the same VM as the
# linux.qemu_* tests (tests/linux/qemudev.py, docs/linux.md).
# Usage: scripts/demo-linux.sh [--no-build] [--arm64]   (a few minutes under TCG)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${OTA_BUILD_DIR:-build}
BUILD_IT=1
export OTA_DEMO_ARCH=x86-64
for a in "$@"; do
  case "$a" in
    --no-build) BUILD_IT=0;;
    --arm64) OTA_DEMO_ARCH=arm64;;
    *) echo "usage: $0 [--no-build] [--arm64]" >&2; exit 2;;
  esac
done
if [ "$BUILD_IT" = 1 ]; then
  ./scripts/setup.sh
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD" -j"$(nproc)" --target ota ota-server ota-agent >/dev/null
fi
export OTA_BUILD_DIR=$(realpath "$BUILD")
export OTA_LINUX_CACHE=${OTA_LINUX_CACHE:-$OTA_BUILD_DIR/tests/linux/cache}
mkdir -p "$OTA_LINUX_CACHE"
WORK=$(mktemp -d /tmp/ota-demo-linux.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
echo "demo-linux: work directory $WORK"

/usr/bin/python3 - "$WORK" <<'EOF'
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.getcwd(), "tests", "linux"))
import qemudev  # noqa: E402  (also puts tests/e2e on sys.path)
import otae2e as E  # noqa: E402
import vm as vmmod  # noqa: E402

work = sys.argv[1]
cache = os.environ["OTA_LINUX_CACHE"]
arch = os.environ["OTA_DEMO_ARCH"]
t0 = time.time()


def say(msg):
    print("[%5.1fs] %s" % (time.time() - t0, msg), flush=True)


class Machines:
    def __init__(self):
        self.vms = []

    def vm(self, disk, **kw):
        v = vmmod.VM(work, disk, **kw)
        self.vms.append(v)
        return v


def follow(vm, pos, until, timeout=900):
    """Print the guest's own lines (GRUB's choice, OTA-GUEST, agent log) as
    they appear on its serial console, until regex `until` shows."""
    rx = re.compile(until)
    end = time.time() + timeout
    buf = ""
    while time.time() < end:
        text = vm.console()
        new, pos = text[pos:], len(text)
        buf += new
        lines = buf.split("\n")
        buf = lines.pop()
        for line in lines:
            line = line.replace("\x1b[H\x1b[J\x1b[1;1H", "").strip()
            if line.startswith(("OTA-GUEST", "ota: booting", "ota: slot")) \
                    or re.match(r"\d{4}-\d\d-\d\dT", line):
                print("    guest| " + line, flush=True)
            if rx.search(line):
                return pos
        if not vm.running():
            raise SystemExit("demo-linux: QEMU exited:\n" + vm.tail())
        time.sleep(0.3)
    raise SystemExit("demo-linux: timed out waiting for %r\n%s" % (until, vm.tail()))


machines = Machines()
keys = E.Keys(work)
server = E.Server(work, keys.pub).start()
try:
    say("ota-server on %s; building root filesystems 1.0.0 and 2.0.0 (Debian kernel, "
        "busybox, ota-agent) and signing them" % server.url)
    v1 = qemudev.Release(work, cache, keys, "1.0.0", 1, arch=arch)
    v2 = qemudev.Release(work, cache, keys, "2.0.0", 2, arch=arch)
    dev = qemudev.QemuDevice(work, cache, server, keys, "linux-vm-1", v1, machines, arch=arch)
    if arch == "arm64":
        env_name, env = "U-Boot environment (fw_printenv -c)", dev.ubootenv
    else:
        env_name, env = "GRUB environment (grub-editenv list)", dev.grubenv
    say("disk %s: slot A provisioned with 1.0.0 by ota-agent --provision; %s: %s"
        % (dev.disk, env_name, env()))
    vm = dev.vm
    vm.start()
    say("QEMU started (%s, %s); the guest reaches the server only through guestfwd "
        "10.0.2.100:80 -> 127.0.0.1:%d" % (vm.accel, vm.firmware, server.port))
    pos = follow(vm, 0, r"starting: server")
    c = server.campaign(v2.upload(server), [{"percent": 100}])
    say("campaign %d: release 2.0.0 to 100 %% of the fleet" % c["id"])
    follow(vm, pos, r"update to 2\.0\.0\+0 succeeded")
    dev.wait_report("success", 1, 60)
    vm.stop()
    say("VM stopped. %s on the disk: %s" % (env_name, env()))
    say("server reports: %s" % ", ".join(dev.report_states()))
    say("campaign: %s" % server.campaign_status(c["id"])["counts"])
finally:
    for v in machines.vms:
        v.stop()
    server.stop()
EOF
echo "demo-linux: done"
