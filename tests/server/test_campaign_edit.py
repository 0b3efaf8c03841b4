# SPDX-License-Identifier: Apache-2.0
"""Campaigns that cannot get stuck (issue 13, item 2), through the admin API:
warnings when a stage places fewer devices than its min_finished, manual
advance, editing a paused campaign's remaining stages, max_failure_ratio
inherited from the previous stage, and the dry-run preview."""
from test_rollout import bucket, offered


def err(r):
    return r.json()["error"]


def names_placing(campaign_id, inside, outside, limit):
    """Device ids of which exactly `inside` fall below `limit` (0.01 % units)
    for this campaign and `outside` do not, by the placement model."""
    ins, outs, i = [], [], 0
    while len(ins) < inside or len(outs) < outside:
        d = f"fleet-{i:04d}"
        (ins if bucket(campaign_id, d) < limit else outs).append(d)
        i += 1
    return ins[:inside] + outs[:outside]


def test_stuck_stage_warns_and_advance_completes(server, fw):
    # The case: a 25 % stage places 1 of 12 devices, min_finished 2.
    names = names_placing(1, 1, 11, 2500)
    toks = {d: server.add_device(d) for d in names}
    rel = server.upload(fw.image("2.0.0")).json()
    stages = [{"percent": 25, "soak_seconds": 600, "min_finished": 2, "max_failure_ratio": 0.5},
              {"percent": 100, "soak_seconds": 0, "min_finished": 11}]
    c = server.campaign(rel["id"], stages=stages)
    assert c["id"] == 1, "the placement above was computed for campaign 1"
    assert [(w["stage"], w["code"], w["placed"], w["min_finished"]) for w in c["warnings"]] \
        == [(0, "below_min_finished", 1, 2)], c["warnings"]
    assert "min_finished 2" in c["warnings"][0]["message"]
    assert server.status(1)["warnings"] == c["warnings"]
    assert "campaign_warning" in server.read_log() and "placed=1 min_finished=2" in \
        server.read_log()

    canary = names[0]
    assert offered(server, toks) == {canary}
    assert server.report(canary, toks[canary], 1, "success").status == 201
    server.advance(100000)
    st = server.status(1)
    assert st["stage"] == 0 and st["finished_needed"] == 1  # stuck, as warned

    r = server.admin("POST", "/v1/campaigns/1/advance")
    assert r.status == 200, r
    st = r.json()
    assert st["stage"] == 1 and st["state"] == "active" and st["stage_percent"] == 100
    rest = set(names) - {canary}
    assert offered(server, toks) == rest
    for d in sorted(rest):
        assert server.report(d, toks[d], 1, "success").status == 201
    # Complete once a poll interval (300 s) has passed since the stage began.
    assert server.status(1)["rollout_complete"] is False
    server.advance(300)
    st = server.status(1)
    assert st["rollout_complete"] is True and st["finished"] == 12, st
    # Complete, at its last stage: nothing to advance to.
    r = server.admin("POST", "/v1/campaigns/1/advance")
    assert r.status == 409 and err(r)["code"] == "last_stage", r
    assert "last stage" in err(r)["message"]


def test_stage_start_records_warning(server, fw):
    rel = server.upload(fw.image("2.0.1")).json()
    for i in range(5):
        server.add_device(f"gone-{i}")
    # At creation the fleet holds stage 1's five devices: no warning.
    c = server.campaign(rel["id"], stages=[{"percent": 50, "soak_seconds": 600},
                                           {"percent": 100, "min_finished": 5}])
    assert c["warnings"] == [] and c["stage"] == 0
    for i in range(1, 5):
        assert server.admin("DELETE", f"/v1/devices/gone-{i}").status == 204
    # The stage starts (soak over) with one device left: warned then.
    server.advance(600)
    st = server.status(c["id"])
    assert st["stage"] == 1, st
    assert [(w["stage"], w["code"], w["placed"], w["min_finished"]) for w in st["warnings"]] \
        == [(1, "below_min_finished", 1, 5)]
    assert f"campaign={c['id']} stage=1 placed=1 min_finished=5" in server.read_log()


def test_no_devices_warning(server, fw):
    rel = server.upload(fw.image("2.0.2")).json()
    server.add_device("untagged")
    c = server.campaign(rel["id"], filt={"tags": ["nowhere"]})
    assert [(w["stage"], w["code"], w["placed"]) for w in c["warnings"]] == \
        [(0, "no_devices", 0)]
    assert "no matching device" in c["warnings"][0]["message"]


def test_edit_paused_campaign(server, fw):
    rel = server.upload(fw.image("2.1.0")).json()
    toks = {f"e-{i:02d}": server.add_device(f"e-{i:02d}") for i in range(20)}
    s0 = {"percent": 10, "soak_seconds": 3600, "min_finished": 1, "max_failure_ratio": 0.1}
    c = server.campaign(rel["id"], stages=[s0, {"percent": 50, "soak_seconds": 3600},
                                           {"percent": 100}])
    cid = c["id"]
    new_plan = [s0, {"percent": 30, "soak_seconds": 60, "min_finished": 2},
                {"percent": 60, "max_failure_ratio": 0.05}, {"percent": 100}]
    # Running: refused.
    r = server.admin("PATCH", f"/v1/campaigns/{cid}", {"stages": new_plan})
    assert r.status == 409 and err(r)["code"] == "invalid_state", r
    assert "pause it first" in err(r)["message"]
    assert server.admin("POST", f"/v1/campaigns/{cid}/pause").status == 200
    # The started stage 0 cannot change.
    changed = [dict(s0, min_finished=0)] + new_plan[1:]
    r = server.admin("PATCH", f"/v1/campaigns/{cid}", {"stages": changed})
    assert r.status == 409 and err(r)["code"] == "stage_started", r
    assert "stages[0] has already started" in err(r)["message"]
    r = server.admin("PATCH", f"/v1/campaigns/{cid}", {"stages": new_plan})
    assert r.status == 200, r
    st = server.status(cid)
    assert st["state"] == "paused" and st["stage"] == 0
    assert [s["percent"] for s in st["stages"]] == [10, 30, 60, 100]
    assert [s["max_failure_ratio"] for s in st["stages"]] == [0.1, 0.1, 0.05, 0.05]
    assert st["stages"][1]["min_finished"] == 2 and st["stages"][1]["soak_seconds"] == 60
    # Advance while paused (stays paused), then stage 1 is started too.
    r = server.admin("POST", f"/v1/campaigns/{cid}/advance")
    assert r.status == 200 and r.json()["stage"] == 1 and r.json()["state"] == "paused"
    r = server.admin("PATCH", f"/v1/campaigns/{cid}",
                     {"stages": [s0, {"percent": 40}, {"percent": 100}]})
    assert r.status == 409 and "stages[1] has already started" in err(r)["message"], r
    r = server.admin("PATCH", f"/v1/campaigns/{cid}", {"stages": [s0]})
    assert r.status == 409 and "stages[1]" in err(r)["message"], r
    # Malformed stages: the creation validation.
    for bad, what in [([], "1..16 stages"), ("x", "1..16 stages"),
                      ([s0, {"percent": 5}], "greater than the previous"),
                      ([s0, {"percent": 30, "soak": 1}], "soak"),
                      ([s0, {"percent": 30, "max_failure_ratio": 2}], "max_failure_ratio")]:
        r = server.admin("PATCH", f"/v1/campaigns/{cid}", {"stages": bad})
        assert r.status == 400, (bad, r)
        assert what in err(r)["message"], (bad, r)
    r = server.admin("PATCH", f"/v1/campaigns/{cid}", {"name": "x"})
    assert r.status == 400, r
    assert server.admin("PATCH", "/v1/campaigns/999", {"stages": [s0]}).status == 404
    # Resumed: the edited plan is what runs.
    assert server.admin("POST", f"/v1/campaigns/{cid}/resume").status == 200
    assert offered(server, toks) == {d for d in toks if bucket(cid, d) < 3000}
    assert server.status(cid)["stage_percent"] == 30


def test_max_failure_ratio_is_inherited(server, fw):
    rel = server.upload(fw.image("2.2.0")).json()
    tok = server.add_device("inh-1")
    c = server.campaign(rel["id"], stages=[
        {"percent": 0.01, "min_finished": 1, "max_failure_ratio": 0.3},
        {"percent": 100, "min_finished": 1}])
    assert [s["max_failure_ratio"] for s in c["stages"]] == [0.3, 0.3]
    cid = c["id"]
    r = server.admin("POST", f"/v1/campaigns/{cid}/advance")
    assert r.status == 200 and r.json()["stage"] == 1
    assert offered(server, {"inh-1": tok}) == {"inh-1"}
    assert server.report("inh-1", tok, cid, "failure", code=29).status == 201
    st = server.status(cid)
    # With the old default of 1.0 the last stage could never halt.
    assert st["state"] == "halted", st
    assert "exceeded the maximum 0.300 of stage 2/2" in st["halt_reason"]
    # A first stage without a limit gets the default plan's 0.2, never 1.0.
    c2 = server.campaign(rel["id"], stages=[{"percent": 50}, {"percent": 100}])
    assert [s["max_failure_ratio"] for s in c2["stages"]] == [0.2, 0.2]


def test_preview_creates_nothing(server, fw):
    rel = server.upload(fw.image("2.3.0")).json()
    for i in range(12):
        server.add_device(f"pv-{i:02d}", tags=["lab"] if i < 8 else [])
    server.add_device("other-hw", hw_id="hub-b")
    plan = {"release_id": rel["id"], "name": "preview",
            "stages": [{"percent": 25, "min_finished": 5}, {"percent": 100}]}
    r = server.admin("POST", "/v1/campaigns?dry_run=1", plan)
    assert r.status == 200, r
    p = r.json()
    assert p["dry_run"] is True and p["matching_devices"] == 12
    assert [s["expected_devices"] for s in p["stages"]] == [3, 12]
    assert [s["max_failure_ratio"] for s in p["stages"]] == [0.2, 0.2]
    assert [(w["stage"], w["code"], w["placed"]) for w in p["warnings"]] == \
        [(0, "below_min_finished", 3)]
    r = server.admin("POST", "/v1/campaigns?dry_run=1", dict(plan, filter={"tags": ["lab"]}))
    assert r.json()["matching_devices"] == 8
    r = server.admin("POST", "/v1/campaigns?dry_run=1", dict(plan, filter={"tags": ["none"]}))
    assert [w["code"] for w in r.json()["warnings"]] == ["no_devices", "no_devices"]
    # Same validation as creation.
    bad = dict(plan, stages=[{"percent": 50}, {"percent": 40}])
    r = server.admin("POST", "/v1/campaigns?dry_run=1", bad)
    assert r.status == 400 and "greater than the previous" in err(r)["message"]
    r = server.admin("POST", "/v1/campaigns?dry_run=1", dict(plan, release_id=999))
    assert r.status == 422, r
    assert server.admin("GET", "/v1/campaigns").json()["campaigns"] == []
    assert "campaign_warning" not in server.read_log()


def test_advance_errors(server, fw):
    rel = server.upload(fw.image("2.4.0")).json()
    tok = server.add_device("adv-1")
    two = [{"percent": 50, "soak_seconds": 600}, {"percent": 100}]
    a = server.campaign(rel["id"], stages=two)["id"]
    assert server.admin("POST", f"/v1/campaigns/{a}/abort").status == 200
    r = server.admin("POST", f"/v1/campaigns/{a}/advance")
    assert r.status == 409 and err(r)["code"] == "invalid_state", r
    assert "campaign is aborted" in err(r)["message"]
    # Halted.
    h = server.campaign(rel["id"], stages=[{"percent": 100, "max_failure_ratio": 0.1}])["id"]
    assert offered(server, {"adv-1": tok}) == {"adv-1"}
    server.report("adv-1", tok, h, "failure")
    assert server.status(h)["state"] == "halted"
    r = server.admin("POST", f"/v1/campaigns/{h}/advance")
    assert r.status == 409 and "campaign is halted" in err(r)["message"], r
    r = server.admin("PATCH", f"/v1/campaigns/{h}", {"stages": [{"percent": 100}]})
    assert r.status == 409 and "campaign is halted" in err(r)["message"], r
    assert server.admin("POST", "/v1/campaigns/999/advance").status == 404
    assert server.admin("GET", f"/v1/campaigns/{a}/advance").status == 405
    assert server.admin("PUT", f"/v1/campaigns/{a}", {}).status == 405


def test_advance_completes_a_short_last_stage(server, fw):
    """A last stage that placed fewer devices than its min_finished can never
    complete by itself; advance completes it (and only once)."""
    rel = server.upload(fw.image("2.5.0")).json()
    tok = server.add_device("short-1")
    c = server.campaign(rel["id"], stages=[{"percent": 100, "soak_seconds": 0,
                                            "min_finished": 3}])
    assert [(w["stage"], w["code"]) for w in c["warnings"]] == [(0, "below_min_finished")]
    assert offered(server, {"short-1": tok}) == {"short-1"}
    assert server.report("short-1", tok, c["id"], "success").status == 201
    server.advance(100000)
    st = server.status(c["id"])
    assert st["rollout_complete"] is False and st["finished"] == 1, st  # stuck, as warned
    r = server.admin("POST", f"/v1/campaigns/{c['id']}/advance")
    assert r.status == 200, r
    assert r.json()["rollout_complete"] is True and r.json()["state"] == "active"
    assert "action=complete" in server.read_log()
    r = server.admin("POST", f"/v1/campaigns/{c['id']}/advance")
    assert r.status == 409 and err(r)["code"] == "last_stage", r
