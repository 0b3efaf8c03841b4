# SPDX-License-Identifier: Apache-2.0
"""Device health telemetry and stage health gates (issue 13, item 4), through
the HTTP API: POST /v1/devices/{id}/health validation, the per-device and
per-release sums shown in GET /v1/campaigns/{id}, gate validation at creation
and in PATCH, and the gate verdict - a crashing release halts at its canary
stage naming the metric, a healthy one passes, no verdict below the
minimums, a quiet control counted as one event. The server's test clock
replaces waiting (figures are refreshed every `refresh_seconds`)."""
import pytest

from pgcluster import PgCluster
from test_rollout import offered


@pytest.fixture(params=["sqlite", "postgres"])
def store_server(request, server_factory):
    """A server on each storage backend (the health SQL is shared)."""
    if request.param == "sqlite":
        yield server_factory().start()
        return
    cluster = PgCluster().start()
    srv = None
    try:
        srv = server_factory(["--db", cluster.createdb("ota")]).start()
        yield srv
    finally:
        if srv and srv.proc:  # before its database goes
            assert srv.stop() == 0
        cluster.stop()


def health(server, dev, tok, release, period_s, crashes=None, resets=None, counters=None):
    body = {"release": release, "period_s": period_s}
    if crashes is not None:
        body["crashes"] = crashes
    if resets is not None:
        body["resets"] = resets
    if counters is not None:
        body["counters"] = counters
    return server.request("POST", f"/v1/devices/{dev}/health", body, token=tok)


def err(r):
    return r.json()["error"]


GATE = {"metric": "crashes", "max_ratio": 2.0, "min_devices": 5, "min_device_hours": 5}


def rollout(server, fw, n=24, canary=50, gates=None, version="2.0.0"):
    """n devices, a two-stage campaign with `gates` on its first stage.
    Returns (campaign id, tokens, canary devices, control devices)."""
    toks = {f"h-{i:03d}": server.add_device(f"h-{i:03d}") for i in range(n)}
    rel = server.upload(fw.image(version)).json()
    stages = [{"percent": canary, "soak_seconds": 600, "min_finished": 1,
               "health_gates": [GATE] if gates is None else gates},
              {"percent": 100, "soak_seconds": 0, "health_gates": []}]
    c = server.campaign(rel["id"], stages=stages)
    first = offered(server, toks)
    return c["id"], toks, sorted(first), sorted(set(toks) - first)


def refresh(server, cid):
    """Let the cached figures expire (test clock) and read the campaign."""
    st = server.status(cid)
    server.advance(st["health"]["refresh_seconds"])
    return server.status(cid)


# ---- the device API -------------------------------------------------------------

def test_health_report_validation(server):
    tok = server.add_device("v-1")
    other = server.add_device("v-2")
    ok = {"release": "1.0.0", "period_s": 60, "crashes": 1, "resets": 0,
          "counters": {"oom_kills": 2, "wifi.drops": 0}}
    r = server.request("POST", "/v1/devices/v-1/health", ok, token=tok)
    assert r.status == 204, r
    # Authentication: the device's own token only.
    assert server.request("POST", "/v1/devices/v-1/health", ok).status == 401
    assert server.request("POST", "/v1/devices/v-1/health", ok, token=other).status == 403
    r = server.request("GET", "/v1/devices/v-1/health", token=tok)
    assert r.status == 405 and "POST" in r.headers["Allow"], r

    cases = [
        ({"period_s": 60}, "missing_field", "release"),
        ({"release": "1.0", "period_s": 60}, "invalid_field", "MAJOR.MINOR.REVISION"),
        ({"release": "1.0.0"}, "missing_field", "period_s"),
        ({"release": "1.0.0", "period_s": 0}, "invalid_field", "period_s"),
        ({"release": "1.0.0", "period_s": 31 * 86400}, "invalid_field", "period_s"),
        ({"release": "1.0.0", "period_s": 60, "crashes": -1}, "invalid_field", "crashes"),
        ({"release": "1.0.0", "period_s": 60, "resets": 1.5}, "invalid_field", "resets"),
        ({"release": "1.0.0", "period_s": 60, "uptime": 5}, "unknown_field", "uptime"),
        ({"release": "1.0.0", "period_s": 60, "counters": []}, "invalid_field", "counters"),
        ({"release": "1.0.0", "period_s": 60, "counters": {"bad name": 1}}, "invalid_field",
         "bad name"),
        ({"release": "1.0.0", "period_s": 60, "counters": {"x": -3}}, "invalid_field",
         "counters.x"),
        ({"release": "1.0.0", "period_s": 60, "counters": {"x": "3"}}, "invalid_field",
         "counters.x"),
        ({"release": "1.0.0", "period_s": 60,
          "counters": {f"c{i}": 1 for i in range(17)}}, "invalid_field", "at most 16"),
    ]
    for body, code, word in cases:
        r = server.request("POST", "/v1/devices/v-1/health", body, token=tok)
        assert r.status == 400, (body, r)
        assert err(r)["code"] == code and word in err(r)["message"], (body, r)
    r = server.request("POST", "/v1/devices/v-1/health", '{"release":"1.0.0","period_s":1,'
                       '"period_s":2}', token=tok)
    assert r.status == 400 and err(r)["code"] == "invalid_json", r


# ---- gates in the campaign API ---------------------------------------------------

def test_gate_validation_inheritance_and_patch(server, fw):
    for i in range(3):
        server.add_device(f"g-{i}")
    rel = server.upload(fw.image("2.0.0")).json()

    def bad(gates, word):
        r = server.admin("POST", "/v1/campaigns", {"release_id": rel["id"], "stages": [
            {"percent": 10, "health_gates": gates}]})
        assert r.status == 400, (gates, r)
        assert word in err(r)["message"], (gates, r)

    bad({"metric": "crashes"}, "health_gates must be an array")
    bad([{"metric": "cpu"}], "\"crashes\", \"resets\" or \"counter:NAME\"")
    bad([{"metric": "counter:"}], "counter:NAME")
    bad([{"metric": "counter:a b"}], "counter:NAME")
    bad([{"max_ratio": 2}], "metric")
    bad([{"metric": "crashes", "min_devices": 3}], "min_devices")  # no verdict from 3
    bad([{"metric": "crashes", "max_ratio": 0.5}], "max_ratio")
    bad([{"metric": "crashes", "min_device_hours": 0}], "min_device_hours")
    bad([{"metric": "crashes", "when": 1}], "when")
    bad([{"metric": "crashes"}, {"metric": "crashes"}], "two gates on \"crashes\"")
    bad([{"metric": m} for m in ("crashes", "resets", "counter:a", "counter:b", "counter:c")],
        "at most 4")

    stages = [{"percent": 10, "soak_seconds": 60,
               "health_gates": [{"metric": "counter:oom_kills", "max_ratio": 3}]},
              {"percent": 50},                      # inherits stage 0's gates
              {"percent": 100, "health_gates": []}]  # none
    c = server.campaign(rel["id"], stages=stages)
    g0 = c["stages"][0]["health_gates"]
    assert g0 == [{"metric": "counter:oom_kills", "max_ratio": 3.0, "min_devices": 20,
                   "min_device_hours": 10.0}], g0  # the documented defaults
    assert c["stages"][1]["health_gates"] == g0
    assert c["stages"][2]["health_gates"] == []
    assert [g["verdict"] for g in c["health"]["gates"]] == ["waiting"]
    # The gates survive a restart of the server (stored with the stages).
    server.stop()
    server.start()
    assert server.status(c["id"])["stages"] == c["stages"]

    # PATCH: the started stage's gates are frozen, later ones can change.
    cid = c["id"]
    assert server.admin("POST", f"/v1/campaigns/{cid}/pause").status == 200
    sent = [dict(s) for s in server.status(cid)["stages"]]
    changed = [dict(s) for s in sent]
    changed[0]["health_gates"] = []
    r = server.admin("PATCH", f"/v1/campaigns/{cid}", {"stages": changed})
    assert r.status == 409 and err(r)["code"] == "stage_started", r
    sent[1]["health_gates"] = [{"metric": "resets", "min_devices": 5, "min_device_hours": 1}]
    r = server.admin("PATCH", f"/v1/campaigns/{cid}", {"stages": sent})
    assert r.status == 200, r
    assert r.json()["stages"][1]["health_gates"] == [
        {"metric": "resets", "max_ratio": 2.0, "min_devices": 5, "min_device_hours": 1.0}]
    sent[1]["health_gates"] = [{"metric": "crashes", "min_devices": 2}]
    r = server.admin("PATCH", f"/v1/campaigns/{cid}", {"stages": sent})
    assert r.status == 400 and "min_devices" in err(r)["message"], r
    # The dry-run preview shows the gates too.
    r = server.admin("POST", "/v1/campaigns?dry_run=1",
                     {"release_id": rel["id"], "stages": stages})
    assert r.status == 200 and r.json()["stages"][1]["health_gates"] == g0, r


# ---- aggregation and verdicts ------------------------------------------------------

def test_aggregation_per_device_release_and_stage(store_server, fw):
    server = store_server
    cid, toks, canary, control = rollout(server, fw, n=12, canary=50)
    assert canary and control
    for d in canary:
        assert server.report(d, toks[d], cid, "success").status == 201
        # Two reports per device: the server sums them (one row per device
        # and release, not one per report).
        for _ in range(2):
            assert health(server, d, toks[d], "2.0.0", 1800, crashes=1, resets=0,
                          counters={"oom": 2}).status == 204
        # Time on the old release before the update belongs to no cohort of
        # this campaign's release.
        assert health(server, d, toks[d], "1.0.0+0", 3600, crashes=5).status == 204
    for d in control:
        assert health(server, d, toks[d], "1.0.0", 7200, resets=1).status == 204
    h = refresh(server, cid)["health"]
    assert h["release"] == "2.0.0+0"
    n = len(canary)
    u = h["updated"]
    assert (u["devices"], u["device_hours"], u["crashes"], u["resets"]) == (n, n * 1.0, 2 * n, 0)
    assert u["counters"] == {"oom": 4 * n}
    assert u["rates_per_device_hour"]["crashes"] == pytest.approx(2.0)
    assert u["rates_per_device_hour"]["counter:oom"] == pytest.approx(4.0)
    # Control: the selection's devices not updated by this campaign, on
    # other releases (the canary devices updated by it are left out).
    k = h["control"]
    assert (k["devices"], k["device_hours"], k["crashes"], k["resets"]) == \
        (len(control), 2.0 * len(control), 0, len(control))
    assert h["by_stage"][0]["devices"] == n and h["by_stage"][1]["devices"] == 0
    # A deleted device takes its health rows along.
    assert server.admin("DELETE", f"/v1/devices/{control[0]}").status == 204
    h = refresh(server, cid)["health"]
    assert h["control"]["devices"] == len(control) - 1


def test_crashing_release_halts_at_canary_naming_the_metric(store_server, fw):
    server = store_server
    cid, toks, canary, control = rollout(server, fw, n=24, canary=50)
    assert len(canary) >= 5 and len(control) >= 5, "placement too lopsided for this test"
    for d in canary:
        assert server.report(d, toks[d], cid, "success").status == 201  # confirms fine...
        assert health(server, d, toks[d], "2.0.0", 3600, crashes=3).status == 204  # ...crashes
    for d in control:
        assert health(server, d, toks[d], "1.0.0", 3600, crashes=1).status == 204
    st = refresh(server, cid)
    assert st["state"] == "halted" and st["stage"] == 0, st
    reason = st["halt_reason"]
    for part in ("health gate at stage 1/2", "crashes breached", "3 per device-hour",
                 "2 x control", "1 per device-hour",
                 f"{len(canary)} devices", f"{len(control)} devices", "limit 2"):
        assert part in reason, (part, reason)
    g = st["health"]["gates"][0]
    assert g["verdict"] == "breach" and g["metric"] == "crashes"
    assert g["updated_rate"] == pytest.approx(3.0) and g["control_rate"] == pytest.approx(1.0)
    assert g["limit_rate"] == pytest.approx(2.0)
    assert "campaign_halted" in server.read_log()
    # The second stage was never offered.
    assert offered(server, {d: toks[d] for d in control}) == set()


def test_healthy_release_passes_and_completes(server, fw):
    gates = [GATE, {"metric": "counter:oom", "max_ratio": 1.5, "min_devices": 5,
                    "min_device_hours": 5}]
    cid, toks, canary, control = rollout(server, fw, n=24, canary=50, gates=gates)
    for d in canary:
        assert server.report(d, toks[d], cid, "success").status == 201
        assert health(server, d, toks[d], "2.0.0", 3600, crashes=1,
                      counters={"oom": 1}).status == 204
    for d in control:
        assert health(server, d, toks[d], "1.0.0", 3600, crashes=1,
                      counters={"oom": 1}).status == 204
    st = refresh(server, cid)
    assert st["state"] == "active" and st["stage"] == 0  # soaking: 600 s
    assert [g["verdict"] for g in st["health"]["gates"]] == ["pass", "pass"], st["health"]
    server.advance(600)
    st = server.status(cid)
    assert st["stage"] == 1, st
    rest = offered(server, {d: toks[d] for d in control})
    assert rest == set(control)
    for d in control:
        assert server.report(d, toks[d], cid, "success").status == 201
    server.advance(300)  # the last stage runs at least one poll interval
    st = server.status(cid)
    assert st["rollout_complete"] is True and st["state"] == "active", st


def test_no_verdict_below_the_minimums(server, fw):
    # Three canary devices crashing constantly: no verdict from 3 devices.
    cid, toks, canary, control = rollout(server, fw, n=24, canary=50)
    few = canary[:3]
    for d in few:
        assert server.report(d, toks[d], cid, "success").status == 201
        assert health(server, d, toks[d], "2.0.0", 3600, crashes=100).status == 204
    for d in control:
        assert health(server, d, toks[d], "1.0.0", 3600, crashes=1).status == 204
    st = refresh(server, cid)
    assert st["state"] == "active", st
    g = st["health"]["gates"][0]
    assert g["verdict"] == "waiting" and g["updated_rate"] is None
    assert "updated cohort 3 devices" in g["message"] and "needs 5 devices" in g["message"]
    # Nor does the stage advance on an open question (soak over, min_finished met).
    server.advance(600)
    assert server.status(cid)["stage"] == 0
    # Enough devices but too few device-hours: still no verdict.
    for d in canary[3:5]:
        assert health(server, d, toks[d], "2.0.0", 60, crashes=100).status == 204
    st = refresh(server, cid)
    assert st["state"] == "active" and st["health"]["gates"][0]["verdict"] == "waiting"
    assert "3.033 device-hours" in st["health"]["gates"][0]["message"]
    # Over the minimums, the verdict comes and the crashing release halts.
    for d in canary[3:5]:
        assert health(server, d, toks[d], "2.0.0", 3600, crashes=100).status == 204
    st = refresh(server, cid)
    assert st["state"] == "halted" and "crashes breached" in st["halt_reason"], st


def test_quiet_control_counts_as_one_event(server, fw):
    # Control: 0 crashes. Its rate is 0, so any crash would be an infinite
    # ratio; the rule counts the control as 1 event: limit = max_ratio x 1 /
    # control device-hours.
    cid, toks, canary, control = rollout(server, fw, n=24, canary=50)
    assert len(canary) >= 5 and len(control) >= 5, "placement too lopsided for this test"
    for d in control:
        assert health(server, d, toks[d], "1.0.0", 3600, crashes=0).status == 204
    for d in canary:
        assert server.report(d, toks[d], cid, "success").status == 201
        assert health(server, d, toks[d], "2.0.0", 7200).status == 204
    hours_c, hours_u = len(control), 2 * len(canary)
    # One crash in the cohort: 1/hours_u per hour, within 2/hours_c.
    d0 = canary[0]
    assert health(server, d0, toks[d0], "2.0.0", 1, crashes=1).status == 204
    hours_u += 1 / 3600
    st = refresh(server, cid)
    g = st["health"]["gates"][0]
    assert g["control_rate"] == 0 and g["limit_rate"] == pytest.approx(2 / hours_c)
    assert g["updated_rate"] == pytest.approx(1 / hours_u)
    assert g["verdict"] == "pass" and st["state"] == "active", g
    # More crashes than twice "one event" of the control: halted, and the
    # reason says the control's zero was counted as one.
    need = int(2 * hours_u / hours_c) + 1  # total crashes that exceed the limit
    assert health(server, d0, toks[d0], "2.0.0", 1, crashes=need - 1).status == 204
    st = refresh(server, cid)
    assert st["state"] == "halted", st
    assert "(0 in" in st["halt_reason"] and "none counted as 1" in st["halt_reason"]
