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
import socket
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "boot_qemu"))

import mcu_port  # noqa: E402
# MCU_FLASH and sign are for the tests (from conftest import ...)
from mcu_port import MCU_FLASH, OTA, PORT, install, sh, sign  # noqa: E402,F401

ARM_BUILD = os.environ.get("OTA_SMP_ARM_BUILD") or os.path.join(
    tempfile.gettempdir(), "ota-smp-arm")


@pytest.fixture(scope="session")
def port():
    yield from mcu_port.built_port(ARM_BUILD, "ota-smp-", timeout=900)


def new_flash(port, name, first_image):
    """A provisioned flash file with first_image installed permanent."""
    path = mcu_port.new_flash(port, name)
    install(path, first_image, permanent=True)
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
