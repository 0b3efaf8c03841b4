# SPDX-License-Identifier: Apache-2.0
"""
test_e2e_rollback.py - bad releases end to end: firmware that crashes at
boot, hangs until the watchdog fires, or fails its self-test is reverted by
the bootloader, the agent reports "rolled-back", and a staged campaign halts
at its canary stage without ever offering the release to the other devices.
"""

import pytest

import otae2e as E


@pytest.mark.parametrize("behaviour", ["crash-at-boot", "hang", "fail-selftest"])
def test_trial_failure_rolls_back(env, behaviour):
    s = env.start_server("--no-delta")
    v1 = env.image("1.0.0", 1)
    bad = env.image("2.0.0", 2, behaviour)
    s.upload(v1)
    rb = s.upload(bad)
    d = env.device("rb-" + behaviour, v1)
    c = s.campaign(rb["id"], [{"percent": 100, "max_failure_ratio": 0.0}])
    d.start("--watchdog", "0.3")
    E.wait_for(lambda: "rolled-back" in d.report_states(), 60, "rolled-back report")
    states = d.report_states()
    assert states[:3] == ["downloading", "installing", "installed-rebooting"], states
    assert "success" not in states
    rep = [r for r in s.reports(d.name) if r["state"] == "rolled-back"][0]
    assert "2.0.0" in rep["detail"] and "running 1.0.0" in rep["detail"], rep
    if behaviour == "fail-selftest":
        assert "failed its self-test" in rep["detail"]
    else:
        assert "never confirmed" in rep["detail"]
    # the device is back on the old image, confirmed; the bad slot rejected
    assert d.version() == "1.0.0+0" and d.confirmed_version() == "1.0.0+0"
    st = d.status()
    assert st["state"]["rejected"] == "B", st["state"]
    assert st["otp"]["counter"] == 1  # a failed trial never raises the counter
    log = d.log_text()
    assert "REVERTED" in log
    assert log.count("version 2.0.0+0 (TRIAL") == 3  # every trial attempt was used
    E.wait_for(lambda: s.campaign_status(c["id"])["state"] == "halted", 20, "campaign halted")
    # the server's inventory shows where the device stands
    inv = E.wait_for(lambda: (lambda v: v if v["current_version"] == "1.0.0+0" and
                              "rolled-back" in v["last_result"] else None)(
        s.api("GET", "/v1/devices/" + d.name)), 20, "inventory updated")
    assert inv["slot_state"] == "confirmed", inv


def test_bad_release_halts_at_canary_stage(env):
    s = env.start_server("--no-delta")
    v1 = env.image("1.0.0", 1)
    v2 = env.image("2.0.0", 2, "crash-at-boot")
    s.upload(v1)
    rb = s.upload(v2)
    fleet = [env.device("canary-%02d" % i, v1) for i in range(8)]
    c = s.campaign(rb["id"], [
        {"percent": 25, "min_finished": 1, "max_failure_ratio": 0.0, "soak_seconds": 3600},
        {"percent": 100, "max_failure_ratio": 0.2}])
    for d in fleet:
        d.start("--watchdog", "0.2")

    def halted():
        st = s.campaign_status(c["id"])
        return st if st["state"] == "halted" else None

    st = E.wait_for(halted, 90, "campaign halted")
    # let the canaries that were already offered finish their rollback
    def settled():
        st = s.campaign_status(c["id"])
        return st if st["in_progress"] == 0 else None
    st = E.wait_for(settled, 90, "canaries settled")
    assert st["stage"] == 0, st
    assert st["halt_reason"], st
    offered = [d for d in fleet if d.report_states()]
    untouched = [d for d in fleet if not d.report_states()]
    assert 1 <= len(offered) <= 4, [d.name for d in offered]
    assert len(untouched) >= 4
    for d in offered:
        assert d.report_states()[-1] == "rolled-back", (d.name, d.report_states())
        assert d.version() == "1.0.0+0"
    for d in fleet:
        d.stop()
    for d in untouched:
        assert d.version() == "1.0.0+0"
        assert "offer:" not in d.log_text()
    assert st["counts"]["rolled-back"] == len(offered)
    print("canary stage: %d of %d devices offered, all rolled back; halted: %s"
          % (len(offered), len(fleet), st["halt_reason"]))
