# SPDX-License-Identifier: Apache-2.0
"""
conftest.py - fixtures of the MCU end-to-end tests (issue 12 item 5):
ota-server (tests/e2e/otae2e.py's Server) -> ota-agent as an SMP gateway
(backend = smp) -> a tap decoding every frame (smp_tap.py) -> the QEMU
board's UART 1 chardev (tests/smp/conftest.py's Board) -> the board's SMP
app -> reset -> ota bootloader trial -> confirm.

Reuses, does not copy: the cross-built port, signing and flash helpers
(tests/boot_qemu/mcu_port.py), the QEMU board (tests/smp/conftest.py, loaded
here as a module) and the server harness (tests/e2e/otae2e.py).
Environment (set by ctest): OTA_BIN, OTA_MCU_FLASH_BIN, OTA_SMP_ARM_BUILD,
OTA_BUILD_DIR.
"""
import importlib.util
import os
import signal
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(TESTS, "e2e"))



def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


smp_board = _load("smp_board", os.path.join(TESTS, "smp", "conftest.py"))
e2e_conftest = _load("e2e_conftest", os.path.join(TESTS, "e2e", "conftest.py"))
# the test's outcome on the item (env's teardown prints logs on failure)
pytest_runtest_makereport = e2e_conftest.pytest_runtest_makereport

import otae2e as E  # noqa: E402
from smp_tap import Tap  # noqa: E402

port = smp_board.port  # the session's cross-built port and signing key (a fixture)
Board = smp_board.Board
sign, sh, MCU_FLASH = smp_board.sign, smp_board.sh, smp_board.MCU_FLASH
HW_ID = "mps2-an385"


def kill_board(board):
    """Power loss: SIGKILL the QEMU process itself. run.sh execs `timeout`,
    whose child QEMU is (killing `timeout` alone would leave QEMU running)."""
    pid = board.proc.pid
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        children = [int(c) for c in f.read().split()]
    assert children, "no QEMU under run.sh's timeout"
    for c in children:
        os.kill(c, signal.SIGKILL)
    board.proc.wait(timeout=10)


class Gateway(E.AgentLog):
    """ota-agent with backend = smp, its config, state and log."""

    def __init__(self, work, server, name, token, serial, extra=None):
        self.server, self.name = server, name
        self.dir = os.path.join(work, "gw-" + name)
        os.makedirs(self.dir, exist_ok=True)
        self.conf = os.path.join(self.dir, "agent.conf")
        self.state = os.path.join(self.dir, "agent.state")
        self.log_path = os.path.join(self.dir, "agent.log")
        self.proc = None
        conf = {
            "backend": "smp", "smp_serial": serial, "hw_id": HW_ID,
            "server": server.url, "token": token, "server_key": server.manifest_pub,
            "allow_http": "yes", "state_file": self.state, "poll_interval": "0.5",
            "backoff_min": "0.1", "backoff_max": "1", "timeout": "5",
            "smp_timeout": "3", "smp_boot_timeout": "60", "log_level": "info", "seed": "7",
        }
        conf.update(extra or {})
        with open(self.conf, "w") as f:
            f.writelines(f"{k} = {v}\n" for k, v in conf.items())

    def start(self):
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen([E.AGENT, "--config", self.conf], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class Env:
    """One test's server, boards, taps and gateways; all stopped at teardown."""

    def __init__(self, port, work):
        self.port, self.work = port, work
        self.server = E.Server(work, port["pub"]).start()
        self.boards, self.taps, self.gateways = [], [], []

    def image(self, app, version):
        return sign(self.port, app, version, f"{app}.img")

    def board_flash(self, name, device_id, first_image):
        flash = smp_board.new_flash(self.port, name, first_image)
        sh(MCU_FLASH, "identity", flash, "--device-id", device_id, "--server-key",
           self.server.manifest_pub)
        return flash

    def board(self, flash):
        b = Board(self.port, flash)
        b.flash = flash
        self.boards.append(b)
        return b

    def tap(self, board):
        t = Tap(os.path.join(self.work, "tap.sock"), board.sock)
        self.taps.append(t)
        return t

    def register(self, device_id):
        return self.server.api("POST", "/v1/devices", {"id": device_id, "hw_id": HW_ID})["token"]

    def gateway(self, name, token, serial, extra=None):
        g = Gateway(self.work, self.server, name, token, serial, extra)
        self.gateways.append(g)
        return g

    def mcu(self, device_id, first_app, first_version="1.0.0", extra=None):
        """A board running first_app (installed permanent, identity block for
        device_id), the tap on its SMP socket, the device registered, and the
        gateway started through the tap; returns (board, tap, gateway) after
        the gateway's first check-in (the device id read from the MCU)."""
        flash = self.board_flash(f"{device_id}.flash", device_id,
                                 self.image(first_app, first_version))
        board = self.board(flash)
        tap = self.tap(board)
        gw = self.gateway(device_id, self.register(device_id), tap.spec_path, extra).start()
        E.wait_for(lambda: self.server.api("GET", "/v1/devices/" + device_id)
                   ["current_version"] == first_version + "+0", 30,
                   f"first check-in; log:\n{gw.log_tail(20)}")
        return board, tap, gw

    def close(self, failed):
        for g in self.gateways:
            g.stop()
        consoles = []
        for b in self.boards:
            try:
                consoles.append(b.stop())
            except AssertionError as e:
                consoles.append(str(e))
        for t in self.taps:
            t.close()
        self.server.stop()
        if failed:
            for g in self.gateways:
                print(f"--- gateway {g.name} log:\n{g.log_tail(80)}")
            for c in consoles:
                print(f"--- board console:\n{c[-3000:]}")
            print(f"--- server log:\n{open(self.server.log_path).read()[-3000:]}")


@pytest.fixture
def env(port, tmp_path, request):
    e = Env(port, str(tmp_path))
    yield e
    rep = getattr(request.node, "rep_call", None)
    e.close(failed=rep is None or rep.failed)
