# SPDX-License-Identifier: Apache-2.0
"""
test_linux_grub.py - the VM infrastructure under the agent: the disk built
without root boots through real GRUB into the slot its environment selects,
GRUB itself records each try (save_env), and a slot that is tried and never
marked good -- here a release whose init exits, so the kernel panics and
resets -- makes GRUB fall back to the other slot.

What drives the slots here is grub-editenv run on the host between boots
(the agent's part is in test_linux_update.py); which slot booted is read
from the guest's /proc/cmdline (rauc.slot=) and its /etc/ota-release.
"""

import os

import mkdisk

BOOT_TIMEOUT = 240   # one boot under TCG on a loaded 2-core machine: ~20-40 s


def guest_script(work):
    d = os.path.join(work, "data")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "guest.sh"), "w") as f:
        f.write("#!/bin/sh\n"
                "echo \"OTA-GUEST: cmdline $(cat /proc/cmdline)\"\n"
                "echo \"OTA-GUEST: root is $(grep ' / ' /proc/mounts)\"\n")
    os.chmod(os.path.join(d, "guest.sh"), 0o755)
    return d


def booted(vm, since):
    """(release, slot) of the boot that ends after `since`."""
    m = vm.wait(r"^OTA-GUEST: booted release=(\S+) behaviour=\S+ slot=(\S*)$", BOOT_TIMEOUT,
                since=since)
    vm.wait(r"^OTA-GUEST: halting$", BOOT_TIMEOUT, since=since)
    vm.wait_exit(60)
    return m.group(1), m.group(2)


def test_grub_boots_selected_slot_and_falls_back(cache, work, machines):
    a = mkdisk.build_rootfs(cache, "1.0.0", os.path.join(work, "a.ext4"))
    b = mkdisk.build_rootfs(cache, "2.0.0", os.path.join(work, "b.ext4"))
    bad = mkdisk.build_rootfs(cache, "3.0.0", os.path.join(work, "bad.ext4"), behaviour="panic")
    disk = os.path.join(work, "disk.img")
    mkdisk.build_disk(disk, a, mkdisk.disk_grub_files(),
                      {"ORDER": "A B", "A_OK": "1", "A_TRY": "0", "B_OK": "0", "B_TRY": "0"},
                      data_dir=guest_script(work), slot_b=b)
    vm = machines.vm(disk)

    # 1. factory state: slot A; GRUB saved A_TRY=1 for this try
    since = vm.mark()
    vm.start()
    assert booted(vm, since) == ("1.0.0", "A")
    assert "rauc.slot=A" in vm.lines(since=since)[1]
    assert "root=/dev/vda2" in vm.lines(since=since)[1]
    env = mkdisk.grubenv_of(disk, work)
    assert (env["A_OK"], env["A_TRY"], env["ORDER"]) == ("1", "1", "A B"), env

    # 2. mark A good, make B (2.0.0) the first choice: GRUB boots B
    mkdisk.set_grubenv(disk, work, {"A_TRY": "0", "ORDER": "B A", "B_OK": "1", "B_TRY": "0"})
    since = vm.mark()
    vm.start()
    assert booted(vm, since) == ("2.0.0", "B")
    env = mkdisk.grubenv_of(disk, work)
    assert (env["B_OK"], env["B_TRY"], env["ORDER"]) == ("1", "1", "B A"), env

    # 3. B was tried and never marked good: GRUB falls back to A
    since = vm.mark()
    vm.start()
    assert booted(vm, since) == ("1.0.0", "A")

    # 4. a release whose init exits: kernel panic, reset (panic=1), GRUB
    # skips the tried slot and boots A -- all inside one QEMU run
    mkdisk.write_partition(disk, 3, bad)
    mkdisk.set_grubenv(disk, work, {"A_TRY": "0", "ORDER": "B A", "B_OK": "1", "B_TRY": "0"})
    since = vm.mark()
    vm.start()
    vm.wait(r"^OTA-GUEST: booted release=3\.0\.0 behaviour=panic slot=B$", BOOT_TIMEOUT,
            since=since)
    panic = vm.wait(r"Kernel panic - not syncing", BOOT_TIMEOUT, since=since)
    assert booted(vm, since + panic.end()) == ("1.0.0", "A")
    assert vm.console()[since:].count("=== vm.py: QEMU start") == 1
    env = mkdisk.grubenv_of(disk, work)
    assert (env["ORDER"], env["B_TRY"], env["A_TRY"]) == ("B A", "1", "1"), env
