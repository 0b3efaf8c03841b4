# SPDX-License-Identifier: Apache-2.0
"""Rollout engine: deterministic placement, stages advancing with injected
time and gates, and a bad release halting its campaign at the first stage."""
import hashlib
import struct

from conftest import offer_manifest


def bucket(campaign_id, device_id):
    """Independent model of the placement hash (docs/api.md)."""
    h = hashlib.sha256(b"ota-rollout\0" + struct.pack("<q", campaign_id) + device_id.encode())
    return struct.unpack_from("<Q", h.digest())[0] % 10000


def offered(server, toks, body=None):
    out = set()
    for dev, tok in toks.items():
        r = server.checkin(dev, tok, body or {"current_version": "1.0.0"})
        assert r.status == 200, r
        if r.json()["action"] == "update":
            out.add(dev)
    return out


def test_staged_rollout_advances_with_time_and_gates(server, fw):
    rel = server.upload(fw.image("2.0.0")).json()
    toks = {f"dev-{i:03d}": server.add_device(f"dev-{i:03d}") for i in range(60)}
    stages = [
        {"percent": 10, "soak_seconds": 3600, "min_finished": 1, "max_failure_ratio": 0.5},
        {"percent": 50, "soak_seconds": 7200, "min_finished": 8, "max_failure_ratio": 0.5},
        {"percent": 100, "soak_seconds": 0, "min_finished": 0, "max_failure_ratio": 0.5},
    ]
    c = server.campaign(rel["id"], stages=stages)
    cid = c["id"]
    in10 = {d for d in toks if bucket(cid, d) < 1000}
    in50 = {d for d in toks if bucket(cid, d) < 5000}
    assert in10 and len(in50) >= 8, "device set too small for this placement"

    # Stage 0: exactly the devices placed below 10 %.
    assert offered(server, toks) == in10
    st = server.status(cid)
    assert st["stage"] == 0 and st["counts"]["offered"] == len(in10)
    assert st["counts_by_stage"][0]["offered"] == len(in10)
    # Soak not over: no advance even with every canary done.
    for d in in10:
        assert server.report(d, toks[d], cid, "success").status == 201
    # (The server clock is the real clock plus the injected offset, so leave
    # room for the seconds this test itself takes.)
    server.advance(3600 - 30)
    assert server.status(cid)["stage"] == 0
    assert offered(server, toks) == set()  # canaries done, others not yet placed
    server.advance(30)
    st = server.status(cid)
    assert st["stage"] == 1 and st["stage_percent"] == 50
    # Stage 1 widens; earlier devices keep their place (they are done).
    assert offered(server, toks) == in50 - in10
    # Soak passed but too few finished devices: the gate holds the stage.
    server.advance(7200)
    st = server.status(cid)
    assert st["stage"] == 1 and st["finished_needed"] == 8 - len(in10)
    need = 8 - len(in10)
    for d in sorted(in50 - in10)[:need]:
        assert server.report(d, toks[d], cid, "success").status == 201
    st = server.status(cid)
    assert st["stage"] == 2 and st["state"] == "active", st
    assert offered(server, toks) == set(toks) - in10 - set(sorted(in50 - in10)[:need])
    st = server.status(cid)
    assert st["counts_by_stage"][2]["offered"] == len(toks) - len(in50)
    # The last stage has begun, not finished: devices are still on their way.
    assert st["rollout_complete"] is False
    rest = set(toks) - in10 - set(sorted(in50 - in10)[:need])
    for d in sorted(rest):
        assert server.report(d, toks[d], cid, "success").status == 201
    assert server.status(cid)["rollout_complete"] is False  # within a poll interval
    server.advance(300)
    st = server.status(cid)
    assert st["rollout_complete"] is True, st
    assert st["failure_ratio"] == 0


def test_last_stage_waits_for_devices_that_have_not_checked_in(server, fw):
    """A last stage with no soak must not complete the moment it starts: the
    devices it newly places have not checked in yet, so nothing is "in
    progress". It runs at least one poll interval (300 s here), and the
    health gates watch it until then."""
    rel = server.upload(fw.image("2.0.0")).json()
    toks = {f"ls-{i:02d}": server.add_device(f"ls-{i:02d}") for i in range(30)}
    c = server.campaign(rel["id"], stages=[
        {"percent": 20, "soak_seconds": 0, "min_finished": 1, "max_failure_ratio": 0.5},
        {"percent": 100, "soak_seconds": 0, "min_finished": 0, "max_failure_ratio": 0.5}])
    cid = c["id"]
    first = {d for d in toks if bucket(cid, d) < 2000}
    assert first and len(first) < len(toks), "placement too lopsided for this test"
    assert offered(server, toks) == first
    for d in sorted(first):
        assert server.report(d, toks[d], cid, "success").status == 201
    st = server.status(cid)
    assert st["stage"] == 1, st
    # Nobody of the last stage has checked in: it has not finished.
    assert st["rollout_complete"] is False, st
    server.advance(299)
    assert server.status(cid)["rollout_complete"] is False
    rest = offered(server, toks)
    assert rest == set(toks) - first
    server.advance(1)
    # A poll interval has passed, but devices are on their way: still open.
    assert server.status(cid)["rollout_complete"] is False
    for d in sorted(rest):
        assert server.report(d, toks[d], cid, "failure" if d == min(rest) else "success").status == 201
    st = server.status(cid)
    assert st["rollout_complete"] is True and st["state"] == "active", st
    assert st["counts"]["failure"] == 1 and st["counts"]["success"] == len(toks) - 1, st


def test_bad_release_halts_at_first_stage(server, fw):
    rel = server.upload(fw.image("3.0.0")).json()
    toks = {f"unit-{i:03d}": server.add_device(f"unit-{i:03d}") for i in range(80)}
    stages = [
        {"percent": 10, "soak_seconds": 600, "min_finished": 3, "max_failure_ratio": 0.2},
        {"percent": 100, "soak_seconds": 0, "min_finished": 0, "max_failure_ratio": 0.2},
    ]
    cid = server.campaign(rel["id"], stages=stages)["id"]
    canaries = sorted(d for d in toks if bucket(cid, d) < 1000)
    assert len(canaries) >= 4, "need at least 4 canaries for this test"
    assert offered(server, toks) == set(canaries)
    # First failure: below the stage's minimum sample, no halt yet.
    server.report(canaries[0], toks[canaries[0]], cid, "failure", code=29,
                  detail="self-test failed")
    assert server.status(cid)["state"] == "active"
    server.report(canaries[1], toks[canaries[1]], cid, "installed-rebooting")
    server.report(canaries[1], toks[canaries[1]], cid, "rolled-back", code=85,
                  detail="trial boot failed; reverted")
    assert server.status(cid)["state"] == "active"
    # Third finished device makes the sample; 2/3 failed > 0.2: halted.
    server.report(canaries[2], toks[canaries[2]], cid, "success")
    st = server.status(cid)
    assert st["state"] == "halted", st
    assert st["stage"] == 0
    assert st["failed"] == 2 and st["finished"] == 3
    assert abs(st["failure_ratio"] - 2 / 3) < 1e-9
    assert "failure ratio 0.667" in st["halt_reason"] and "of stage 1/2" in st["halt_reason"]
    assert st["counts"]["failure"] == 1 and st["counts"]["rolled-back"] == 1
    assert st["counts"]["offered"] == len(canaries) - 3
    # Which devices failed, and where the others stand.
    failed = server.admin("GET", f"/v1/campaigns/{cid}/devices?state=failure").json()
    assert [d["device_id"] for d in failed["devices"]] == [canaries[0]]
    assert failed["devices"][0]["stage"] == 0
    everyone = server.admin("GET", f"/v1/campaigns/{cid}/devices?limit=2").json()
    assert [d["device_id"] for d in everyone["devices"]] == sorted(canaries)[:2]
    rest = server.admin("GET", f"/v1/campaigns/{cid}/devices?after="
                        + everyone["next_after"]).json()["devices"]
    assert len(rest) == len(canaries) - 2
    assert server.admin("GET", f"/v1/campaigns/{cid}/devices?state=bogus").status == 400
    # Halted: nobody is offered the release any more, not even pending canaries,
    # and time passing does not advance the stage.
    server.advance(100000)
    assert offered(server, toks) == set()
    st = server.status(cid)
    assert st["state"] == "halted" and st["stage"] == 0
    # Metrics show the halted campaign.
    m = server.admin("GET", "/metrics").body.decode()
    assert 'ota_campaigns{state="halted"} 1' in m
    # A halted campaign stays halted (a fixed release gets a new campaign).
    r = server.admin("POST", f"/v1/campaigns/{cid}/resume")
    assert r.status == 409 and "stays halted" in r.json()["error"]["message"]
    assert server.admin("POST", f"/v1/campaigns/{cid}/abort").json()["state"] == "aborted"


def test_pause_stops_offers(server, fw):
    rel = server.upload(fw.image("2.1.0")).json()
    tok = server.add_device("p1")
    cid = server.campaign(rel["id"])["id"]
    server.admin("POST", f"/v1/campaigns/{cid}/pause")
    assert server.checkin("p1", tok).json()["action"] == "none"
    server.admin("POST", f"/v1/campaigns/{cid}/resume")
    offer_manifest(server.checkin("p1", tok))
    server.admin("POST", f"/v1/campaigns/{cid}/abort")
    assert server.checkin("p1", tok).json()["action"] == "none"


def test_placement_is_stable_across_restart(server_factory, fw):
    s = server_factory().start()
    rel = s.upload(fw.image("2.2.0")).json()
    toks = {f"s-{i:02d}": s.add_device(f"s-{i:02d}") for i in range(40)}
    cid = s.campaign(rel["id"], stages=[{"percent": 25, "soak_seconds": 99999},
                                        {"percent": 100}])["id"]
    first = offered(s, toks)
    assert first == {d for d in toks if bucket(cid, d) < 2500}
    token = s.admin_token
    s.stop()
    s2 = server_factory().start()
    s2.admin_token = token
    assert offered(s2, toks) == first
