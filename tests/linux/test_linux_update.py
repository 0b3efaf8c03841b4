# SPDX-License-Identifier: Apache-2.0
"""
test_linux_update.py - a real Linux system updates itself: a QEMU VM
(SeaBIOS, GRUB i386-pc with the shipped dist/linux/grub.cfg, a Debian
kernel, busybox) runs the build tree's ota-agent with backend = linux
against a real ota-server on the host's 127.0.0.1, reached only through
QEMU user networking (restrict=on) and a guestfwd. Nothing between the agent
and the bootloader is simulated: the agent writes /dev/vda3, runs
grub-editenv on the boot partition, the guest reboots, GRUB picks the slot.

Scenario: factory 1.0.0 in slot A -> full update to 2.0.0 (slot B, real
reboot, self-test, confirmed) -> delta update to 3.0.0 (back into slot A).
After each, the GRUB environment on the disk image (grub-editenv list) holds
what the agent wrote.
"""

import os
import re

import qemudev
import otae2e as E

BOOT = 300          # seconds allowed per boot (TCG on a loaded 2-core machine)


def test_full_then_delta_update(cache, work, machines, server):
    s, keys = server
    v1 = qemudev.Release(work, cache, keys, "1.0.0", 1)
    v2 = qemudev.Release(work, cache, keys, "2.0.0", 2)
    v3 = qemudev.Release(work, cache, keys, "3.0.0", 3)
    # 1.0.0 is not on the server (a factory image): 2.0.0 can only go full
    dev = qemudev.QemuDevice(work, cache, s, keys, "vm-1", v1, machines)
    env = dev.grubenv()
    assert (env.get("ORDER"), env.get("A_OK"), env.get("B_OK")) == ("A B", "1", "0"), env
    vm = dev.vm
    vm.start()
    vm.wait(r"^OTA-GUEST: booted release=1\.0\.0 \S+ slot=A$", BOOT)

    # full update A -> B: download, verify, grub-editenv, reboot, confirm
    since, c2 = qemudev.full_update(dev, s, v2, "B", 1, BOOT)
    con = vm.console()
    t_full = qemudev.installed_to_confirmed(con, "2.0.0", "B", since)
    env = dev.grubenv()
    assert (env["ORDER"], env["B_OK"], env["B_TRY"], env["A_OK"]) == ("B A", "1", "0", "1"), env
    assert E.wait_for(lambda: s.campaign_status(c2["id"])["counts"].get("success") == 1, 30,
                      "campaign 2.0.0 counts the success")

    # delta update B -> A (the server generates the patch 2.0.0 -> 3.0.0)
    since = vm.mark()
    s.campaign(v3.upload(s), [{"percent": 100}])
    vm.wait(r"^OTA-GUEST: booted release=3\.0\.0 \S+ slot=A$", BOOT * 2, since=since)
    vm.wait(r"update to 3\.0\.0\+0 succeeded", BOOT, since=since)
    dev.wait_report( "success", 2, 60)
    con = vm.console()
    m = re.search(r"delta payload (\d+) bytes", con[since:])
    if not m:
        offers = [l for l in con[since:].splitlines() if "offer:" in l or "delta" in l]
        with open(s.log_path) as f:
            slog = [l for l in f.read().splitlines() if "delta" in l]
        raise AssertionError("no delta payload offered for 3.0.0; agent: %s; server: %s"
                             % (offers, slog[-10:]))
    delta = int(m.group(1))
    full = os.path.getsize(v3.image)
    assert delta < full // 4, "delta of %d bytes for a %d-byte image" % (delta, full)
    t_delta = qemudev.installed_to_confirmed(con, "3.0.0", "A", since)
    vm.stop()
    env = dev.grubenv()
    assert (env["ORDER"], env["A_OK"], env["A_TRY"], env["B_OK"]) == ("A B", "1", "0", "1"), env
    print("\nlinux VM (%s, %s): full update %d bytes, installed -> confirmed %.1f s; "
          "delta update %d bytes, installed -> confirmed %.1f s"
          % (vm.accel, vm.firmware, full, t_full, delta, t_delta))
