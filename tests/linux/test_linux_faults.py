# SPDX-License-Identifier: Apache-2.0
"""
test_linux_faults.py - the Linux VM (see test_linux_update.py) when things go
wrong, with real reboots and the real GRUB:

1. a release whose system fails its self-test: the trial boot's
   `ota-agent --confirm` marks the slot bad and reboots, GRUB falls back to
   the old slot, the agent reports `rolled-back` and the campaign halts;
2. QEMU killed (SIGKILL: power gone, the guest's page cache with it) in the
   middle of writing the slot: after the restart the download resumes from
   the last checkpoint (after re-hashing the written prefix) and the device
   ends confirmed on the new release.

3. (OTA_LINUX_LONG=1, two more boots) a release whose kernel panics: the
   machine resets (panic=1), GRUB skips the slot it tried, the agent reports
   `rolled-back` ("never confirmed") and the campaign halts.

After each, the GRUB environment on the disk (grub-editenv list) holds what
the agent wrote. The link is slowed to LINK_RATE bytes/s towards the guest
(tests/linux/relay.py) so the kill lands inside the download.
"""

import os

import qemudev

BOOT = 300
LINK_RATE = 3 * 1024 * 1024


def test_selftest_rollback_then_killed_mid_write(cache, work, machines, server):
    s, keys = server
    v1 = qemudev.Release(work, cache, keys, "1.0.0", 1)
    bad = qemudev.Release(work, cache, keys, "2.0.0", 2, behaviour="fail-selftest")
    v3 = qemudev.Release(work, cache, keys, "3.0.0", 3)
    dev = qemudev.QemuDevice(work, cache, s, keys, "vm-f", v1, machines, link_rate=LINK_RATE)
    vm = dev.vm
    vm.start()
    vm.wait(r"^OTA-GUEST: booted release=1\.0\.0 \S+ slot=A$", BOOT)

    # 1. the release fails its self-test in slot B: GRUB falls back to A
    qemudev.selftest_rollback(dev, s, bad, "B", "1.0.0", "A", BOOT)
    assert "success" not in dev.report_states()
    env = dev.grubenv()
    assert (env["ORDER"], env["A_OK"], env["B_OK"]) == ("A B", "1", "0"), env
    assert env.get("OTA_SECURITY_COUNTER") == "1", env

    # 2. a good release; the machine loses power in the middle of the download
    since = vm.mark()
    s.campaign(v3.upload(s), [{"percent": 100}])
    vm.wait(r"download: (25|50)% \(\d+ of \d+ bytes\)", BOOT, since=since)
    vm.kill()
    killed_at = vm.console()[since:]
    assert "payload complete" not in killed_at, "the kill came after the download"
    since = vm.mark()
    vm.start()
    vm.wait(r"^OTA-GUEST: booted release=1\.0\.0 \S+ slot=A$", BOOT, since=since)
    m = vm.wait(r"GET /v1/artifacts/\S+ from byte (\d+) of (\d+)", BOOT, since=since)
    resumed, total = int(m.group(1)), int(m.group(2))
    assert 0 < resumed < total, "download restarted from byte %d of %d" % (resumed, total)
    vm.wait(r"^OTA-GUEST: booted release=3\.0\.0 \S+ slot=B$", BOOT * 2, since=since)
    vm.wait(r"update to 3\.0\.0\+0 succeeded", BOOT, since=since)
    dev.wait_report("success", 1, 60)
    vm.stop()
    env = dev.grubenv()
    assert (env["ORDER"], env["B_OK"], env["B_TRY"], env["A_OK"]) == ("B A", "1", "0", "1"), env
    assert env.get("OTA_SECURITY_COUNTER") == "3", env
    print("\nlinux VM (%s, %s): self-test failure rolled back by GRUB, campaign halted; "
          "killed mid-download, resumed at byte %d of %d, confirmed on 3.0.0"
          % (vm.accel, vm.firmware, resumed, total))


def _kernel_panic_rolls_back(cache, work, machines, server):
    s, keys = server
    v1 = qemudev.Release(work, cache, keys, "1.0.0", 1)
    bad = qemudev.Release(work, cache, keys, "2.0.0", 2, behaviour="panic")
    dev = qemudev.QemuDevice(work, cache, s, keys, "vm-p", v1, machines)
    vm = dev.vm
    vm.start()
    vm.wait(r"^OTA-GUEST: booted release=1\.0\.0 \S+ slot=A$", BOOT)
    since = vm.mark()
    c = s.campaign(bad.upload(s), [{"percent": 100, "max_failure_ratio": 0.0}])
    vm.wait(r"^OTA-GUEST: booted release=2\.0\.0 behaviour=panic slot=B$", BOOT * 2, since=since)
    panic = vm.wait(r"Kernel panic - not syncing", BOOT, since=since)
    # panic=1: the machine resets; GRUB sees B tried and never confirmed
    vm.wait(r"^OTA-GUEST: booted release=1\.0\.0 \S+ slot=A$", BOOT, since=since + panic.end())
    qemudev.rolled_back(dev, s, c["id"], "never confirmed", "2.0.0", BOOT)
    assert vm.console()[since:].count("=== vm.py: QEMU start") == 0, "QEMU was restarted"
    vm.stop()
    env = dev.grubenv()
    assert (env["A_OK"], env["A_TRY"], env["B_OK"]) == ("1", "0", "0"), env
    assert env.get("OTA_SECURITY_COUNTER") == "1", env
    print("\nlinux VM (%s, %s): kernel panic in the new slot, GRUB fell back, rolled-back "
          "reported, campaign halted; grubenv %s" % (vm.accel, vm.firmware, env))


# A kernel that panics costs two more boots: run with OTA_LINUX_LONG=1.
if os.environ.get("OTA_LINUX_LONG"):
    test_kernel_panic_rolls_back = _kernel_panic_rolls_back
