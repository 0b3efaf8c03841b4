# SPDX-License-Identifier: Apache-2.0
"""
test_uboot_script.py - dist/linux/boot.cmd run by real U-Boot (Debian's
u-boot-qemu, qemu_arm64 on qemu-system-aarch64): compiled with mkimage,
found by U-Boot's distro boot on a virtio disk (FAT boot partition, two ext4
slots each holding /boot/Image), it picks the slot RAUC's variables say,
counts the boot, and loads that slot's kernel. The environment is given by
a few setenv lines in front of the script (QEMU 7.2 cannot saveenv to the
pflash: QEMU issue 2343). ctest linux.qemu_uboot_script; the full update
cycle through U-Boot's environment is linux.uboot (libubootenv).
"""

import os
import shutil
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UBOOT = "/usr/lib/u-boot/qemu_arm64/u-boot.bin"
QEMU = shutil.which("qemu-system-aarch64")
PREFIX = ('setenv ota_dev "virtio 0"\nsetenv ota_part_a 2\nsetenv ota_part_b 3\n'
          'setenv ota_root_a /dev/vda2\nsetenv ota_root_b /dev/vda3\n'
          'setenv ota_kernel /boot/Image\nsetenv ota_cmdline console=ttyAMA0\n')
# the two slots' "kernels" differ in size: the byte count U-Boot prints says
# which one it loaded
KERNEL = {"A": b"kernel A\n", "B": b"kernel BB\n"}


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, **kw)
    assert p.returncode == 0, (cmd, p.stdout, p.stderr)
    return p


@pytest.fixture(scope="module")
def disk(tmp_path_factory):
    for tool in ("mkimage", "mformat", "mcopy", "sfdisk", "mke2fs"):
        if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool):
            pytest.fail("missing %s (scripts/setup.sh installs it)" % tool, pytrace=False)
    if not QEMU or not os.path.exists(UBOOT):
        pytest.fail("missing qemu-system-aarch64 or u-boot-qemu (scripts/setup.sh)",
                    pytrace=False)
    d = tmp_path_factory.mktemp("uboot")
    img = str(d / "disk.img")
    with open(img, "wb") as f:
        f.truncate(40 << 20)
    run(["sfdisk", "-q", img], input=b"label: dos\n1M,8M,c\n9M,9M,83\n18M,9M,83\n")
    run(["mformat", "-i", img + "@@1M", "-T", "16384", "-h", "2", "-s", "16", "::"])
    for slot, start in (("A", 9), ("B", 18)):
        root = d / ("root-" + slot)
        (root / "boot").mkdir(parents=True)
        (root / "boot" / "Image").write_bytes(KERNEL[slot])
        fs = str(d / ("slot-%s.ext4" % slot))
        run(["mke2fs", "-q", "-F", "-t", "ext4", "-d", str(root), fs, "8M"])
        with open(fs, "rb") as src, open(img, "r+b") as dst:
            dst.seek(start << 20)
            dst.write(src.read())
    return d


def boot(d, env):
    """Boot U-Boot with env (setenv lines) in front of boot.cmd; return the
    console output from the script's start to its end."""
    cmd = d / "t.cmd"
    with open(os.path.join(ROOT, "dist", "linux", "boot.cmd")) as f:
        cmd.write_text(PREFIX + "".join("setenv %s %s\n" % kv for kv in env.items()) + f.read())
    scr = str(d / "boot.scr")
    run(["mkimage", "-A", "arm64", "-T", "script", "-C", "none", "-d", str(cmd), scr])
    run(["mcopy", "-o", "-i", str(d / "disk.img") + "@@1M", scr, "::/boot.scr"])
    p = subprocess.Popen([QEMU, "-M", "virt", "-cpu", "cortex-a57", "-m", "256", "-nographic",
                          "-bios", UBOOT, "-drive", "if=none,file=%s,format=raw,id=d0"
                          % (d / "disk.img"), "-device", "virtio-blk-device,drive=d0",
                          "-nic", "none"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    out = b""
    end = time.time() + 120
    try:
        os.set_blocking(p.stdout.fileno(), False)
        while time.time() < end:
            chunk = p.stdout.read(65536)
            if chunk:
                out += chunk
            elif p.poll() is not None:
                break
            else:
                time.sleep(0.05)
            text = out.decode(errors="replace")
            if "did not boot" in text or "no slot has boots left" in text \
                    or "SCRIPT FAILED" in text:
                break
    finally:
        p.kill()
        p.wait()
    text = out.decode(errors="replace")
    assert "Executing script" in text, "U-Boot did not run boot.scr:\n" + text[-3000:]
    return text[text.index("Executing script"):]


def test_default_environment_boots_a(disk):
    out = boot(disk, {})
    assert "syntax error" not in out and "SCRIPT FAILED" not in out, out
    assert "ota: slot A, 2 more boots left" in out, out
    assert "%d bytes read" % len(KERNEL["A"]) in out, out  # slot A's kernel
    assert "ota: slot A did not boot" in out  # (not a real kernel)


def test_order_and_counters_pick_the_slot(disk):
    out = boot(disk, {"BOOT_ORDER": '"B A"', "BOOT_A_LEFT": "3", "BOOT_B_LEFT": "3"})
    assert "ota: slot B, 2 more boots left" in out, out
    assert "%d bytes read" % len(KERNEL["B"]) in out, out
    # B's boots used up (a trial that never came up): back to A
    out = boot(disk, {"BOOT_ORDER": '"B A"', "BOOT_A_LEFT": "3", "BOOT_B_LEFT": "0"})
    assert "ota: slot A, 2 more boots left" in out, out
    assert "%d bytes read" % len(KERNEL["A"]) in out, out


def test_no_boots_left_resets_the_counters(disk):
    out = boot(disk, {"BOOT_A_LEFT": "0", "BOOT_B_LEFT": "0"})
    assert "ota: no slot has boots left: resetting both to 3" in out, out
