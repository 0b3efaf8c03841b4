# SPDX-License-Identifier: Apache-2.0
"""The console's read endpoints under /v1/fleet/ (src/server/api_fleet.c,
docs/api.md "Fleet views"), through the HTTP API: aggregates that match the
devices registered and what they reported, the filtered and paged device
list with its total, one device's campaigns and the offer it would get,
a campaign's failure ratio over time; and the console's files at / with
their security headers and ETag revalidation."""
import re
import time

from test_postgres_nodes import cluster, nodes  # noqa: F401 (fixtures)


def fleet(server, path):
    r = server.admin("GET", "/v1/fleet/" + path)
    assert r.status == 200, r
    return r.json()


def seed(server, fw):
    """Six devices: versions, hardware, tags, results and silence mixed."""
    rel = server.upload(fw.image("2.0.0")).json()
    toks = {}
    for i, (tags, ver) in enumerate([(["eu", "beta"], "1.0.0"), (["eu"], "1.0.0"),
                                     (["us"], "1.0.0"), ([], "1.1.0"), (["eu"], None),
                                     (["a_b"], None)]):
        d = f"dev-{i}"
        toks[d] = server.add_device(d, tags=tags)
        if ver:
            assert server.checkin(d, toks[d], {"current_version": ver}).status == 200
    server.add_device("other-0", hw_id="hub-b")
    return rel, toks


def wait_flushed(server, n_seen):
    deadline = time.time() + 10
    while time.time() < deadline:
        s = fleet(server, "summary")
        if s["devices"] - s["never_seen"] >= n_seen:
            return s
        time.sleep(0.2)
    raise AssertionError("inventory not flushed")


def test_summary_counts_match_the_devices(server, fw):
    rel, toks = seed(server, fw)
    s = wait_flushed(server, 4)
    assert s["devices"] == 7 and s["online"] == 4 and s["never_seen"] == 3, s
    assert s["silent"] == 0
    assert {x["version"]: x["devices"] for x in s["by_version"]} == \
        {"1.0.0": 3, "1.1.0": 1, "": 3}
    assert s["by_version"][-1] == {"version": "1.1.0", "devices": 1}  # largest first
    assert {x["hw_id"]: x["devices"] for x in s["by_hw_id"]} == {"hub-a": 6, "hub-b": 1}
    assert {x["tag"]: x["devices"] for x in s["by_tag"]} == \
        {"eu": 3, "beta": 1, "us": 1, "a_b": 1}
    assert s["untagged"] == 2
    assert s["last_results"]["none"] == 7

    # A campaign, two final reports: the results and the release counts move.
    c = server.campaign(rel["id"])
    for d in ("dev-0", "dev-1"):
        r = server.checkin(d, toks[d], {"current_version": "1.0.0"})
        assert r.json()["action"] == "update", r
    assert server.report("dev-0", toks["dev-0"], c["id"], "success").status == 201
    assert server.report("dev-1", toks["dev-1"], c["id"], "failure", 156,
                         "payload hash mismatch").status == 201
    assert server.checkin("dev-0", toks["dev-0"], {"current_digest": rel["digest"]}).status \
        == 200
    deadline = time.time() + 10
    while time.time() < deadline:
        s = fleet(server, "summary")
        if s["by_release"]:
            break
        time.sleep(0.2)
    assert s["by_release"] == [{"release_id": rel["id"], "devices": 1}], s
    assert s["last_results"]["success"] == 1 and s["last_results"]["failure"] == 1, s
    assert s["top_failures"] == [{"last_result": "failure code=156 payload hash mismatch",
                                  "devices": 1}]

    # Time passes: everyone seen is now silent (default: 3 poll intervals).
    server.advance(100000)
    s = fleet(server, "summary")
    assert s["online"] == 0 and s["silent"] == 4 and s["never_seen"] == 3, s
    s = fleet(server, "summary?silent_after=200000")
    assert s["online"] == 4 and s["silent_after"] == 200000


def test_device_list_filters_pages_and_totals(server, fw):
    rel, toks = seed(server, fw)
    wait_flushed(server, 4)
    r = fleet(server, "devices?limit=3")
    assert r["total"] == 7 and [d["id"] for d in r["devices"]] == ["dev-0", "dev-1", "dev-2"]
    assert r["next_after"] == "dev-2"
    assert r["devices"][0]["tags"] == ["beta", "eu"]
    assert r["devices"][0]["current_version"] == "1.0.0" and r["devices"][0]["last_seen"] > 0
    r2 = fleet(server, "devices?limit=3&after=dev-2")
    assert [d["id"] for d in r2["devices"]] == ["dev-3", "dev-4", "dev-5"] and "total" not in r2
    r3 = fleet(server, "devices?limit=3&after=dev-5")
    assert [d["id"] for d in r3["devices"]] == ["other-0"] and "next_after" not in r3

    def ids(q):
        return [d["id"] for d in fleet(server, "devices?" + q)["devices"]]
    assert ids("tag=eu") == ["dev-0", "dev-1", "dev-4"]
    assert ids("tag=a_b") == ["dev-5"]
    assert ids("tag=a%25b") == [] and ids("tag=ab") == []  # LIKE wildcards are literal
    assert ids("version=1.0.0&tag=eu") == ["dev-0", "dev-1"]
    assert ids("hw_id=hub-b") == ["other-0"]
    assert ids("q=other") == ["other-0"] and ids("q=dev-") == [f"dev-{i}" for i in range(6)]
    assert ids("seen=never") == ["dev-4", "dev-5", "other-0"]
    assert ids("seen=online") == ["dev-0", "dev-1", "dev-2", "dev-3"]
    assert fleet(server, "devices?tag=eu")["total"] == 3

    # Which devices run a release (by the digest they report).
    assert ids(f"release={rel['id']}") == []
    assert server.checkin("dev-3", toks["dev-3"], {"current_digest": rel["digest"]}).status \
        == 200
    deadline = time.time() + 10
    while time.time() < deadline and not ids(f"release={rel['id']}"):
        time.sleep(0.2)
    assert ids(f"release={rel['id']}") == ["dev-3"]

    for bad in ("limit=0", "limit=1001", "limit=x", "seen=sometimes", "result=maybe",
                "silent_after=-1"):
        r = server.admin("GET", "/v1/fleet/devices?" + bad)
        assert r.status == 400 and r.json()["error"]["code"] == "invalid_query", (bad, r)
    assert server.admin("GET", "/v1/fleet/devices?release=99").status == 404


def test_device_view_campaigns_and_current_offer(server, fw):
    rel, toks = seed(server, fw)
    c = server.campaign(rel["id"], filt={"tags": ["eu"]},
                        stages=[{"percent": 100, "max_failure_ratio": 1}])
    v = fleet(server, "devices/dev-0")
    assert v["device"]["id"] == "dev-0" and v["campaigns"] == []
    assert v["offer"]["campaign_id"] == c["id"] and v["offer"]["offered"] is True
    assert v["offer"]["version"] == "2.0.0+0"
    assert server.checkin("dev-0", toks["dev-0"], {"current_version": "1.0.0"}).json()[
        "action"] == "update"
    assert server.report("dev-0", toks["dev-0"], c["id"], "rolled-back").status == 201
    v = fleet(server, "devices/dev-0")
    assert [(x["campaign_id"], x["state"], x["campaign_state"]) for x in v["campaigns"]] == \
        [(c["id"], "rolled-back", "active")]
    assert v["offer"]["offered"] is False and v["offer"]["reason"] == "finished"
    assert fleet(server, "devices/dev-2")["offer"] is None  # "us": not in the filter
    assert server.admin("GET", "/v1/fleet/devices/nope").status == 404


def test_campaign_timeline_failure_ratio(server, fw):
    rel, toks = seed(server, fw)
    c = server.campaign(rel["id"], stages=[{"percent": 100, "max_failure_ratio": 1}])
    for d in ("dev-0", "dev-1", "dev-2"):
        assert server.checkin(d, toks[d], {"current_version": "1.0.0"}).json()["action"] \
            == "update"
    assert server.report("dev-0", toks["dev-0"], c["id"], "success").status == 201
    server.advance(3600)
    assert server.report("dev-1", toks["dev-1"], c["id"], "failure").status == 201
    assert server.report("dev-2", toks["dev-2"], c["id"], "installing").status == 201
    server.advance(3600)
    t = fleet(server, f"campaigns/{c['id']}/timeline?points=24")
    assert t["campaign_id"] == c["id"] and 2 <= len(t["points"]) <= 24
    assert t["bucket_seconds"] * len(t["points"]) >= 7200
    first, last = t["points"][0], t["points"][-1]
    assert (first["finished"], first["failed"], first["failure_ratio"]) == (1, 0, 0)
    assert (last["finished"], last["failed"], last["failure_ratio"]) == (2, 1, 0.5)
    assert last["by_stage"] == [{"finished": 2, "failed": 1}]
    ratios = [p["failure_ratio"] for p in t["points"]]
    assert ratios == sorted(ratios)  # one failure, after the success
    assert server.admin("GET", "/v1/fleet/campaigns/99/timeline").status == 404
    assert server.admin("GET", "/v1/fleet/campaigns/x/timeline").status == 404


def test_fleet_views_need_a_user_and_are_read_only(server):
    assert server.request("GET", "/v1/fleet/summary").status == 401
    dev = server.add_device("d-1")
    assert server.request("GET", "/v1/fleet/summary", token=dev).status == 403
    viewer = server.admin("POST", "/v1/tokens", {"name": "v", "role": "viewer"}).json()["token"]
    for path in ("summary", "devices", "devices/d-1"):
        r = server.request("GET", "/v1/fleet/" + path, token=viewer)
        assert r.status == 200, (path, r)
    r = server.admin("POST", "/v1/fleet/summary", {})
    assert r.status == 405 and "GET" in r.headers["Allow"]


def test_console_files_security_headers_and_etag(server):
    r = server.request("GET", "/")
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/html"), r
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert b"<script" in r.body and b"/console/app.js" in r.body
    # No inline script: every <script> has a src.
    for tag in re.findall(rb"<script[^>]*>", r.body):
        assert b"src=" in tag, tag
    etag = r.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    r2 = server.request("GET", "/", headers={"If-None-Match": etag})
    assert r2.status == 304 and r2.body == b"" and r2.headers["ETag"] == etag
    js = server.request("GET", "/console/app.js")
    assert js.status == 200 and js.headers["Content-Type"].startswith("text/javascript")
    assert js.headers["ETag"] != etag
    css = server.request("GET", "/console/style.css")
    assert css.status == 200 and css.headers["Content-Type"].startswith("text/css")
    assert server.request("GET", "/console/nope.js").status == 404
    assert server.request("POST", "/", b"x", token=server.admin_token).status == 405


def test_fleet_views_on_postgres(nodes, fw):  # noqa: F811
    """The same views, the same answers, with the PostgreSQL store (the SQL
    is shared: store_sql.h)."""
    n = nodes("pg").start()
    assert any("PostgreSQL" in line for line in n.stdout_lines), n.stdout_lines
    test_summary_counts_match_the_devices(n, fw)
    for d in [f"dev-{i}" for i in range(6)] + ["other-0"]:
        assert n.admin("DELETE", f"/v1/devices/{d}").status == 204
    for r in n.admin("GET", "/v1/campaigns").json()["campaigns"]:
        assert n.admin("POST", f"/v1/campaigns/{r['id']}/abort").status == 200
    test_device_list_filters_pages_and_totals(n, fw)
    for d in [f"dev-{i}" for i in range(6)] + ["other-0"]:
        assert n.admin("DELETE", f"/v1/devices/{d}").status == 204
    test_device_view_campaigns_and_current_offer(n, fw)
    for d in [f"dev-{i}" for i in range(6)] + ["other-0"]:
        assert n.admin("DELETE", f"/v1/devices/{d}").status == 204
    for r in n.admin("GET", "/v1/campaigns").json()["campaigns"]:
        n.admin("POST", f"/v1/campaigns/{r['id']}/abort")
    test_campaign_timeline_failure_ratio(n, fw)
