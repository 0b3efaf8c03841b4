# SPDX-License-Identifier: Apache-2.0
"""
test_linux_uboot.py - the Linux A/B backend with bootloader = uboot: the
agent writes RAUC's U-Boot variables (BOOT_ORDER, BOOT_A_LEFT, BOOT_B_LEFT)
through libubootenv into a real U-Boot environment image (mkenvimage), read
back with Debian's fw_printenv -c CONFIG. An update confirmed after its
"reboot", then one whose trial keeps failing until U-Boot's boots run out
and it falls back: rolled-back. A "reboot" does what dist/linux/boot.cmd
does (linuxdev.py).
"""

import os

import pytest

import linuxdev as L
from linuxdev import E, keys, work  # noqa: F401 (fixtures)


@pytest.fixture
def server(work, keys):
    s = E.Server(work, keys.pub, ["--no-delta"]).start()
    yield s
    s.stop()


def test_uboot_update_confirm_then_fallback(work, keys, server):
    s = server
    fs1 = L.make_rootfs(work, "1.0.0")
    v1 = L.sign(work, keys, fs1, "1.0.0", 1)
    s.upload(v1)
    d = L.LinuxDevice(work, "uboot-1", s, keys, bootloader="uboot")
    d.provision("A", v1)
    env = d.env()
    assert env["BOOT_ORDER"] == "A B" and env["BOOT_A_LEFT"] == "3", env
    assert env["BOOT_B_LEFT"] == "0" and env["OTA_SECURITY_COUNTER"] == "1", env
    assert env["bootdelay"] == "0"  # the rest of the environment is kept
    assert d.boot() == "A"
    assert d.env()["BOOT_A_LEFT"] == "2"
    d.agent("--confirm", check_rc=0)
    assert d.env()["BOOT_A_LEFT"] == "3"

    # 2.0.0: installed, booted, confirmed
    fs2 = L.make_rootfs(work, "2.0.0", extra=os.urandom(100000))
    v2 = L.sign(work, keys, fs2, "2.0.0", 2)
    s.campaign(s.upload(v2)["id"], [{"percent": 100}])
    d.agent("--once", check_rc=20)
    env = d.env()
    assert env["BOOT_ORDER"] == "B A" and env["BOOT_B_LEFT"] == "3", env
    assert d.slot_bytes("B", os.path.getsize(fs2)) == open(fs2, "rb").read()
    assert d.boot() == "B"
    d.agent("--once", check_rc=0)  # the loop self-tests and confirms
    E.wait_for(lambda: "success" in d.report_states(), 20, "success report")
    env = d.env()
    assert env["BOOT_B_LEFT"] == "3" and env["OTA_SECURITY_COUNTER"] == "2", env

    # 3.0.0 never comes up: U-Boot tries it 3 times, then boots B again
    fs3 = L.make_rootfs(work, "3.0.0", extra=b"panics")
    v3 = L.sign(work, keys, fs3, "3.0.0", 3)
    s.campaign(s.upload(v3)["id"], [{"percent": 100}])
    d.agent("--once", check_rc=20)
    assert d.env()["BOOT_ORDER"] == "A B"
    for left in ("2", "1", "0"):
        assert d.boot() == "A"
        assert d.env()["BOOT_A_LEFT"] == left
    assert d.boot() == "B"
    d.agent("--once", check_rc=0)
    E.wait_for(lambda: "rolled-back" in d.report_states(), 20, "rolled-back report")
    env = d.env()
    assert env["BOOT_ORDER"] == "B A" and env["BOOT_A_LEFT"] == "0", env
    assert env["BOOT_B_LEFT"] == "3" and env["OTA_SECURITY_COUNTER"] == "2", env


def test_uboot_unwritable_environment_refused_at_start(work, keys, server):
    fs1 = L.make_rootfs(work, "1.0.0")
    v1 = L.sign(work, keys, fs1, "1.0.0", 1)
    d = L.LinuxDevice(work, "uboot-2", server, keys, bootloader="uboot")
    d.provision("A", v1)
    assert d.boot() == "A"
    slots = [open(p, "rb").read() for p in d.slots]
    with open(d.fwconf, "w") as f:
        f.write("%s 0x0 0x4000\n" % os.path.join(d.dir, "no-such-dir", "env"))
    assert d.agent("--once") == 3  # OTA_EXIT_FILE, before anything is written
    assert "U-Boot environment" in d.log_text()
    assert [open(p, "rb").read() for p in d.slots] == slots
