# SPDX-License-Identifier: Apache-2.0
"""
test_replayed_offers.py - threat "replayed / redirected / revoked offers":
a network attacker replays genuine, server-signed offers where and when they
were not meant: another device's offer (the manifest names its device), an
old offer after the device moved on, an aborted campaign's offer. Each is
refused before download, reported, and leaves the device as it was.
"""

import attacker as A
import otae2e as E


def test_offer_made_to_another_device(env, mitm):
    sc = A.Scenario(env, mitm, "replay-victim")
    other = env.device("replay-other", sc.v1)  # registered, never started

    def give_others_offer(device_id, answer):
        if answer.get("action") != "update":
            return answer
        theirs = sc.server.api("POST", "/v1/devices/%s/checkin" % other.name,
                               {"hw_id": E.HW, "current_version": "1.0.0"}, token=other.token)
        assert theirs["action"] == "update", theirs
        assert A.manifest_of(theirs).device_id == other.name
        return theirs
    sc.mitm.on_checkin = give_others_offer
    sc.refused(A.BEFORE_DOWNLOAD, "OTA_ERR_MANIFEST_WRONG_DEVICE")


def test_old_offer_replayed_after_moving_on_and_abort(env, mitm):
    """Issue 10's replay: the device takes 1.0.0 (campaign 1, offer captured),
    then 1.1.0 (campaign 2), all at security counter 1; campaign 1 is
    aborted; the captured, still unexpired 1.0.0 offer is replayed. Refused
    as stale (its offer sequence is below the newest the device accepted),
    reported as a device event, and neither campaign's record changes."""
    sc = A.Scenario(env, mitm, "replay-old", base=("0.9.0", 1), target=("1.0.0", 1))
    sc.dev.start()
    E.wait_for(lambda: sc.dev.confirmed_version() == "1.0.0+0", 60, "1.0.0 confirmed")
    E.wait_for(lambda: "success" in sc.dev.report_states(), 20, "success report")
    captured = sc.mitm.first_offer(sc.dev.name)
    assert A.manifest_of(captured).campaign_id == sc.campaign["id"]
    r11 = sc.server.upload(env.image("1.1.0", 1))
    c2 = sc.server.campaign(r11["id"], [{"percent": 100}])
    E.wait_for(lambda: sc.dev.confirmed_version() == "1.1.0+0", 60, "1.1.0 confirmed")
    E.wait_for(lambda: sc.dev.report_states().count("success") == 2, 20, "second success")
    sc.dev.stop()
    sc.server.api("POST", "/v1/campaigns/%d/abort" % sc.campaign["id"])
    before = [sc.server.campaign_status(c)["counts"] for c in (sc.campaign["id"], c2["id"])]

    sc.mitm.on_checkin = lambda device_id, answer: captured
    rep = sc.refused(A.STALE_OFFER, "OTA_ERR_MANIFEST_STALE", "1.1.0+0", 1)
    assert "campaign %d" % sc.campaign["id"] in rep["detail"], rep
    after = [sc.server.campaign_status(c)["counts"] for c in (sc.campaign["id"], c2["id"])]
    assert after == before, (before, after)


def test_unaccepted_offer_of_aborted_campaign_replayed(env, mitm):
    """The offer the device never accepted: the attacker captures campaign
    1's offer on its way to the device (the device sees "nothing to do"),
    the campaign is aborted, the device checks in once more and hears a
    genuine "nothing to do" -- which carries a signed no-offer statement
    with a fresh offer sequence (docs/manifest.md) -- and then the captured,
    still unexpired offer is replayed. Refused as stale, before download;
    the aborted campaign's record is untouched. (Before the statement
    existed, the device installed and confirmed 2.0.0 here.)"""
    sc = A.Scenario(env, mitm, "replay-unaccepted")
    captured = []

    def capture_and_hide(device_id, answer):
        if answer.get("action") == "update" and not captured:
            captured.append(answer)
        if answer.get("action") == "update":
            return {"action": "none", "poll_interval": 1}
        return answer
    sc.mitm.on_checkin = capture_and_hide  # "nothing to do", no statement
    sc.dev.start()
    E.wait_for(lambda: captured, 30, "the offer captured")
    assert A.manifest_of(captured[0]).campaign_id == sc.campaign["id"]
    sc.server.api("POST", "/v1/campaigns/%d/abort" % sc.campaign["id"])
    seen = len(sc.mitm.checkins.get(sc.dev.name, []))
    # the device checks in after the abort and hears "nothing to do" (twice:
    # the first answer has been handled when the second is asked for)
    E.wait_for(lambda: sum(a.get("action") == "none" and "no_offer" in a
                           for a in sc.mitm.checkins.get(sc.dev.name, [])[seen:]) >= 2,
               30, "check-ins answered 'none' (with a no-offer statement) after the abort")
    sc.dev.stop()
    A.assert_untouched(sc.dev, "1.0.0+0", 1)
    before = sc.server.campaign_status(sc.campaign["id"])["counts"]

    sc.mitm.on_checkin = lambda device_id, answer: captured[0]
    rep = sc.refused(A.STALE_OFFER, "OTA_ERR_MANIFEST_STALE")
    assert "campaign %d" % sc.campaign["id"] in rep["detail"], rep
    assert sc.server.campaign_status(sc.campaign["id"])["counts"] == before
