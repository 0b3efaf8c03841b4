# SPDX-License-Identifier: Apache-2.0
"""
test_e2e_update.py - the whole update, end to end, with real processes: a
full-image update, a delta update, and offers a device must refuse before
downloading anything (manifest signed by another server key; a downgrade
below the device's anti-rollback counter).
"""

import os

import otae2e as E


def confirmed(dev, version):
    return lambda: dev.confirmed_version() == version and dev.version() == version


def test_full_image_update(env):
    s = env.start_server("--no-delta")
    v1 = env.image("1.0.0", 1)
    v2 = env.image("2.0.0", 2)
    s.upload(v1)
    r2 = s.upload(v2)
    d = env.device("full-1", v1)
    c = s.campaign(r2["id"], [{"percent": 100}])
    d.start()
    E.wait_for(confirmed(d, "2.0.0+0"), 60, "full-1 confirmed on 2.0.0")
    E.wait_for(lambda: "success" in d.report_states(), 20, "success report")
    assert d.report_states() == ["downloading", "installing", "installed-rebooting", "success"]
    log = d.log_text()
    assert "full payload" in log and "self-test passed, confirming" in log
    st = s.campaign_status(c["id"])
    assert st["counts"]["success"] == 1 and st["failed"] == 0
    # the OTP anti-rollback counter followed the confirmed image
    assert d.status()["otp"]["counter"] == 2


def test_delta_update(env):
    s = env.start_server()
    v1 = env.image("1.0.0", 1)
    v2 = env.image("1.1.0", 2)
    s.upload(v1)
    r2 = s.upload(v2)
    d = env.device("delta-1", v1)
    s.campaign(r2["id"], [{"percent": 100}])
    d.start()
    E.wait_for(confirmed(d, "1.1.0+0"), 60, "delta-1 confirmed on 1.1.0")
    log = d.log_text()
    assert "delta payload" in log, log
    # the delta was much smaller than the image
    size = int(log.split("delta payload ")[1].split(" ")[0])
    assert size < 60000 // 4, "delta payload of %d bytes" % size
    E.wait_for(lambda: "success" in d.report_states(), 20, "success report")


def test_wrong_server_key_refused_before_download(env, work):
    s = env.start_server("--no-delta")
    v1 = env.image("1.0.0", 1)
    v2 = env.image("2.0.0", 2)
    s.upload(v1)
    r2 = s.upload(v2)
    d = env.device("wrongkey-1", v1)
    other = E.Keys(work, "not-the-server")
    d.write_conf(s.url, server_key=other.pub)
    s.campaign(r2["id"], [{"percent": 100}])
    d.start()
    E.wait_for(lambda: "failure" in d.report_states(), 30, "failure report")
    d.stop()
    states = d.report_states()
    assert "downloading" not in states
    rep = [r for r in s.reports(d.name) if r["state"] == "failure"][0]
    assert "OTA_ERR_MANIFEST_SIG_INVALID" in rep["detail"], rep
    assert d.confirmed_version() == "1.0.0+0" and d.version() == "1.0.0+0"
    # the inactive slot was never written
    assert [x for x in d.status()["slots"] if x["name"] == "B"][0]["valid"] is False
    assert "offer refused before download" in d.log_text()


def test_downgrade_refused_before_download(env):
    s = env.start_server("--no-delta")
    v3 = env.image("3.0.0", 3)
    v1 = env.image("1.0.0", 1)
    s.upload(v3)
    r1 = s.upload(v1)
    d = env.device("downgrade-1", v3)  # runs 3.0.0, OTP counter 3
    s.campaign(r1["id"], [{"percent": 100}])
    d.start()
    E.wait_for(lambda: "failure" in d.report_states(), 30, "failure report")
    d.stop()
    rep = [r for r in s.reports(d.name) if r["state"] == "failure"][0]
    assert "OTA_ERR_IMAGE_ROLLBACK" in rep["detail"], rep
    assert "downloading" not in d.report_states()
    assert d.confirmed_version() == "3.0.0+0"
    assert d.status()["otp"]["counter"] == 3


def test_standalone_agent_with_selftest_command(env):
    """ota-agent as its own process on a device that `ota-sim boot` started:
    exit 20 asks for the reboot; after it, the configured self-test command
    decides (exit 21: failed, not confirmed; exit 0: confirmed)."""
    s = env.start_server("--no-delta")
    v1 = env.image("1.0.0", 1)
    v2 = env.image("2.0.0", 2)
    s.upload(v1)
    r2 = s.upload(v2)
    d = env.device("standalone-1", v1)
    s.campaign(r2["id"], [{"percent": 100}])
    agent = [E.AGENT, "--config", d.conf, "--flash", d.flash, "--once"]
    p = E.run(agent + ["--selftest_cmd", "false"], check=False, timeout=60)
    assert p.returncode == 20, p.stderr  # OTA_EXIT_AGENT_REBOOT
    assert "installed 2.0.0+0: verified and pending" in p.stderr
    assert "trial" in E.run([E.SIM, "boot", d.flash]).stdout
    p = E.run(agent + ["--selftest_cmd", "false"], check=False, timeout=60)
    assert p.returncode == 21, p.stderr  # OTA_EXIT_AGENT_TRIAL_FAILED
    assert "self-test FAILED" in p.stderr
    assert d.confirmed_version() == "1.0.0+0"  # not confirmed
    assert "trial" in E.run([E.SIM, "boot", d.flash]).stdout  # next trial attempt
    p = E.run(agent + ["--selftest_cmd", "true"], check=False, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "self-test passed, confirming" in p.stderr
    assert d.confirmed_version() == "2.0.0+0"
    E.wait_for(lambda: "success" in d.report_states(), 20, "success report")


def test_device_enrolls_itself(env):
    """No pre-registration: the agent trades a fleet enrollment token for its
    own device token (kept 0600 in its state file) and updates like any other."""
    s = env.start_server("--no-delta")
    v1 = env.image("1.0.0", 1)
    v2 = env.image("2.0.0", 2)
    s.upload(v1)
    r2 = s.upload(v2)
    et = s.api("POST", "/v1/enrollment-tokens", {"hw_id": E.HW, "tags": ["field"],
                                                  "max_uses": 1})["token"]
    d = env.device("enrolled-1", v1, enrollment_token=et, extra_conf={"poll_interval": None})
    s.campaign(r2["id"], [{"percent": 100}])
    d.start()
    E.wait_for(confirmed(d, "2.0.0+0"), 60, "enrolled-1 confirmed on 2.0.0")
    E.wait_for(lambda: "success" in d.report_states(), 20, "success report")
    assert "enrolled as enrolled-1" in d.log_text()
    # no poll_interval configured: the server's suggestion (--poll-interval 1) is used
    assert "check-in interval: 1s (suggested by the server)" in d.log_text()
    info = s.api("GET", "/v1/devices/enrolled-1")
    assert info["hw_id"] == E.HW and "field" in info["tags"], info
    st = d.flash + ".agent-state"
    assert os.stat(st).st_mode & 0o077 == 0, oct(os.stat(st).st_mode)
    # a second device cannot reuse the single-use enrollment token
    d2 = env.device("enrolled-2", v1, enrollment_token=et)
    d2.start()
    E.wait_for(lambda: "enrollment token unknown, expired or used up" in d2.log_text(), 20,
               "second enrollment refused")
    d2.stop()
    s.api("GET", "/v1/devices/enrolled-2", ok=(404,))
    assert d2.version() == "1.0.0+0"
