# SPDX-License-Identifier: Apache-2.0
"""Authorization, device isolation and malformed input: every refusal is a
clear 4xx JSON error and changes nothing."""
import http.client
import socket

from conftest import offer_manifest


def test_no_token_401_everywhere(server):
    routes = [("GET", "/v1/releases"), ("POST", "/v1/releases"), ("GET", "/v1/releases/1"),
              ("DELETE", "/v1/releases/1"), ("GET", "/v1/devices"), ("POST", "/v1/devices"),
              ("GET", "/v1/devices/x"), ("PATCH", "/v1/devices/x"),
              ("POST", "/v1/devices/x/token"), ("GET", "/v1/campaigns"),
              ("POST", "/v1/campaigns"), ("GET", "/v1/campaigns/1"),
              ("POST", "/v1/campaigns/1/pause"), ("GET", "/v1/campaigns/1/devices"),
              ("POST", "/v1/enrollment-tokens"),
              ("GET", "/metrics"), ("POST", "/v1/admin/clock"), ("GET", "/v1/server-key"),
              ("POST", "/v1/devices/x/checkin"), ("POST", "/v1/devices/x/reports"),
              ("GET", "/v1/devices/x/reports"), ("GET", "/v1/artifacts/" + "0" * 64)]
    for method, path in routes:
        for tok in (None, "wrong", "otaa_" + "0" * 64):
            body = {} if method in ("POST", "PATCH") else None
            r = server.request(method, path, body, token=tok)
            assert r.status == 401, (method, path, tok, r)
            assert r.json()["error"]["code"] == "unauthorized"
            assert r.headers["WWW-Authenticate"].startswith("Bearer")
    # Health needs nothing.
    assert server.request("GET", "/healthz").json() == {"status": "ok"}


def test_device_isolation(server, fw):
    rel = server.upload(fw.image("2.0.0")).json()
    ta = server.add_device("alice")
    tb = server.add_device("bob")
    cid = server.campaign(rel["id"])["id"]
    offer_manifest(server.checkin("bob", tb))
    # Alice's token cannot check in, report or read as Bob.
    assert server.checkin("bob", ta).status == 403
    assert server.report("bob", ta, cid, "failure").status == 403
    assert server.request("GET", "/v1/devices/bob/reports", token=ta).status == 403
    assert server.request("GET", "/v1/devices/bob", token=ta).status == 403
    # Nor use admin routes.
    for method, path in (("GET", "/v1/devices"), ("GET", "/v1/releases"),
                         ("POST", "/v1/campaigns/1/abort"), ("GET", "/metrics"),
                         ("PATCH", "/v1/devices/alice")):
        r = server.request(method, path, {} if method != "GET" else None, token=ta)
        assert r.status == 403, (method, path, r)
    # Bob's records are untouched.
    st = server.status(cid)
    assert st["counts"]["failure"] == 0 and st["counts"]["offered"] == 1
    assert server.admin("GET", "/v1/devices/bob/reports").json()["reports"] == []
    # The admin token does not impersonate devices.
    assert server.checkin("bob", server.admin_token).status == 403
    assert server.report("bob", server.admin_token, cid, "success").status == 403
    # Unknown device id with a valid token of another device: 403, no leak.
    assert server.checkin("nobody", ta).status == 403


def test_malformed_requests(server, fw):
    tok = server.add_device("m1")
    cases = [
        ("not json", "{", 400, "invalid_json"),
        ("array", "[]", 400, "invalid_json"),
        ("dup key", '{"hw_id":"a","hw_id":"b"}', 400, "invalid_json"),
        ("unknown field", {"firmware": "x"}, 400, "unknown_field"),
        ("wrong type", {"current_version": 1}, 400, "invalid_field"),
        ("bad version", {"current_version": "1.2"}, 400, "invalid_field"),
        ("bad digest", {"current_digest": "xyz"}, 400, "invalid_field"),
        ("long string", {"slot_state": "x" * 100}, 400, "invalid_field"),
        ("format", {"manifest_format": 3}, 400, "unsupported_manifest_format"),
        ("nul", '{"slot_state":"a\\u0000b"}', 400, "invalid_json"),
    ]
    for name, body, status, code in cases:
        r = server.checkin("m1", tok, body)
        assert r.status == status, (name, r)
        assert r.json()["error"]["code"] == code, (name, r)
    r = server.request("POST", "/v1/devices/m1/checkin", "x=1", token=tok,
                       ctype="application/x-www-form-urlencoded")
    assert r.status == 415
    r = server.request("POST", "/v1/devices/m1/reports", {"state": "exploded"}, token=tok)
    assert r.status == 400 and "downloading" in r.json()["error"]["message"]
    r = server.request("POST", "/v1/devices/m1/reports", {"code": 1}, token=tok)
    assert r.status == 400 and r.json()["error"]["code"] == "missing_field"
    bad_devices = [{"id": "a/b", "hw_id": "x"}, {"id": "", "hw_id": "x"},
                   {"id": "x" * 65, "hw_id": "x"}, {"id": "ok", "hw_id": "has space"},
                   {"id": "ok", "hw_id": "x", "tags": ["bad tag"]}, {"id": "ok"},
                   {"id": "ok", "hw_id": "x", "tags": "eu"}]
    for body in bad_devices:
        r = server.admin("POST", "/v1/devices", body)
        assert r.status == 400, (body, r)
    assert server.admin("GET", "/v1/devices/ok").status == 404
    # Methods and routes.
    assert server.admin("PUT", "/v1/releases", b"x").status == 405
    assert server.admin("GET", "/v1/nothing").status == 404
    assert server.admin("GET", "/v1/releases/abc").status == 404
    assert server.admin("GET", "/v1/releases/").status == 404
    assert server.request("GET", "/v1/devices/m1/checkin", token=tok).status == 405


def test_body_limits(server_factory, fw):
    s = server_factory(["--max-body", "2048", "--max-release", "30000"]).start()
    tok = s.add_device("big")
    r = s.checkin("big", tok, '{"slot_state":"' + "x" * 3000 + '"}')
    assert r.status == 413 and r.json()["error"]["code"] == "body_too_large"
    r = s.upload(fw.image("1.0.0", payload=b"\1" * 40000))
    assert r.status == 413
    assert s.upload(fw.image("1.0.1", payload=b"\2" * 20000)).status == 201
    # Chunked upload without Content-Length beyond the limit.
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
    conn.putrequest("POST", "/v1/devices/big/checkin")
    conn.putheader("Authorization", "Bearer " + tok)
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    chunk = b'{"slot_state":"' + b"y" * 4000 + b'"}'
    conn.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(chunk), chunk))
    resp = conn.getresponse()
    assert resp.status == 413
    conn.close()
    # The server is still fine.
    assert s.checkin("big", tok).status == 200


def test_garbage_on_the_socket(server):
    for junk in (b"\x00\x01\x02garbage\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                 b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=1)
        sock.sendall(junk)
        try:
            sock.recv(4096)
        except OSError:
            pass
        sock.close()
    assert server.request("GET", "/healthz").status == 200
