# SPDX-License-Identifier: Apache-2.0
"""
conftest.py - pytest fixtures of the end-to-end tests: a work directory,
firmware keys and releases, a running ota-server, and a fleet factory whose
processes are always stopped (and whose logs are printed on failure).
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import otae2e as E  # noqa: E402


def require_binaries():
    for b in (E.SERVER, E.SIM, E.TOOL):
        if not os.path.exists(b):
            pytest.fail("missing %s: build first and set OTA_BUILD_DIR" % b, pytrace=False)


SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
                   "runtime error:")


@pytest.fixture
def work(tmp_path):
    return str(tmp_path)


@pytest.fixture
def keys(work):
    require_binaries()
    return E.Keys(work)


class Env:
    """Server + devices of one test; everything stopped at teardown."""

    def __init__(self, work, keys):
        self.work = work
        self.keys = keys
        self.server = None
        self.devices = []
        self.proxies = []

    def start_server(self, *extra):
        self.server = E.Server(self.work, self.keys.pub, list(extra)).start()
        return self.server

    def image(self, version, counter, behaviour="healthy", **kw):
        return E.build_image(self.work, self.keys, version, counter, behaviour, **kw)

    def device(self, name, v1, **kw):
        d = E.Device(self.work, name, self.server, self.keys, v1, **kw)
        self.devices.append(d)
        return d

    def close(self, failed):
        # every process is stopped even when one stop fails
        for stop in [d.stop for d in self.devices] + [p.stop for p in self.proxies] + \
                ([self.server.stop] if self.server else []):
            try:
                stop()
            except Exception as e:  # noqa: BLE001 - teardown must go on
                print("teardown: %r" % e)
        # a sanitizer report in any process log fails the test (ASan builds)
        reports = []
        for name, path in [(d.name, d.log_path) for d in self.devices] + \
                ([("server", self.server.log_path)] if self.server else []):
            try:
                text = open(path).read()
            except OSError:
                continue
            hits = [text.find(m) for m in SANITIZER_MARKS if m in text]
            if hits:
                reports.append("%s: %s" % (name, text[max(0, min(hits) - 200):][:1500]))
        if failed:
            for d in self.devices:
                print("---- device %s log tail ----\n%s" % (d.name, d.log_tail(25)))
            if self.server:
                try:
                    print("---- server log tail ----\n" +
                          "\n".join(open(self.server.log_path).read().splitlines()[-25:]))
                except OSError:
                    pass
        assert not reports, "sanitizer reports:\n" + "\n".join(reports)


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture
def env(request, work, keys):
    e = Env(work, keys)
    yield e
    rep = getattr(request.node, "rep_call", None)
    e.close(failed=bool(rep and rep.failed))
