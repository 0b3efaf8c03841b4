# SPDX-License-Identifier: Apache-2.0
"""
test_mcu_rollback.py - a bad release reaches the MCU through the gateway:
the app crashes into a reset on its trial boot, or hangs until the trial
watchdog the bootloader started resets the board. The bootloader spends the
trial attempts and reverts to the confirmed image; the gateway sees the old
image running again with nothing pending, reports `rolled-back` with the
reason, and the campaign halts. The MCU is never confirmed on the bad image.
Third case: a healthy app whose trial fails the gateway's self-test hook
(selftest_cmd): the gateway resets the MCU without confirming, trial after
trial, until the bootloader reverts.
"""
import pytest

import otae2e as E
from test_mcu_update import first_copies

DEVICE = "board-3"


@pytest.mark.parametrize("behaviour", ["reset", "hang", "selftest"])
def test_bad_trial_is_reverted_and_reported_rolled_back(env, behaviour):
    extra = {"selftest_cmd": "false"} if behaviour == "selftest" else None
    board, tap, gw = env.mcu(DEVICE, "a-1.0.0-smp", extra=extra)
    bad = env.image("b-2.0.0-smp" if behaviour == "selftest" else f"b-2.0.0-{behaviour}",
                    "2.0.0")
    rel = env.server.upload(bad)
    c = env.server.campaign(rel["id"], [{"percent": 100, "max_failure_ratio": 0.0}])

    E.wait_for(lambda: "rolled-back" in gw.report_states(), 120,
               f"rolled-back report; log:\n{gw.log_tail(30)}")
    states = gw.report_states()
    assert states == ["downloading", "installing", "installed-rebooting", "rolled-back"], states
    rep = [r for r in env.server.reports(DEVICE) if r["state"] == "rolled-back"][0]
    why = "failed its self-test" if behaviour == "selftest" else \
        "never confirmed (crash or watchdog)"
    assert f"trial of 2.0.0+0 {why}" in rep["detail"], rep
    assert "running 1.0.0+0" in rep["detail"], rep
    E.wait_for(lambda: env.server.campaign_status(c["id"])["state"] == "halted", 30,
               "campaign halted")

    out = board.console()
    what = {"reset": "app: crash: system reset without confirming",
            "hang": "app: hang: no confirm, no watchdog kick",
            "selftest": "app: running slot B version 2.0.0 (trial"}[behaviour]
    assert out.count(what) >= 1, out
    assert "boot: starting slot A at 0x21010200\n" in out.split(what)[-1], out  # reverted
    resets = tap.find(0, 5)
    if behaviour == "selftest":
        # every trial boot answered, failed the hook and was reset by the gateway
        assert len(first_copies(resets)) == out.count(what) + 1 >= 2, (resets, out)
        assert "self-test FAILED" in gw.log_text()
    # on the wire: a reset after the upload, and never a confirm
    assert resets
    assert not [p for p in tap.find(1, 0, op=2) if p.body.get("confirm")]
    # the board runs A 1.0.0 confirmed; B is not pending (state read by the tap's decoder)
    st = [p for p in tap.find(1, 0, "rsp", op=1)][-1].body["images"]
    a = [i for i in st if i["slot"] == 0][0]
    assert a["active"] and a["confirmed"] and a["version"] == "1.0.0", st
    assert not any(i.get("pending") for i in st), st
    E.wait_for(lambda: "rolled-back" in env.server.api("GET", "/v1/devices/" + DEVICE)
               ["last_result"], 30, "inventory's last result")
    assert tap.errors == [], tap.errors
