# SPDX-License-Identifier: Apache-2.0
"""
test_linux_health.py - the health reports of the real ota-agent on a Linux
A/B device (plain-file slots, linuxdev.py) against a real ota-server: the
health_command's running totals become increments (a baseline first, kept
across agent restarts), a boot id that changed without a reboot the agent
asked for counts one reset, and a reboot it asked for (an update) does not.
"""

import json
import os
import re
import signal

import pytest

import linuxdev as L
from linuxdev import E, keys, work  # noqa: F401 (fixtures)


@pytest.fixture
def server(work, keys):
    s = E.Server(work, keys.pub, ["--no-delta"]).start()
    yield s
    s.stop()


def sent(d):
    """The health reports the agent logged as delivered, in order."""
    return [json.loads(m) for m in re.findall(r"health report sent: (\{.*\})", d.log_text())]


def run_until(d, n_reports, timeout=30):
    """Run the agent loop until it has delivered n_reports in all."""
    p = d.spawn()
    try:
        E.wait_for(lambda: len(sent(d)) >= n_reports, timeout,
                   "%d health reports" % n_reports)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(20)


def test_health_command_totals_and_unexpected_reboots(work, keys, server):
    fs1 = L.make_rootfs(work, "1.0.0")
    v1 = L.sign(work, keys, fs1, "1.0.0", 1)
    server.upload(v1)
    d = L.LinuxDevice(work, "lh-1", server, keys)
    totals = os.path.join(d.dir, "totals")
    boot_id = os.path.join(d.dir, "boot_id")

    def write(path, text):
        with open(path, "w") as f:
            f.write(text)

    write(totals, "# running totals\ncrashes 5\noom_kills 2\n")
    write(boot_id, "boot-1\n")
    d.write_conf({"health_interval": "1", "health_command": "cat " + totals,
                  "boot_id_file": boot_id})
    d.provision("A", v1)
    assert d.boot() == "A"
    d.agent("--confirm", check_rc=0)

    # First period: the totals printed before it are a baseline, not events.
    run_until(d, 1)
    first = sent(d)[0]
    assert first["release"] == "1.0.0+0" and first["period_s"] >= 1, first
    assert first["crashes"] == 0 and first["resets"] == 0, first
    assert first["counters"] == {"oom_kills": 0}, first

    # The totals grow: the increments are sent; a restart of the agent (same
    # boot) neither loses nor repeats them.
    write(totals, "crashes 7\noom_kills 5\n")
    run_until(d, 2)
    assert sent(d)[1]["crashes"] == 2 and sent(d)[1]["counters"] == {"oom_kills": 3}
    write(totals, "crashes 8\noom_kills 5\n")
    run_until(d, 3)
    assert sent(d)[2]["crashes"] == 1 and sent(d)[2]["resets"] == 0, sent(d)[2]

    # The device rebooted behind the agent's back: one reset. A command
    # that fails contributes nothing that time.
    write(boot_id, "boot-2\n")
    d.write_conf({"health_interval": "1", "health_command": "cat " + totals + "; exit 3",
                  "boot_id_file": boot_id})
    run_until(d, 4)
    r = sent(d)[3]
    assert r["resets"] == 1 and r["crashes"] == 0 and r["counters"] == {}, r
    assert "rebooted without the agent asking for it" in d.log_text()
    assert "health_command" in d.log_text() and "failed (status 3)" in d.log_text()

    # An update: the agent asks for the reboot, delivering the old release's
    # period first; the new boot id is then no reset.
    d.write_conf({"health_interval": "1", "health_command": "cat " + totals,
                  "boot_id_file": boot_id})
    fs2 = L.make_rootfs(work, "2.0.0", extra=b"v2")
    rel = server.upload(L.sign(work, keys, fs2, "2.0.0", 2))
    before = len(sent(d))
    p = d.spawn()
    try:
        E.wait_for(lambda: len(sent(d)) > before, 30, "a report on 1.0.0")
        server.campaign(rel["id"], [{"percent": 100}])
        assert p.wait(60) == 20  # installed: reboot requested
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert "installed" in d.log_text() and sent(d)[-1]["release"] == "1.0.0+0"
    before = len(sent(d))
    write(boot_id, "boot-3\n")
    assert d.boot() == "B"
    d.agent("--confirm", check_rc=0)
    run_until(d, before + 2)
    r = sent(d)[-1]
    assert r["release"] == "2.0.0+0" and r["resets"] == 0, r
    assert d.log_text().count("rebooted without the agent asking for it") == 1
