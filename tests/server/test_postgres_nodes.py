# SPDX-License-Identifier: Apache-2.0
"""Two stateless ota-server nodes on one PostgreSQL database, as behind a load
balancer: a release uploaded through node 1, campaigns created through node
2, devices checking in alternately on both, a staged rollout advancing with
injected time, a bad release halting its campaign (and every node stopping
its offers at once), reports and inventory visible from both nodes, a node
killed with kill -9 and the database crashing without losing an
acknowledged report. The nodes share their data directory (keys, artifacts)
as they would share a network file system."""
import hashlib
import os
import struct
import time

import pytest

from conftest import Server, offer_manifest, stop_and_check, verify_manifest
from pgcluster import PgCluster


def bucket(campaign_id, device_id):
    """Independent model of the placement hash (docs/api.md)."""
    h = hashlib.sha256(b"ota-rollout\0" + struct.pack("<q", campaign_id) + device_id.encode())
    return struct.unpack_from("<Q", h.digest())[0] % 10000


@pytest.fixture
def cluster():
    c = PgCluster()
    try:
        yield c.start()
    finally:
        c.stop()


@pytest.fixture
def nodes(tmp_path, fw, cluster):
    url = cluster.createdb("ota")
    started = []

    def make(name, extra=()):
        s = Server(tmp_path / "shared", ["--db", url, "--trusted-key", fw.pub] + list(extra))
        s.log_path = str(tmp_path / f"{name}.log")
        started.append(s)
        return s

    yield make
    stop_and_check(started, lambda s: s.log_path)


def start_pair(nodes):
    n1 = nodes("node1").start()
    assert n1.admin_token, n1.stdout_lines
    assert any("PostgreSQL" in line for line in n1.stdout_lines), n1.stdout_lines
    n2 = nodes("node2").start()
    # The admin token lives in the shared database: node 2 does not make one.
    assert n2.admin_token is None, n2.stdout_lines
    n2.admin_token = n1.admin_token
    return n1, n2


def advance(both, seconds):
    for n in both:
        n.advance(seconds)


def round_robin(both, toks, rnd, body=None):
    """Every device checks in once, alternating nodes; returns offered set."""
    out = set()
    for i, (dev, tok) in enumerate(sorted(toks.items())):
        node = both[(i + rnd) % 2]
        r = node.checkin(dev, tok, body or {"current_version": "1.0.0"})
        assert r.status == 200, (node.log_path, r)
        if r.json()["action"] == "update":
            out.add(dev)
    return out


def test_two_nodes_staged_rollout_and_halt(nodes, fw, cluster):
    n1, n2 = start_pair(nodes)
    both = (n1, n2)
    assert n2.request("GET", "/healthz").status == 200

    # Release through node 1; node 2 sees it and serves its artifact.
    img = fw.image("2.0.0")
    rel = n1.upload(img).json()
    assert n2.admin("GET", f"/v1/releases/{rel['id']}").json()["digest"] == rel["digest"]
    # Devices registered on both nodes; a duplicate id is refused by the other.
    toks = {}
    for i in range(60):
        dev = f"dev-{i:03d}"
        toks[dev] = both[i % 2].add_device(dev)
    r = n2.admin("POST", "/v1/devices", {"id": "dev-000", "hw_id": "hub-a"})
    assert r.status == 409, r
    assert n1.admin("GET", "/v1/devices?limit=1000").json()["devices"].__len__() == 60

    # Campaign through node 2.
    stages = [
        {"percent": 10, "soak_seconds": 3600, "min_finished": 1, "max_failure_ratio": 0.5},
        {"percent": 50, "soak_seconds": 7200, "min_finished": 8, "max_failure_ratio": 0.5},
        {"percent": 100, "soak_seconds": 0, "min_finished": 0, "max_failure_ratio": 0.5},
    ]
    cid = n2.campaign(rel["id"], stages=stages)["id"]
    in10 = {d for d in toks if bucket(cid, d) < 1000}
    in50 = {d for d in toks if bucket(cid, d) < 5000}
    assert in10 and len(in50) >= 8

    # Node 1 offers right away (no waiting for a cache to expire).
    assert round_robin(both, toks, 0) == in10
    assert round_robin(both, toks, 1) == in10  # offers repeat on either node
    one = sorted(in10)[0]
    m = verify_manifest(n1, offer_manifest(n2.checkin(one, toks[one],
                                                      {"current_version": "1.0.0"})))
    assert m["campaign_id"] == cid and m["device_id"] == one
    # The artifact uploaded through node 1 downloads from node 2, resumably.
    r = n2.request("GET", f"/v1/artifacts/{rel['digest']}", token=toks[one],
                   headers={"Range": "bytes=100-"})
    assert r.status == 206 and r.body == img[100:], r
    for n in both:
        st = n.status(cid)
        assert st["stage"] == 0 and st["counts"]["offered"] == len(in10), st

    # Canaries report through alternating nodes.
    for i, d in enumerate(sorted(in10)):
        node = both[i % 2]
        assert node.report(d, toks[d], cid, "downloading").status == 201
        assert both[(i + 1) % 2].report(d, toks[d], cid, "success").status == 201
    advance(both, 3600 - 60)
    assert n1.status(cid)["stage"] == 0 and n2.status(cid)["stage"] == 0
    advance(both, 60)
    for n in both:
        st = n.status(cid)
        assert st["stage"] == 1 and st["stage_percent"] == 50, st
    assert round_robin(both, toks, 0) == in50 - in10
    # Soak over, too few finished: the gate holds on both nodes.
    advance(both, 7200)
    need = 8 - len(in10)
    for n in both:
        st = n.status(cid)
        assert st["stage"] == 1 and st["finished_needed"] == need, st
    for i, d in enumerate(sorted(in50 - in10)[:need]):
        assert both[i % 2].report(d, toks[d], cid, "success").status == 201
    for n in both:
        st = n.status(cid)
        assert st["stage"] == 2 and st["state"] == "active", st
    done = in10 | set(sorted(in50 - in10)[:need])
    assert round_robin(both, toks, 1) == set(toks) - done
    for n in both:
        st = n.status(cid)
        # The last stage has begun; it finishes when its devices have.
        assert st["rollout_complete"] is False and st["counts"]["success"] == len(done), st
        assert st["counts_by_stage"][2]["offered"] == len(toks) - len(in50), st
    for i, d in enumerate(sorted(set(toks) - done)):
        assert both[i % 2].report(d, toks[d], cid, "success").status == 201
    advance(both, 300)  # the last stage runs at least one poll interval
    for n in both:
        st = n.status(cid)
        assert st["rollout_complete"] is True and st["counts"]["success"] == len(toks), st

    # Reports and inventory are visible from both nodes.
    d = sorted(in10)[0]
    lists = [n.admin("GET", f"/v1/devices/{d}/reports").json()["reports"] for n in both]
    assert lists[0] == lists[1] and [x["state"] for x in lists[0]] == ["downloading", "success"]
    deadline = time.time() + 15
    while True:  # check-ins are written in batches (--inventory-flush 1)
        dv = [n.admin("GET", f"/v1/devices/{d}").json() for n in both]
        if all(x.get("last_seen") and x.get("current_version") == "1.0.0" for x in dv):
            break
        assert time.time() < deadline, dv
        time.sleep(0.2)
    assert dv[0] == dv[1]

    # A bad release: uploaded through node 2, its campaign halts at the first
    # stage, and from that moment neither node offers it.
    rel3 = n2.upload(fw.image("3.0.0")).json()
    bad = [{"percent": 10, "soak_seconds": 600, "min_finished": 3, "max_failure_ratio": 0.2},
           {"percent": 100, "soak_seconds": 0, "min_finished": 0, "max_failure_ratio": 0.2}]
    cid3 = n1.campaign(rel3["id"], stages=bad)["id"]
    body = {"current_version": "2.0.0"}
    canaries = sorted(d for d in toks if bucket(cid3, d) < 1000)
    assert len(canaries) >= 4, "placement gave too few canaries"
    assert round_robin(both, toks, 0, body) == set(canaries)
    assert n1.report(canaries[0], toks[canaries[0]], cid3, "failure", code=29,
                     detail="self-test failed").status == 201
    assert n2.report(canaries[1], toks[canaries[1]], cid3, "rolled-back", code=85,
                     detail="trial boot failed").status == 201
    for n in both:
        assert n.status(cid3)["state"] == "active"
    # The third finished device (on node 1) makes the sample: halted.
    assert n1.report(canaries[2], toks[canaries[2]], cid3, "success").status == 201
    # Node 2 did not evaluate it, yet stops offering immediately.
    rest = canaries[3]
    assert n2.checkin(rest, toks[rest], body).json()["action"] == "none"
    for n in both:
        st = n.status(cid3)
        assert st["state"] == "halted" and st["stage"] == 0, st
        assert st["failed"] == 2 and st["finished"] == 3, st
        assert "failure ratio 0.667" in st["halt_reason"], st
    advance(both, 100000)
    assert round_robin(both, toks, 1, body) == set()
    assert n2.status(cid3)["state"] == "halted"
    # Exactly one node logged the halt (the transition applied once).
    halts = sum(n.read_log().count(f"event=campaign_halted campaign={cid3} ") for n in both)
    assert halts == 1
    m1 = n1.admin("GET", "/metrics").body.decode()
    assert 'ota_campaigns{state="halted"} 1' in m1


def test_node_and_database_crash_keep_acknowledged_reports(nodes, fw, cluster):
    n1, n2 = start_pair(nodes)
    rel = n1.upload(fw.image("4.0.0")).json()
    tok = n1.add_device("crash-1")
    cid = n2.campaign(rel["id"])["id"]
    offer_manifest(n1.checkin("crash-1", tok, {"current_version": "1.0.0"}))
    acked = []
    for i in range(40):
        node = (n1, n2)[i % 2]
        r = node.report("crash-1", tok, cid, "downloading", code=i, detail=f"chunk {i}")
        assert r.status == 201, r
        acked.append(r.json()["report_id"])
    # kill -9 node 1: everything it acknowledged is readable through node 2.
    n1.kill9()
    got = n2.admin("GET", "/v1/devices/crash-1/reports").json()["reports"]
    assert [x["id"] for x in got] == acked
    # The database itself crashes (no shutdown checkpoint) and comes back:
    # node 2 reconnects by itself and nothing acknowledged is lost.
    cluster._run(["pg_ctl", "-D", cluster.data, "-m", "immediate", "-w", "stop"])
    r = n2.report("crash-1", tok, cid, "installing")
    assert r.status == 503, r  # not stored, and said so
    cluster.started = False
    opts = (f"-c listen_addresses=127.0.0.1 -c port={cluster.port} "
            f"-c unix_socket_directories={cluster.sock}")
    cluster._run(["pg_ctl", "-D", cluster.data, "-l", cluster.log, "-w", "-t", "30",
                  "-o", opts, "start"])
    cluster.started = True
    r = n2.report("crash-1", tok, cid, "success")
    assert r.status == 201, r
    acked.append(r.json()["report_id"])
    got = n2.admin("GET", "/v1/devices/crash-1/reports").json()["reports"]
    assert [x["id"] for x in got] == acked
    assert n2.status(cid)["counts"]["success"] == 1
    # A fresh node 1 joins again and sees the same.
    n1b = nodes("node1b").start()
    n1b.admin_token = n1.admin_token
    assert n1b.status(cid)["counts"]["success"] == 1


def test_admin_token_reset_reaches_every_node(nodes):
    n1, n2 = start_pair(nodes)
    old = n1.admin_token
    # A third node replaces the admin token (its hash is in the database).
    n3 = nodes("node3", ["--reset-admin-token"]).start()
    new = n3.admin_token
    assert new and new != old
    deadline = time.time() + 10
    while True:  # each node re-reads the hash at most once a second
        codes = [(n.request("GET", "/v1/releases", token=new).status,
                  n.request("GET", "/v1/releases", token=old).status) for n in (n1, n2)]
        if codes == [(200, 401), (200, 401)]:
            break
        assert time.time() < deadline, codes
        time.sleep(0.2)


def test_db_option_errors_are_clear(tmp_path):
    """A bad --db never falls back to SQLite silently and never prints the
    password of the connection string."""
    from conftest import SERVER_BIN, free_port
    import subprocess
    port = free_port()  # nothing listens there
    r = subprocess.run([SERVER_BIN, "--data", str(tmp_path / "d"), "--listen", "127.0.0.1:0",
                        "--db", f"postgresql://ota:s3cretpw@127.0.0.1:{port}/ota"],
                       capture_output=True, timeout=30)
    err = r.stderr.decode()
    assert r.returncode == 31, (r.returncode, err)  # OTA_EXIT_SERVER_DATABASE
    assert "cannot connect to PostgreSQL" in err and str(port) in err, err
    assert "s3cretpw" not in err + r.stdout.decode()
    assert not os.path.exists(tmp_path / "d")  # nothing created before the database opened
    r = subprocess.run([SERVER_BIN, "--data", str(tmp_path / "d"), "--db", "mysql://x"],
                       capture_output=True, timeout=30)
    assert r.returncode == 15 and b"expected postgres://" in r.stderr, r  # OTA_EXIT_CONFIG


def test_concurrent_reports_on_both_nodes_count_exactly(nodes, fw, cluster):
    """Many devices report at once through both nodes: no deadlock or lost
    update in the per-campaign counters, status identical on both nodes and
    equal to a recount of the rows, exactly one halt when the ratio is
    crossed."""
    from concurrent.futures import ThreadPoolExecutor
    n1, n2 = start_pair(nodes)
    both = (n1, n2)
    rel = n1.upload(fw.image("5.0.0")).json()
    toks = {}
    for i in range(120):
        toks[f"c-{i:03d}"] = both[i % 2].add_device(f"c-{i:03d}")
    # One stage for everyone; halts once 100 finished and > 30 % failed.
    cid = n2.campaign(rel["id"], stages=[{"percent": 100, "soak_seconds": 0,
                                          "min_finished": 100, "max_failure_ratio": 0.3}])["id"]
    devs = sorted(toks)
    fail = set(devs[:40])  # 40 of 120 fail: the ratio crosses 0.3 at the sample

    def checkin(i_dev):
        i, dev = i_dev
        r = both[i % 2].checkin(dev, toks[dev], {"current_version": "1.0.0"})
        assert r.status == 200 and r.json()["action"] == "update", r

    def device(i_dev):
        i, dev = i_dev
        a, b = both[i % 2], both[(i + 1) % 2]
        for node, state in ((b, "downloading"), (a, "installing"), (b, "installed-rebooting")):
            r = node.report(dev, toks[dev], cid, state)
            assert r.status == 201, r
        r = a.report(dev, toks[dev], cid, "failure" if dev in fail else "success", code=1)
        assert r.status == 201, r

    with ThreadPoolExecutor(16) as ex:
        list(ex.map(checkin, enumerate(devs)))
        # (40 failures of 120 exceed 0.3 by the last report whatever the order)
        list(ex.map(device, enumerate(devs)))
    sts = [n.status(cid) for n in both]
    for st in sts:
        assert st["counts"]["success"] == 80 and st["counts"]["failure"] == 40, st
        assert st["finished"] == 120 and st["in_progress"] == 0, st
        assert st["state"] == "halted", st
    assert sts[0]["counts"] == sts[1]["counts"]
    # The trigger-kept counters equal a recount of the rows.
    kept = cluster.psql("ota", f"SELECT string_agg(stage || ':' || state || '=' || n, ',' "
                               f"ORDER BY stage, state) FROM campaign_counts "
                               f"WHERE campaign_id = {cid} AND n <> 0")
    recount = cluster.psql("ota", f"SELECT string_agg(stage || ':' || state || '=' || n, ',' "
                                  f"ORDER BY stage, state) FROM (SELECT stage, state, count(*) n "
                                  f"FROM device_campaigns WHERE campaign_id = {cid} "
                                  f"GROUP BY stage, state) x")
    assert kept == recount == "0:4=80,0:5=40", (kept, recount)
    halts = sum(n.read_log().count(f"event=campaign_halted campaign={cid} ") for n in both)
    assert halts == 1
    for n in both:
        assert "deadlock" not in n.read_log()


def test_delta_cache_shared_between_nodes(nodes, fw):
    """A delta generated by node 1 is found in the shared cache by node 2
    (not generated again) and served from the shared artifact directory."""
    from test_delta import payloads
    n1, n2 = start_pair(nodes)
    p1, p2 = payloads()
    r1 = n1.upload(fw.image("1.0.0", payload=p1)).json()
    img2 = fw.image("1.1.0", payload=p2)
    r2 = n2.upload(img2).json()
    t1, t2 = n1.add_device("dl-1"), n2.add_device("dl-2")
    n1.campaign(r2["id"])
    from test_delta import offer_after_generation
    b1 = offer_after_generation(n1, "dl-1", t1, {"current_digest": r1["digest"]}).json()
    assert b1["payload"]["kind"] == "delta", b1
    b2 = n2.checkin("dl-2", t2, {"current_digest": r1["digest"]}).json()
    assert b2["payload"] == b1["payload"], (b1, b2)
    m2 = verify_manifest(n2, offer_manifest(n2.checkin("dl-2", t2,
                                                       {"current_digest": r1["digest"]})))
    assert m2["payload_digest"] == b1["payload"]["digest"] and m2["payload_size"] < len(img2) // 4
    patch = n2.request("GET", b1["payload"]["url"], token=t2)
    assert patch.status == 200 and hashlib.sha256(patch.body).hexdigest() == m2["payload_digest"]
    gen = [int(x.split()[-1]) for n in (n1, n2)
           for x in n.admin("GET", "/metrics").body.decode().splitlines()
           if x.startswith("ota_deltas_generated_total ")]
    assert gen == [1, 0], gen
