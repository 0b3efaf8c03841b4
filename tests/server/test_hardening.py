# SPDX-License-Identifier: Apache-2.0
"""Regression tests for the server defects of the security review (issue 10)
and the server items of issue 9: each one failed on the server before its
fix. Storage-level halves run on both backends in test_store.c."""
import http.client
import json
import os
import re
import socket
import time

from conftest import offer_manifest


def proc_kib(pid, field):
    """VmRSS (now) or VmHWM (peak) of a process, in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def raw(server, data, src="127.0.0.1", timeout=10):
    """Send bytes on a fresh connection, return everything answered."""
    c = socket.create_connection(("127.0.0.1", server.port), timeout=timeout,
                                 source_address=(src, 0))
    c.sendall(data)
    out = b""
    try:
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            out += chunk
    except ConnectionResetError:
        pass
    c.close()
    return out


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
    assert server.status(cid)["rollout_complete"] is False  # within a poll interval
    server.advance(300)
    st = server.status(cid)
    assert st["rollout_complete"] is True, st
    log = server.read_log()
    assert len(re.findall(r"campaign_complete", log)) == 1, log
    assert json.loads(server.admin("GET", f"/v1/campaigns/{cid}").body)["state"] == "active"


def test_unauthenticated_upload_refused_before_body(server):
    """401 from the headers alone; bodies pushed anyway do not grow the server
    (16 token-less 64 MiB uploads took it from 91 MiB to 1.1 GiB before)."""
    pid = server.proc.pid
    base = proc_kib(pid, "VmRSS")
    socks = []
    for _ in range(16):
        c = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        c.sendall(b"POST /v1/releases HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/octet-stream\r\n"
                  b"Content-Length: %d\r\n\r\n" % (64 * 1024 * 1024 - 1))
        socks.append(c)
    for c in socks:  # answered before a single body byte was sent
        head = c.recv(4096)
        assert head.startswith(b"HTTP/1.1 401"), head
    chunk = b"\0" * (1 << 20)
    for c in socks:
        try:
            for _ in range(8):
                c.sendall(chunk)
        except OSError:
            pass  # closed by the server: fine
    grown = proc_kib(pid, "VmRSS") - base
    for c in socks:
        c.close()
    assert grown < 32 * 1024, f"RSS grew by {grown} KiB"
    # A device token does not open uploads either: 403 before the body.
    tok = server.add_device("up-1")
    out = raw(server, b"POST /v1/releases HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                      b"Authorization: Bearer " + tok.encode() +
                      b"\r\nContent-Length: 50000000\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 403"), out


def test_release_upload_streams_to_disk(server, fw):
    """An authorised upload is written to a temporary file, not held in RAM:
    the server's peak RSS grows far less than the image."""
    img = fw.image("5.0.0", payload=os.urandom(24 << 20))
    pid = server.proc.pid
    server.admin("GET", "/v1/releases")
    peak0 = proc_kib(pid, "VmHWM")
    r = server.upload(img)
    assert r.status == 201, r
    grown = proc_kib(pid, "VmHWM") - peak0
    assert grown < 12 * 1024, f"peak RSS grew by {grown} KiB for a {len(img) >> 10} KiB image"
    got = server.admin("GET", r.json()["url"])
    assert got.status == 200 and got.body == img
    art = os.path.join(server.data_dir, "artifacts")
    assert not [f for f in os.listdir(art) if f.startswith(".upload-")]
    # A refused image leaves nothing behind either.
    bad = bytearray(img)
    bad[-1] ^= 1
    assert server.upload(bytes(bad)).status == 422
    assert not [f for f in os.listdir(art) if f.startswith(".upload-")]
    assert sorted(os.listdir(art)) == [r.json()["digest"]]


def test_slowloris_per_address_limit_and_header_deadline(server_factory):
    """Connections trickling header lines: one address holds at most its
    quota, /healthz answers others meanwhile, and the header deadline closes
    the trickling connections."""
    s = server_factory(["--header-timeout", "2", "--per-ip-connections", "16"]).start()
    attackers = []
    for _ in range(100):
        c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        attackers.append(c)
        try:
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        except OSError:
            pass

    def still_open(conns):
        alive = []
        for c in conns:
            try:
                c.sendall(b"X-Slow: 1\r\n")
                c.settimeout(0.05)
                if c.recv(1) == b"":
                    continue
            except socket.timeout:
                alive.append(c)
            except OSError:
                continue
        return alive

    alive = still_open(attackers)
    assert len(alive) <= 16, f"{len(alive)} trickling connections held from one address"
    for _ in range(3):  # health keeps answering another client during the attack
        assert raw(s, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                   src="127.0.0.2").startswith(b"HTTP/1.1 200")
        alive = still_open(alive)
    deadline = time.time() + 30
    while alive and time.time() < deadline:
        time.sleep(0.5)
        alive = still_open(alive)
    assert not alive, f"{len(alive)} connections still trickling headers after the deadline"
    for c in attackers:
        c.close()
    # The server counts a closed connection against the address until its
    # thread has seen the close; poll (bounded) instead of racing it.
    ok = b""
    for _ in range(40):
        try:
            ok = raw(s, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        except OSError:
            ok = b""
        if ok.startswith(b"HTTP/1.1 200"):
            break
        time.sleep(0.25)
    assert ok.startswith(b"HTTP/1.1 200"), ok
    assert "connections_timed_out" in s.read_log()


def test_request_smuggling_and_nul_paths(server, fw):
    tok = server.add_device("sm-1")
    body = b'{"hw_id":"hub-a"}'
    out = raw(server, b"POST /v1/devices/sm-1/checkin HTTP/1.1\r\nHost: x\r\n"
                      b"Connection: close\r\nContent-Type: application/json\r\n"
                      b"Authorization: Bearer " + tok.encode() + b"\r\n"
                      b"Content-Length: %d\r\nContent-Length: 0\r\n\r\n" % len(body) + body)
    assert out.startswith(b"HTTP/1.1 400"), out
    rel = server.upload(fw.image("2.0.0")).json()
    for path in ("/v1/artifacts/" + rel["digest"] + "%00.txt",
                 "/v1/releases/" + str(rel["id"]) + "%00",
                 "/v1/devices/sm-1%00x"):
        r = server.admin("GET", path)
        assert r.status == 400 and r.json()["error"]["code"] == "bad_path", (path, r)


def test_ranges_follow_rfc9110(server, fw):
    img = fw.image("2.0.0")
    rel = server.upload(img).json()
    url, n = rel["url"], len(img)

    def get(rng):
        return server.admin("GET", url, headers={"Range": rng})
    r = get("bytes=5-4")  # invalid: ignored, the whole file
    assert r.status == 200 and r.body == img, r
    r = get("bytes=10-%d" % (n + 1000))  # end past the file: clamped
    assert r.status == 206 and r.body == img[10:], r
    assert r.headers["Content-Range"] == "bytes 10-%d/%d" % (n - 1, n)
    r = get("bytes=%d-" % n)  # unsatisfiable
    assert r.status == 416 and r.headers["Content-Range"] == "bytes */%d" % n, r
    r = get("bytes=-0")
    assert r.status == 416 and r.headers["Content-Range"] == "bytes */%d" % n, r
    for odd in ("items=0-1", "bytes=a-b", "bytes=1-2-3"):
        r = get(odd)
        assert r.status == 200 and r.body == img, (odd, r)
    r = get("bytes=-10")
    assert r.status == 206 and r.body == img[-10:]


def test_exact_content_types_and_lowercase_digests(server, fw):
    tok = server.add_device("ct-1")
    for ct in ("application/jsonx", "application/json-patch+json", "text/plain"):
        r = server.request("POST", "/v1/devices/ct-1/checkin", "{}", token=tok, ctype=ct)
        assert r.status == 415, (ct, r)
    for ct in ("application/json", "application/json; charset=utf-8", "Application/JSON"):
        r = server.request("POST", "/v1/devices/ct-1/checkin", "{}", token=tok, ctype=ct)
        assert r.status == 200, (ct, r)
    img = fw.image("2.0.0")
    r = server.request("POST", "/v1/releases", img, token=server.admin_token,
                       ctype="application/octet-streamx")
    assert r.status == 415, r
    rel = server.upload(img).json()
    r = server.checkin("ct-1", tok, {"current_digest": rel["digest"].upper()})
    assert r.status == 400 and "lowercase" in r.json()["error"]["message"], r
    assert server.checkin("ct-1", tok, {"current_digest": rel["digest"]}).status == 200
    assert server.admin("GET", "/v1/artifacts/" + rel["digest"].upper()).status == 404


def test_delta_generated_off_the_check_in(server, fw):
    """A check-in never waits for a delta: the first is told to come back
    (delta_pending), one generation serves every device on that base, and a
    device cannot queue pair after pair."""
    import random
    rnd = random.Random(3)
    p1 = bytes(rnd.getrandbits(8) for _ in range(256 * 1024))
    p2 = bytearray(p1)
    for i in range(0, len(p2), 8192):
        p2[i] ^= 0x33
    r1 = server.upload(fw.image("1.0.0", payload=p1)).json()
    r2 = server.upload(fw.image("1.1.0", payload=bytes(p2))).json()
    toks = {d: server.add_device(d) for d in ("dq-1", "dq-2")}
    server.campaign(r2["id"])
    r = server.checkin("dq-1", toks["dq-1"], {"current_digest": r1["digest"]})
    assert r.status == 200 and r.json()["action"] == "none", r
    assert r.json()["reason"] == "delta_pending" and "Retry-After" in r.headers
    deadline = time.time() + 60
    while True:
        r = server.checkin("dq-2", toks["dq-2"], {"current_digest": r1["digest"]})
        if r.json()["action"] == "update":
            break
        assert time.time() < deadline, r
        time.sleep(0.2)
    assert r.json()["payload"]["kind"] == "delta"
    assert r.json()["payload"]["size"] < r2["size"] // 4
    assert server.checkin("dq-1", toks["dq-1"],
                          {"current_digest": r1["digest"]}).json()["payload"]["kind"] == "delta"
    m = server.admin("GET", "/metrics").body.decode().splitlines()
    assert "ota_deltas_generated_total 1" in m
    # One queued pair per device a minute: dq-1 queued one just now, so
    # another base gets the full image; dq-2 may queue one, then no more.
    r0 = server.upload(fw.image("0.9.0", payload=bytes(p1[:-4096]))).json()
    r3 = server.upload(fw.image("0.9.1", payload=bytes(p1[:-8192]))).json()
    q = server.checkin("dq-1", toks["dq-1"], {"current_digest": r0["digest"]})
    assert q.json()["action"] == "update" and q.json()["payload"]["kind"] == "full", q
    q = server.checkin("dq-2", toks["dq-2"], {"current_digest": r0["digest"]})
    assert q.json()["action"] == "none" and q.json()["reason"] == "delta_pending", q
    q = server.checkin("dq-2", toks["dq-2"], {"current_digest": r3["digest"]})
    assert q.json()["action"] == "update" and q.json()["payload"]["kind"] == "full", q
