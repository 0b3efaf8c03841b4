# SPDX-License-Identifier: Apache-2.0
"""
tests/tool/conftest.py - shared pytest fixtures for the `ota` CLI tests: the
path of the real binary (OTA_BIN from ctest, else the default build dir), a
helper to run it, and a signing key pair per test session.
"""
import os
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def _find_ota():
    env = os.environ.get("OTA_BIN")
    if env:
        return env
    for cand in ("build/src/tool/ota", "build-tool/src/tool/ota"):
        p = os.path.join(ROOT, cand)
        if os.path.exists(p):
            return p
    pytest.fail("ota binary not found: build first or set OTA_BIN")


@pytest.fixture(scope="session")
def ota_bin():
    return _find_ota()


class Runner:
    def __init__(self, binary, cwd):
        self.binary = binary
        self.cwd = cwd

    def __call__(self, *args, check=None):
        p = subprocess.run([self.binary] + [str(a) for a in args], cwd=self.cwd,
                           capture_output=True, text=True, timeout=60)
        if check is not None:
            assert p.returncode == check, (args, p.returncode, p.stdout, p.stderr)
        return p


@pytest.fixture
def ota(ota_bin, tmp_path):
    return Runner(ota_bin, tmp_path)


@pytest.fixture(scope="session")
def keys(ota_bin, tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    for name in ("a", "b"):
        subprocess.run([ota_bin, "keygen", "-o", d / (name + ".pem"), "--pub",
                        d / (name + ".pub.pem")], check=True, capture_output=True)
    return d


@pytest.fixture
def firmware(tmp_path):
    data = bytes((i * 37 + 11) & 0xFF for i in range(20000))
    p = tmp_path / "fw.bin"
    p.write_bytes(data)
    return p
