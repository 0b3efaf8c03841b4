# SPDX-License-Identifier: Apache-2.0
"""
conftest.py - the QEMU board running the port's SMP app, for tests/smp:
the cross-built port (src/boot/cortex-m/build.sh), signed images, a
provisioned flash file, and a Board that powers the board on with UART 1 on
a unix socket (run.sh, OTA_QEMU_SMP) and reads its console.

Environment (set by ctest): OTA_BIN, OTA_MCU_FLASH_BIN, OTA_SMP_ARM_BUILD.
Fails, never skips, when the toolchain or QEMU is missing.
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PORT = os.path.join(ROOT, "src", "boot", "cortex-m")
OTA = os.environ.get("OTA_BIN", "")
MCU_FLASH = os.environ.get("OTA_MCU_FLASH_BIN", "")
ARM_BUILD = os.environ.get("OTA_SMP_ARM_BUILD") or os.path.join(
    tempfile.gettempdir(), "ota-smp-arm")
HW_ID = "mps2-an385"
IMAGE_HDR = 0x200

sys.path.insert(0, HERE)


def sh(*args, check=True, timeout=120, env=None):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True,
                       timeout=timeout, env=env)
    if check and p.returncode != 0:
        raise AssertionError(f"{args} exited {p.returncode}\nstdout:\n{p.stdout}\n"
                             f"stderr:\n{p.stderr}")
    return p


@pytest.fixture(scope="session")
def port():
    for tool in ("arm-none-eabi-gcc", "qemu-system-arm"):
        assert shutil.which(tool), f"{tool} not found: run scripts/setup.sh"
    assert OTA and os.access(OTA, os.X_OK), "OTA_BIN must point at the ota tool"
    assert MCU_FLASH and os.access(MCU_FLASH, os.X_OK), "OTA_MCU_FLASH_BIN must be set"
    sh(os.path.join(PORT, "build.sh"), ARM_BUILD, timeout=900)
    work = tempfile.mkdtemp(prefix="ota-smp-")
    key = os.path.join(work, "key.pem")
    pub = os.path.join(work, "pub.pem")
    sh(OTA, "keygen", "-o", key)
    sh(OTA, "pubkey", key, "-o", pub)
    yield {"build": ARM_BUILD, "work": work, "key": key, "pub": pub}
    shutil.rmtree(work, ignore_errors=True)


def sign(port, app, version, out, key=None, hw_id=HW_ID, counter=1):
    dst = os.path.join(port["work"], out)
    sh(OTA, "sign", "-q", "--key", key or port["key"], "--version", version,
       "--security-counter", str(counter), "--hw-id", hw_id, "-H", hex(IMAGE_HDR),
       os.path.join(port["build"], f"app-{app}.bin"), dst)
    return dst


def new_flash(port, name, first_image):
    path = os.path.join(port["work"], name)
    sh(MCU_FLASH, "create", path, "--bootloader", os.path.join(port["build"], "boot.bin"),
       "--key", port["pub"], "--hw-id", HW_ID)
    sh(MCU_FLASH, "install", path, first_image, "--permanent")
    return path


class Board:
    """One QEMU power-on of the board; UART 1 is a unix socket."""

    def __init__(self, port, flash):
        self.sock = os.path.join(port["work"], f"smp-{os.path.basename(flash)}.sock")
        self.log_path = flash + ".console"
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        env = dict(os.environ, OTA_QEMU_SMP="unix:" + self.sock, OTA_QEMU_TIMEOUT="600")
        env.pop("OTA_PORT_CMDLINE", None)
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([os.path.join(PORT, "run.sh"), port["build"], flash],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if os.path.exists(self.sock):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    s.connect(self.sock)
                    s.close()
                    break
                except OSError:
                    s.close()
            assert self.proc.poll() is None, f"QEMU ended early:\n{self.console()}"
            time.sleep(0.05)
        else:
            raise AssertionError(f"QEMU's SMP socket never appeared\n{self.console()}")
        self.wait_console("app: SMP server on UART1")

    def console(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace").replace("\r", "")

    def wait_console(self, text, count=1, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.console()
            if out.count(text) >= count:
                return out
            assert self.proc.poll() is None, f"QEMU ended:\n{out}"
            time.sleep(0.05)
        raise AssertionError(f"console never showed {text!r} x{count}:\n{self.console()}")

    @property
    def spec(self):
        return "unix:" + self.sock

    def ota(self, *args, check=True, timeout=120):
        return sh(OTA, "smp", "--port", self.spec, *args, check=check, timeout=timeout)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        out = self.console()
        assert "FAULT" not in out, out
        return out


@pytest.fixture
def board_factory(port):
    boards = []

    def make(flash):
        b = Board(port, flash)
        boards.append(b)
        return b
    yield make
    for b in boards:
        b.stop()
