# SPDX-License-Identifier: Apache-2.0
"""Regression tests for the server defects of the security review (issue 10)
and the server items of issue 9: each one failed on the server before its
fix. Storage-level halves run on both backends in test_store.c."""
import json
import re

from conftest import offer_manifest


def test_final_report_is_final(server, fw):
    """success -> failure must not flip a completed campaign to halted; the
    second final report is answered 200 without changing anything."""
    rel = server.upload(fw.image("2.0.0")).json()
    tok = server.add_device("f1")
    cid = server.campaign(rel["id"], stages=[{"percent": 100, "max_failure_ratio": 0}])["id"]
    offer_manifest(server.checkin("f1", tok))
    assert server.report("f1", tok, cid, "success").status == 201
    before = server.admin("GET", "/v1/devices/f1/reports").json()["reports"]
    r = server.report("f1", tok, cid, "failure", code=1, detail="stale offer refused")
    assert r.status == 200, r
    assert r.json() == {"report_id": None, "stored": False, "reason": "already_final",
                        "final_state": "success"}
    st = server.status(cid)
    assert st["state"] == "active" and st["counts"]["success"] == 1, st
    assert st["counts"]["failure"] == 0 and st["failed"] == 0, st
    assert server.admin("GET", "/v1/devices/f1/reports").json()["reports"] == before
    assert server.admin("GET", "/v1/devices/f1").json()["last_result"] == "success"
    # A late progress report is ignored the same way.
    assert server.report("f1", tok, cid, "downloading").status == 200
    assert server.status(cid)["counts"]["success"] == 1


def test_deleted_device_history_not_inherited(server, fw):
    rel = server.upload(fw.image("2.0.0")).json()
    tok = server.add_device("reborn")
    cid = server.campaign(rel["id"], stages=[{"percent": 100, "max_failure_ratio": 1}])["id"]
    offer_manifest(server.checkin("reborn", tok))
    assert server.report("reborn", tok, cid, "failure", code=7, detail="old").status == 201
    assert server.status(cid)["counts"]["failure"] == 1
    assert server.admin("DELETE", "/v1/devices/reborn").status == 204
    tok2 = server.add_device("reborn")
    assert server.admin("GET", "/v1/devices/reborn/reports").json()["reports"] == []
    assert server.request("GET", "/v1/devices/reborn/reports", token=tok2).json() == \
        {"reports": []}
    st = server.status(cid)
    assert st["counts"]["failure"] == 0 and st["finished"] == 0, st
    # The new device is offered the campaign afresh (not "finished with it").
    offer_manifest(server.checkin("reborn", tok2))
    assert server.admin("GET", f"/v1/campaigns/{cid}/devices").json()["devices"][0][
        "state"] == "offered"


def test_enrollment_tokens_list_revoke_bounded(server):
    r = server.admin("POST", "/v1/enrollment-tokens", {"hw_id": "hub-a"})
    assert r.status == 201, r
    t = r.json()
    now = server.admin("GET", "/v1/admin/clock").json()["now"]
    # Bounded by default: a week and one device.
    assert t["max_uses"] == 1 and 0 < t["expires_at"] - now <= 7 * 86400, t
    r2 = server.admin("POST", "/v1/enrollment-tokens",
                      {"hw_id": "hub-a", "max_uses": 5, "expires_in": 3600}).json()
    lst = server.admin("GET", "/v1/enrollment-tokens")
    assert lst.status == 200, lst
    toks = lst.json()["enrollment_tokens"]
    assert [x["id"] for x in toks] == [t["id"], r2["id"]]
    assert all("token" not in x for x in toks)  # the secret is shown once only
    assert toks[1]["max_uses"] == 5 and toks[1]["uses"] == 0 and toks[1]["usable"] is True
    # Revoke: the token stops enrolling at once.
    assert server.admin("DELETE", f"/v1/enrollment-tokens/{r2['id']}").status == 204
    assert server.admin("DELETE", f"/v1/enrollment-tokens/{r2['id']}").status == 404
    r = server.request("POST", "/v1/enroll", {"enrollment_token": r2["token"],
                                               "device_id": "x1", "hw_id": "hub-a"})
    assert r.status == 401, r
    assert [x["id"] for x in
            server.admin("GET", "/v1/enrollment-tokens").json()["enrollment_tokens"]] == \
        [t["id"]]
    # The default single use, then expiry.
    assert server.request("POST", "/v1/enroll", {"enrollment_token": t["token"],
                                                  "device_id": "x2",
                                                  "hw_id": "hub-a"}).status == 201
    assert server.request("POST", "/v1/enroll", {"enrollment_token": t["token"],
                                                  "device_id": "x3",
                                                  "hw_id": "hub-a"}).status == 401
    t3 = server.admin("POST", "/v1/enrollment-tokens", {"max_uses": 3}).json()
    server.advance(7 * 86400 + 1)
    assert server.request("POST", "/v1/enroll", {"enrollment_token": t3["token"],
                                                  "device_id": "x4",
                                                  "hw_id": "hub-a"}).status == 401
    listed = {x["id"]: x for x in
              server.admin("GET", "/v1/enrollment-tokens").json()["enrollment_tokens"]}
    assert listed[t["id"]]["usable"] is False and listed[t3["id"]]["usable"] is False
    # Device tokens cannot list or revoke.
    dtok = server.add_device("d-e")
    assert server.request("GET", "/v1/enrollment-tokens", token=dtok).status == 403
    assert server.request("DELETE", f"/v1/enrollment-tokens/{t['id']}",
                          token=dtok).status == 403


def test_ticker_advances_every_active_campaign(server, fw):
    """More than 256 active campaigns: all advance when their soak ends (the
    list route does not evaluate, so it shows what the ticker did)."""
    n = 300
    rels = [server.upload(fw.image("2.0.0")).json()["id"] for _ in range(2)]
    stages = [{"percent": 10, "soak_seconds": 60}, {"percent": 100}]
    ids = [server.campaign(rels[i % 2], stages=stages)["id"] for i in range(n)]
    server.advance(61)
    camps = {c["id"]: c for c in server.admin("GET", "/v1/campaigns").json()["campaigns"]}
    behind = [i for i in ids if camps[i]["stage"] != 1]
    assert behind == [], f"{len(behind)} campaigns not advanced, oldest {behind[:5]}"


def test_ratios_print_short_and_completion_waits(server, fw):
    rel = server.upload(fw.image("2.0.0")).json()
    toks = {f"r{i}": server.add_device(f"r{i}") for i in range(2)}
    r = server.admin("POST", "/v1/campaigns", {"release_id": rel["id"], "stages": [
        {"percent": 100, "max_failure_ratio": 0.1}]})
    assert r.status == 201
    raw = r.body.decode()
    assert '"max_failure_ratio":0.1,' in raw or '"max_failure_ratio":0.1}' in raw, raw
    assert "0.10000000000000001" not in raw
    cid = r.json()["id"]
    # Not complete at creation (nobody finished), nor while a device is on its way.
    assert r.json()["rollout_complete"] is False
    for d, t in toks.items():
        offer_manifest(server.checkin(d, t))
    assert server.report("r0", toks["r0"], cid, "success").status == 201
    assert server.status(cid)["rollout_complete"] is False
    assert server.report("r1", toks["r1"], cid, "success").status == 201
    st = server.status(cid)
    assert st["rollout_complete"] is True, st
    log = server.read_log()
    assert len(re.findall(r"campaign_complete", log)) == 1, log
    assert json.loads(server.admin("GET", f"/v1/campaigns/{cid}").body)["state"] == "active"
