# SPDX-License-Identifier: Apache-2.0
"""
mcu_port.py - what the QEMU Cortex-M tests share (tests/boot_qemu and
tests/smp): the cross-built port with a signing key, signed app images and
provisioned flash files, through the host tools `ota` and `ota-mcu-flash`.

Why it exists: both test directories carried their own copy of these
helpers. Environment (set by ctest): OTA_BIN, OTA_MCU_FLASH_BIN.
"""
import os
import shutil
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PORT = os.path.join(ROOT, "src", "boot", "cortex-m")
OTA = os.environ.get("OTA_BIN", "")
MCU_FLASH = os.environ.get("OTA_MCU_FLASH_BIN", "")

# board.h
SLOT_A_OFF = 0x10000
SLOT_B_OFF = 0x80000
IMAGE_HDR = 0x200
HW_ID = "mps2-an385"


def sh(*args, check=True, timeout=120, env=None):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True,
                       timeout=timeout, env=env)
    if check and p.returncode != 0:
        raise AssertionError(f"{args} exited {p.returncode}\nstdout:\n{p.stdout}\n"
                             f"stderr:\n{p.stderr}")
    return p


def built_port(build_dir, prefix, timeout=600):
    """Generator for a session fixture: cross-build the port into build_dir
    and make a signing key; yields {"build", "work", "key", "pub"}."""
    for tool in ("arm-none-eabi-gcc", "arm-none-eabi-objcopy", "qemu-system-arm"):
        assert shutil.which(tool), f"{tool} not found: run scripts/setup.sh"
    assert OTA and os.access(OTA, os.X_OK), "OTA_BIN must point at the ota tool"
    assert MCU_FLASH and os.access(MCU_FLASH, os.X_OK), \
        "OTA_MCU_FLASH_BIN must point at ota-mcu-flash"
    sh(os.path.join(PORT, "build.sh"), build_dir, timeout=timeout)
    work = tempfile.mkdtemp(prefix=prefix)
    key = os.path.join(work, "key.pem")
    pub = os.path.join(work, "pub.pem")
    sh(OTA, "keygen", "-o", key)
    sh(OTA, "pubkey", key, "-o", pub)
    yield {"build": build_dir, "work": work, "key": key, "pub": pub}
    shutil.rmtree(work, ignore_errors=True)


def sign(port, app, version, out, counter=1, key=None, hw_id=HW_ID, extra=()):
    """Sign build/app-<app>.bin as an image (vector table 0x200 into the slot)."""
    dst = os.path.join(port["work"], out)
    sh(OTA, "sign", "-q", "--key", key or port["key"], "--version", version,
       "--security-counter", str(counter), "--hw-id", hw_id, "-H", hex(IMAGE_HDR),
       *extra, os.path.join(port["build"], f"app-{app}.bin"), dst)
    return dst


def new_flash(port, name):
    """A flash file with the bootloader, provisioned for port's key; no app."""
    path = os.path.join(port["work"], name)
    sh(MCU_FLASH, "create", path, "--bootloader", os.path.join(port["build"], "boot.bin"),
       "--key", port["pub"], "--hw-id", HW_ID)
    return path


def install(flash, image, permanent=False):
    args = [MCU_FLASH, "install", flash, image] + (["--permanent"] if permanent else [])
    return sh(*args)
