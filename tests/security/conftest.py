# SPDX-License-Identifier: Apache-2.0
"""
conftest.py - the attack suite uses the end-to-end tests' fixtures (work
directory, firmware keys, `env` with its server, devices and teardown that
stops every process and fails on sanitizer reports) as they are: loaded from
tests/e2e/conftest.py, not copied. Adds `mitm`: an attacker's proxy in front
of the env's server, stopped with the env.
"""

import importlib.util
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

_spec = importlib.util.spec_from_file_location("e2e_conftest",
                                               os.path.join(HERE, "..", "e2e", "conftest.py"))
_e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_e2e)

work = _e2e.work
keys = _e2e.keys
env = _e2e.env
pytest_runtest_makereport = _e2e.pytest_runtest_makereport

import attacker as A  # noqa: E402


@pytest.fixture
def mitm(env):
    """Start the env's server first; returns a factory making a Mitm in front of it."""
    def make():
        m = A.Mitm(env.server.port).start()
        env.proxies.append(m)
        return m
    return make
