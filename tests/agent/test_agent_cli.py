# SPDX-License-Identifier: Apache-2.0
"""
tests/agent/test_agent_cli.py - ota-agent's command line, through the real
binary: a flag replaces the configuration file's value, also for the key the
file may repeat (server_key); configuration errors exit 15 (OTA_EXIT_CONFIG,
docs/exit-codes.md); a flash file that cannot be opened exits 3; log lines
carry the date (ISO 8601 UTC).
"""
import os
import re
import select
import subprocess
import time

import pytest

OTA = os.environ.get("OTA_BIN", "ota")
SIM = os.environ.get("OTA_SIM_BIN", "ota-sim")
AGENT = os.environ.get("OTA_AGENT_BIN", "ota-agent")


def run(*args, expect=0):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=60)
    assert p.returncode == expect, (args, p.returncode, p.stdout, p.stderr)
    return p


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    run(OTA, "keygen", "-o", d / "fw.pem", "--pub", d / "fw.pub.pem")
    run(OTA, "keygen", "-o", d / "m.pem", "--pub", d / "m.pub.pem")
    return d


def write_conf(path, *server_keys):
    # port 9 (discard) on loopback: nothing answers there in these tests
    lines = ["server = http://127.0.0.1:9", "allow_http = yes", "device_id = dev-1",
             "token = t", "backoff_min = 5", "state_file = %s" % path.with_suffix(".state")]
    lines += ["server_key = %s" % k for k in server_keys]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_flag_replaces_the_files_server_keys(tmp_path, keys):
    conf = write_conf(tmp_path / "agent.conf", tmp_path / "gone-1.pem", tmp_path / "gone-2.pem")
    # the file's keys do not exist: on their own they are an error
    p = run(AGENT, "--config", conf, expect=15)
    assert "gone-1.pem" in p.stderr
    # --server_key replaces them (it used to add to them and fail on gone-1.pem)
    p = run(AGENT, "--config", conf, "--server_key", keys / "m.pub.pem", expect=15)
    assert "gone-" not in p.stderr and "no device backend" in p.stderr
    # several flags give several keys; each is loaded
    p = run(AGENT, "--config", conf, "--server_key", keys / "m.pub.pem",
            "--server_key", tmp_path / "gone-3.pem", expect=15)
    assert "gone-3.pem" in p.stderr and "gone-1" not in p.stderr


def test_config_and_file_exit_codes(tmp_path, keys):
    conf = write_conf(tmp_path / "agent.conf", keys / "m.pub.pem")
    run(AGENT, "--config", tmp_path / "missing.conf", expect=15)
    p = run(AGENT, "--config", conf, "--no_such_key", "1", expect=15)
    assert "unknown key" in p.stderr
    run(AGENT, "--config", conf, "stray", expect=2)
    p = run(AGENT, "--config", conf, "--flash", tmp_path / "missing.flash", expect=3)
    assert "missing.flash" in p.stderr


def test_log_lines_carry_the_date(tmp_path, keys):
    raw = tmp_path / "app.bin"
    raw.write_bytes(os.urandom(4000))
    run(OTA, "sign", "--key", keys / "fw.pem", "--version", "1.0.0", "--security-counter", 1,
        raw, tmp_path / "app.img")
    flash = tmp_path / "dev.flash"
    run(SIM, "create", flash, "--key", keys / "fw.pub.pem")
    run(SIM, "install", flash, tmp_path / "app.img", "--permanent")
    run(SIM, "boot", flash)
    conf = write_conf(tmp_path / "agent.conf", keys / "m.pub.pem")
    # --device_id replaces the file's dev-1 (it names the device in every line)
    proc = subprocess.Popen([AGENT, "--config", str(conf), "--flash", str(flash),
                             "--device_id", "dev-flag"],
                            stderr=subprocess.PIPE, text=True)
    try:
        line, deadline = "", time.monotonic() + 30
        while "starting:" not in line and time.monotonic() < deadline:
            if select.select([proc.stderr], [], [], 1)[0]:
                line = proc.stderr.readline()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert "starting:" in line, line
    m = re.match(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.\d{3}Z INFO  \[dev-flag\] starting:",
                 line)
    assert m, line
    assert abs(int(m.group(1)) - time.gmtime().tm_year) <= 1


def test_smp_gateway_settings(tmp_path, keys):
    """backend = smp (docs/smp.md "Gateway"): smp_serial required, smp_udp
    refused with the reason, hw_id required, and a board that does not
    answer is an error naming the port (exit 1, not a hang)."""
    conf = write_conf(tmp_path / "agent.conf", keys / "m.pub.pem")
    p = run(AGENT, "--config", conf, "--backend", "smp", expect=15)
    assert "smp_serial" in p.stderr
    p = run(AGENT, "--config", conf, "--backend", "smp", "--smp_udp", "127.0.0.1:1337",
            expect=15)
    assert "smp_udp" in p.stderr and "not available" in p.stderr and "smp_serial" in p.stderr
    sock = tmp_path / "nobody.sock"
    p = run(AGENT, "--config", conf, "--backend", "smp", "--smp_serial", f"unix:{sock}",
            expect=15)
    assert "hw_id" in p.stderr
    p = run(AGENT, "--config", conf, "--backend", "smp", "--smp_serial", f"unix:{sock}",
            "--hw_id", "mps2-an385", "--smp_boot_timeout", "1", expect=1)
    assert f"unix:{sock}" in p.stderr and "does not answer" in p.stderr
