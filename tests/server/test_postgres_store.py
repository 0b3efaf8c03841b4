# SPDX-License-Identifier: Apache-2.0
"""The storage contract against PostgreSQL: the same C contract test the
SQLite backend passes (test_store, with OTA_TEST_PG), and the multi-node
checks only a shared database needs (test_store_pg). Each runs on a fresh
database of a throwaway cluster; a cluster that cannot start fails the test."""
import os
import subprocess

import pytest

from conftest import BUILD, schema_version
from pgcluster import PgCluster

TESTS = os.path.join(BUILD, "tests/server")


@pytest.fixture(scope="module")
def cluster():
    c = PgCluster()
    try:
        yield c.start()
    finally:
        c.stop()


def run_contract(binary, url):
    path = os.path.join(TESTS, binary)
    assert os.access(path, os.X_OK), f"{path} not built (libpq-dev missing?)"
    r = subprocess.run([path], env=dict(os.environ, OTA_TEST_PG=url), capture_output=True,
                       timeout=120)
    out = r.stdout.decode() + r.stderr.decode()
    assert r.returncode == 0, out
    assert " 0 failed" in out, out
    for marker in ("runtime error", "AddressSanitizer", "LeakSanitizer"):
        assert marker not in out, out
    return out


def test_store_contract_on_postgres(cluster):
    out = run_contract("test_store", cluster.createdb("contract"))
    assert "8 passed" in out, out
    # The schema is versioned in the database itself.
    latest = schema_version("postgresql")
    assert latest >= 7  # 7: device health
    assert cluster.psql("contract", "SELECT max(version) FROM ota_schema_migrations") == str(latest)


def test_store_multi_node_contract(cluster):
    out = run_contract("test_store_pg", cluster.createdb("multinode"))
    assert "7 passed" in out, out
