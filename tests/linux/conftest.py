# SPDX-License-Identifier: Apache-2.0
"""
conftest.py - fixtures of the Linux VM tests (tests/linux/): the download
cache, a work directory, and every QEMU process stopped at teardown with its
console tail printed when the test failed.

Why it exists: the scenarios share these moves; the VM itself is vm.py, the
disk mkdisk.py.
"""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import vm as vmmod  # noqa: E402
import qemudev  # noqa: E402,F401  (puts tests/e2e on sys.path)
import otae2e as E  # noqa: E402


@pytest.fixture
def cache():
    d = os.environ.get("OTA_LINUX_CACHE") or os.path.join(
        os.environ.get("OTA_BUILD_DIR", "build"), "tests", "linux", "cache")
    os.makedirs(d, exist_ok=True)
    return os.path.abspath(d)


@pytest.fixture
def work(tmp_path):
    return str(tmp_path)


class Machines:
    def __init__(self, work):
        self.work = work
        self.vms = []

    def vm(self, disk, **kw):
        v = vmmod.VM(self.work, disk, **kw)
        self.vms.append(v)
        return v


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture
def machines(request, work):
    m = Machines(work)
    yield m
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for v in m.vms:
        v.stop()
        if failed:
            print("\n" + v.tail(80))


@pytest.fixture
def server(work):
    """A real ota-server on 127.0.0.1 (deltas on) and the firmware keys."""
    keys = E.Keys(work)
    s = E.Server(work, keys.pub).start()
    yield s, keys
    s.stop()
