# SPDX-License-Identifier: Apache-2.0
"""
test_e2e_flash.py - the update end to end on flash that is less kind than
the default simulator (real ota-server, `ota-sim run` with ota-agent inside):
  - worn cells (`ota-sim run --worn-slot`): the first program into the slot
    the update goes to silently leaves a bit wrong. The engine's read-back
    against the signed target digest refuses the slot (OTA_ERR_FLASH_VERIFY),
    nothing is marked pending, the agent downloads again and ends confirmed
    on the new release;
  - cells that keep lying: the agent gives up after max_download_attempts,
    reports the failure with OTA_ERR_FLASH_VERIFY, and the device stays
    confirmed on the old release, the worn slot never pending;
  - the power-cut loop of test_e2e_faults.py with programs and erases
    volatile until sync (`ota-sim run --durability on-sync`).
"""

import re

import otae2e as E
from test_e2e_faults import on_version, power_cut_loop

OTA_ERR_FLASH_VERIFY = 92  # include/ota/error.h


def other_slot(dev):
    """The slot an update is written to: the one not running."""
    return "B" if dev.status()["running"] == "A" else "A"


def slot_role(dev, name):
    return [s for s in dev.status()["slots"] if s["name"] == name][0]["role"]


def failure_reports(dev, code):
    return [r for r in dev.server.reports(dev.name)
            if r["state"] == "failure" and r.get("code") == code]


def test_worn_slot_refused_then_downloaded_again(env):
    s = env.start_server("--no-delta")
    v1 = env.image("1.0.0", 1)
    v2 = env.image("2.0.0", 2)
    s.upload(v1)
    r2 = s.upload(v2)
    d = env.device("worn-once", v1)
    target = other_slot(d)
    s.campaign(r2["id"], [{"percent": 100}])
    d.start("--worn-slot", target, "--worn-lies", "1", "--worn-seed", "7")
    E.wait_for(on_version(d, "2.0.0+0"), 60, "worn-once on 2.0.0")
    E.wait_for(lambda: "success" in d.report_states(), 20, "worn-once success")
    d.stop()
    log = d.log_text()
    # exactly one refusal: the read-back caught the lie, progress discarded
    assert log.count("slot did not read back as written") == 1, log
    assert "OTA_ERR_FLASH_VERIFY" in log
    assert "downloading again (1 of" in log
    # the payload was downloaded twice; "installed ... pending" only after the
    # second, and never while the slot held the corrupted copy
    lines = log.splitlines()
    complete = [i for i, l in enumerate(lines) if "payload complete" in l]
    refused = [i for i, l in enumerate(lines) if "slot did not read back" in l]
    installed = [i for i, l in enumerate(lines) if "verified and pending" in l]
    assert len(complete) == 2 and len(installed) == 1, log
    assert complete[0] < refused[0] < complete[1] < installed[0], log
    # only verified images ever ran, and the device never fell into recovery
    versions = set(re.findall(r"running slot \w, version (\S+)", log))
    assert versions == {"1.0.0+0", "2.0.0+0"}, versions
    assert "RECOVERY" not in log
    assert "programs on worn cells" in log and "1 programs on worn cells" in log, log
    st = d.status()
    assert st["running"] == target and slot_role(d, target) == "confirmed"
    assert st["flash_ops"]["nor_violations"] == 0
    print("\nworn slot %s: first write corrupted, refused by the read-back, downloaded "
          "again, confirmed on 2.0.0" % target)


def test_worn_slot_keeps_lying_reported_after_attempts(env):
    s = env.start_server("--no-delta")
    v1 = env.image("1.0.0", 1)
    v2 = env.image("2.0.0", 2)
    s.upload(v1)
    r2 = s.upload(v2)
    d = env.device("worn-always", v1, extra_conf={"max_download_attempts": "3"})
    target = other_slot(d)
    c = s.campaign(r2["id"], [{"percent": 100}])
    d.start("--worn-slot", target, "--worn-mode", "flip")
    E.wait_for(lambda: failure_reports(d, OTA_ERR_FLASH_VERIFY), 60,
               "worn-always reports OTA_ERR_FLASH_VERIFY")
    d.stop()
    log = d.log_text()
    rep = failure_reports(d, OTA_ERR_FLASH_VERIFY)[0]
    assert rep["campaign_id"] == c["id"], rep
    assert "slot did not read back as written" in rep["detail"], rep
    # three full downloads, two re-downloads, then the refusal; never pending
    assert log.count("payload complete") == 3, log
    assert "downloading again (1 of 3)" in log and "downloading again (2 of 3)" in log
    assert "update REFUSED: slot did not read back as written" in log
    assert "verified and pending" not in log and "rebooting into" not in log
    st = d.status()
    assert slot_role(d, target) != "pending" and st["state"]["pending"] is None, st
    assert d.confirmed_version() == "1.0.0+0" and d.version() == "1.0.0+0"
    assert "success" not in d.report_states()
    print("\nworn slot %s lying on every program: %d downloads, reported: %s"
          % (target, log.count("payload complete"), rep["detail"]))


def test_power_cuts_with_writes_volatile_until_sync(env):
    """The agent's power-cut loop with the flash in OTA_SIM_DURABLE_ON_SYNC
    mode (syncs are cut points too). It found that a cut right after the
    engine's pending mark was synced, before the agent recorded the install,
    left the campaign without its success report (the agent confirmed the
    trial as if installed by other means)."""
    results = power_cut_loop(env, "sync", ("--durability", "on-sync"))
    for phase in ("download", "install", "boot", "confirm"):
        assert results.get(phase, 0) > 0, (phase, results)
