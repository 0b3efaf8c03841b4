# SPDX-License-Identifier: Apache-2.0
"""
test_linux_uboot_update.py - a real arm64 Linux system updates itself through
U-Boot: qemu-system-aarch64 -M virt (TCG) runs Debian's U-Boot (u-boot-qemu,
qemu_arm64), which sources the shipped dist/linux/boot.cmd (mkimage -T
script) from the FAT boot partition; it boots a Debian arm64 kernel and a
busybox root filesystem whose ota-agent is this tree's agent cross-built for
arm64 (cross.py), with backend = linux and bootloader = uboot. The agent's
libubootenv (fw_env.config on the data partition) and U-Boot's script read
and write the same environment: /uboot.env on the boot partition (boot.cmd's
ota_envfile; docs/linux.md says why not the pflash). The guest reaches the
real ota-server on 127.0.0.1 only through user networking with restrict=on
and a guestfwd (relay.py), over TLS (https to 10.0.2.100:443, the server's
certificate checked by the agent with ca_file).

Scenario: factory 1.0.0 in slot A -> full update to 2.0.0 in slot B, a real
reboot through U-Boot (which counts the trial boot), confirmed (BOOT_B_LEFT
back to 3, BOOT_ORDER "B A") -> 3.0.0 fails its self-test in slot A: the
agent marks it bad and reboots, U-Boot falls back to B, the agent reports
rolled-back and the campaign halts. OTA_LINUX_LONG=1 adds (on a second
device) a release whose kernel panics in slot B: U-Boot takes its three tries
(BOOT_B_LEFT 2, 1, 0), then boots A again: rolled-back ("never confirmed"). After each step the environment
file is read from the disk image with fw_printenv -c.
"""

import os
import re
import time

import pytest

import qemudev
import otae2e as E
import vm as vmmod

BOOT = 300          # seconds allowed per boot (TCG on a loaded 2-core machine)
ARCH = "arm64"


@pytest.fixture
def server(work):
    """conftest's server over TLS and without deltas: the guest's agent
    talks https to it (a certificate for 127.0.0.1 and the guest's
    10.0.2.100, the agent's ca_file), through the same guestfwd relay; every
    update here is a full one (generating and applying a 40 MiB delta under
    TCG would double the test's time; deltas are linux.qemu_update's)."""
    keys = E.Keys(work)
    cert, key, _ = E.make_tls_cert(work, ips=("127.0.0.1", vmmod.GUEST_SERVER_IP))
    s = E.Server(work, keys.pub, ["--no-delta"], tls=(cert, key)).start()
    yield s, keys
    s.stop()


def uboot_picks(console, since):
    """The slots U-Boot's boot script chose after `since`, with the boots
    left it printed: [("A", 2), ...]."""
    return [(m.group(1), int(m.group(2))) for m in
            re.finditer(r"^ota: slot ([AB]), (\d+) more boots left$", console[since:], re.M)]


def test_uboot_update_then_selftest_rollback(cache, work, machines, server):
    s, keys = server
    v1 = qemudev.Release(work, cache, keys, "1.0.0", 1, arch=ARCH)
    v2 = qemudev.Release(work, cache, keys, "2.0.0", 2, arch=ARCH)
    bad = qemudev.Release(work, cache, keys, "3.0.0", 3, behaviour="fail-selftest", arch=ARCH)
    dev = qemudev.QemuDevice(work, cache, s, keys, "vm-u", v1, machines, arch=ARCH)
    env = dev.ubootenv()
    assert (env.get("BOOT_ORDER"), env.get("BOOT_A_LEFT"), env.get("BOOT_B_LEFT")) == \
        ("A B", "3", "0"), env
    vm = dev.vm
    t_start = time.time()
    vm.start()
    vm.wait(r"^OTA-GUEST: booted release=1\.0\.0 \S+ slot=A$", BOOT)
    vm.wait(r"starting: server https://10\.0\.2\.100:443,", BOOT)
    # QEMU start -> the agent's first line (the guest's clock is the host's)
    t_boot = qemudev.log_time(vm.console(), r"starting: server") - t_start
    assert uboot_picks(vm.console(), 0) == [("A", 2)], vm.tail()
    assert "root=/dev/vda2 ota.slot=A" in vm.console()
    vm.wait(r"slot A marked good", BOOT)

    # full update A -> B, a real reboot through U-Boot, confirmed
    since, c2 = qemudev.full_update(dev, s, v2, "B", 1, BOOT)
    con = vm.console()
    assert uboot_picks(con, since) == [("B", 2)], con[since:][-3000:]
    t_full = qemudev.installed_to_confirmed(con, "2.0.0", "B", since)
    env = dev.ubootenv()
    assert (env["BOOT_ORDER"], env["BOOT_B_LEFT"], env["BOOT_A_LEFT"]) == ("B A", "3", "3"), env
    assert env.get("OTA_SECURITY_COUNTER") == "2", env
    assert E.wait_for(lambda: s.campaign_status(c2["id"])["counts"].get("success") == 1, 30,
                      "campaign 2.0.0 counts the success")

    # 3.0.0 fails its self-test in slot A: marked bad, reboot, U-Boot boots B
    since = qemudev.selftest_rollback(dev, s, bad, "A", "2.0.0", "B", BOOT)
    # U-Boot tried A once (the trial), then B with A's boots gone
    assert uboot_picks(vm.console(), since) == [("A", 2), ("B", 2)], vm.console()[since:][-3000:]
    vm.stop()
    env = dev.ubootenv()
    assert (env["BOOT_ORDER"], env["BOOT_A_LEFT"], env["BOOT_B_LEFT"]) == ("B A", "0", "3"), env
    assert env.get("OTA_SECURITY_COUNTER") == "2", env
    assert dev.report_states().count("success") == 1, dev.report_states()
    print("\nlinux arm64 VM (%s, U-Boot): QEMU start -> agent running %.1f s; full update %d "
          "bytes, installed -> confirmed %.1f s; self-test failure rolled back by U-Boot, "
          "campaign halted" % (vm.accel, t_boot, os.path.getsize(v2.image), t_full))


def _kernel_panic_takes_uboot_tries(cache, work, machines, server):
    s, keys = server
    v1 = qemudev.Release(work, cache, keys, "1.0.0", 1, arch=ARCH)
    bad = qemudev.Release(work, cache, keys, "2.0.0", 2, behaviour="panic", arch=ARCH)
    dev = qemudev.QemuDevice(work, cache, s, keys, "vm-up", v1, machines, arch=ARCH)
    vm = dev.vm
    vm.start()
    vm.wait(r"^OTA-GUEST: booted release=1\.0\.0 \S+ slot=A$", BOOT)
    since = vm.mark()
    c = s.campaign(bad.upload(s), [{"percent": 100, "max_failure_ratio": 0.0}])
    # three trial boots of B, each panicking (panic=1 resets the machine)
    vm.wait(r"Kernel panic - not syncing", BOOT * 3, since=since, count=3)
    vm.wait(r"^OTA-GUEST: booted release=1\.0\.0 \S+ slot=A$", BOOT, since=since)
    assert uboot_picks(vm.console(), since) == [("B", 2), ("B", 1), ("B", 0), ("A", 2)], \
        vm.console()[since:][-3000:]
    qemudev.rolled_back(dev, s, c["id"], "never confirmed", "2.0.0", BOOT)
    assert vm.console()[since:].count("=== vm.py: QEMU start") == 0, "QEMU was restarted"
    vm.stop()
    env = dev.ubootenv()
    assert (env["BOOT_ORDER"], env["BOOT_A_LEFT"], env["BOOT_B_LEFT"]) == ("A B", "3", "0"), env
    assert env.get("OTA_SECURITY_COUNTER") == "1", env
    print("\nlinux arm64 VM (%s, U-Boot): kernel panic in the new slot, three U-Boot tries, "
          "fell back, rolled-back reported, campaign halted; environment %s" % (vm.accel, env))


# Three panicking boots more: run with OTA_LINUX_LONG=1.
if os.environ.get("OTA_LINUX_LONG"):
    test_kernel_panic_takes_uboot_tries = _kernel_panic_takes_uboot_tries
