# SPDX-License-Identifier: Apache-2.0
"""Users and roles of the operator API, through HTTP on the real ota-server:
named tokens (viewer/operator/admin) created, listed and revoked; every role
against representative routes of each class; console login with the session
cookie (flags, expiry on the test clock, logout, revocation), CSRF refusal
and acceptance; the audit log; and on PostgreSQL, tokens, sessions and
revocation across two nodes."""
import hashlib
import sqlite3
import ssl

import pytest

from conftest import Server, stop_and_check
from pgcluster import PgCluster
from test_ops import make_cert

IDLE = 30 * 60       # SESSION_IDLE_SECONDS (docs/api.md)
MAX = 12 * 3600      # SESSION_MAX_SECONDS


def make_token(server, name, role, token=None):
    r = server.request("POST", "/v1/tokens", {"name": name, "role": role},
                       token=token or server.admin_token)
    assert r.status == 201, r
    body = r.json()
    assert body["token"].startswith("otau_") and body["role"] == role, body
    return body


def tokens_by_role(server):
    return {role: make_token(server, f"{role}-1", role)["token"]
            for role in ("viewer", "operator", "admin")}


def set_cookie(resp):
    """The ota_session Set-Cookie header of a response, as (value, attrs)."""
    got = [h for h in (resp.headers.get_all("Set-Cookie") or []) if h.startswith("ota_session=")]
    assert len(got) == 1, resp.headers
    parts = [p.strip() for p in got[0].split(";")]
    value = parts[0].split("=", 1)[1]
    attrs = {}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        attrs[k.lower()] = v
    return value, attrs


def login(server, token):
    r = server.request("POST", "/v1/session", {"token": token})
    assert r.status == 200, r
    cookie, attrs = set_cookie(r)
    return cookie, r.json(), attrs


def with_cookie(server, method, path, cookie, body=None, csrf=None):
    h = {"Cookie": f"ota_session={cookie}"}
    if csrf is not None:
        h["X-CSRF-Token"] = csrf
    return server.request(method, path, body, headers=h)


def error_code(resp):
    return resp.json()["error"]["code"]


# ---- role matrix --------------------------------------------------------------

class Fixture:
    """Resources the matrix requests act on, fresh for every attempt."""

    def __init__(self, server, fw):
        self.s = server
        self.fw = fw
        self.n = 0
        self.rel = server.upload(fw.image("1.0.0")).json()
        server.add_device("base-dev")

    def uid(self):
        self.n += 1
        return self.n

    def device(self):
        d = f"m-{self.uid()}"
        self.s.add_device(d)
        return d

    def campaign(self):
        return self.s.campaign(self.rel["id"], name=f"c{self.uid()}")["id"]

    def release(self):
        return self.s.upload(self.fw.image(f"3.0.{self.uid()}")).json()["id"]


# (label, minimum role, request maker: fixture -> (method, path, body))
ROUTES = [
    ("list releases", "viewer", lambda f: ("GET", "/v1/releases", None)),
    ("list devices", "viewer", lambda f: ("GET", "/v1/devices", None)),
    ("device reports", "viewer", lambda f: ("GET", "/v1/devices/base-dev/reports", None)),
    ("list campaigns", "viewer", lambda f: ("GET", "/v1/campaigns", None)),
    ("campaign status", "viewer", lambda f: ("GET", f"/v1/campaigns/{f.campaign()}", None)),
    ("enrollment tokens", "viewer", lambda f: ("GET", "/v1/enrollment-tokens", None)),
    ("metrics", "viewer", lambda f: ("GET", "/metrics", None)),
    ("audit", "viewer", lambda f: ("GET", "/v1/audit", None)),
    ("server key", "viewer", lambda f: ("GET", "/v1/server-key", None)),
    ("upload release", "operator",
     lambda f: ("POST", "/v1/releases", f.fw.image(f"2.0.{f.uid()}"))),
    ("delete release", "operator", lambda f: ("DELETE", f"/v1/releases/{f.release()}", None)),
    ("create campaign", "operator",
     lambda f: ("POST", "/v1/campaigns", {"release_id": f.rel["id"], "name": f"n{f.uid()}"})),
    ("pause campaign", "operator",
     lambda f: ("POST", f"/v1/campaigns/{f.campaign()}/pause", None)),
    ("abort campaign", "operator",
     lambda f: ("POST", f"/v1/campaigns/{f.campaign()}/abort", None)),
    ("list tokens", "admin", lambda f: ("GET", "/v1/tokens", None)),
    ("create token", "admin",
     lambda f: ("POST", "/v1/tokens", {"name": f"t{f.uid()}", "role": "viewer"})),
    ("create device", "admin",
     lambda f: ("POST", "/v1/devices", {"id": f"new-{f.uid()}", "hw_id": "hub-a"})),
    ("delete device", "admin", lambda f: ("DELETE", f"/v1/devices/{f.device()}", None)),
    ("reset device token", "admin",
     lambda f: ("POST", f"/v1/devices/{f.device()}/token", None)),
    ("tag device", "admin", lambda f: ("PATCH", f"/v1/devices/{f.device()}", {"tags": ["x"]})),
    ("create enrollment token", "admin", lambda f: ("POST", "/v1/enrollment-tokens", {})),
    ("gateway token", "admin", lambda f: ("POST", "/v1/ddi/gateway-token", None)),
    ("test clock", "admin", lambda f: ("POST", "/v1/admin/clock", {"advance_seconds": 1})),
]
RANK = {"viewer": 1, "operator": 2, "admin": 3}


def test_role_matrix(server, fw):
    toks = tokens_by_role(server)
    toks["first admin"] = server.admin_token
    f = Fixture(server, fw)
    dev_tok = server.add_device("dev-x")
    failures = []
    for label, need, make in ROUTES:
        for who, tok in toks.items():
            method, path, body = make(f)
            r = server.request(method, path, body, token=tok)
            rank = 3 if who == "first admin" else RANK[who]
            if rank >= RANK[need]:
                if r.status in (401, 403) or r.status >= 500:
                    failures.append((label, who, r))
            elif r.status != 403 or error_code(r) != "forbidden" or \
                    f"needs role {need}" not in r.json()["error"]["message"]:
                failures.append((label, who, r))
        # Nobody, and a device, get nothing of it.
        method, path, body = make(f)
        r = server.request(method, path, body)
        if r.status != 401:
            failures.append((label, "no token", r))
        r = server.request(method, path, body, token=dev_tok)
        if r.status not in (401, 403) or (r.status == 403 and error_code(r) != "forbidden"):
            failures.append((label, "device", r))
    assert not failures, failures


def test_viewer_changes_nothing(server, fw):
    """A refused change leaves no trace but its audit entry."""
    toks = tokens_by_role(server)
    rel = server.upload(fw.image("1.0.0")).json()
    cid = server.campaign(rel["id"])["id"]
    v = toks["viewer"]
    assert server.request("POST", f"/v1/campaigns/{cid}/abort", token=v).status == 403
    assert server.status(cid)["state"] == "active"
    assert server.request("POST", "/v1/releases", fw.image("2.0.0"), token=v).status == 403
    assert len(server.admin("GET", "/v1/releases").json()["releases"]) == 1
    assert server.request("DELETE", f"/v1/releases/{rel['id']}", token=v).status == 403
    assert server.request("POST", "/v1/devices", {"id": "d", "hw_id": "hub-a"},
                          token=toks["operator"]).status == 403
    assert server.admin("GET", "/v1/devices").json()["devices"] == []


# ---- tokens ---------------------------------------------------------------------

def test_tokens_create_list_revoke(server):
    a = make_token(server, "alice", "operator")
    assert a["created_by"] == "admin" and a["name"] == "alice" and a["id"] > 0
    assert isinstance(a["created_at"], int)
    # An admin token made by a named admin says who made it.
    boss = make_token(server, "boss", "admin")
    b = make_token(server, "bob", "viewer", token=boss["token"])
    assert b["created_by"] == "boss"
    listed = server.admin("GET", "/v1/tokens").json()["tokens"]
    assert [t["name"] for t in listed] == ["alice", "boss", "bob"]
    assert all("token" not in t for t in listed), listed
    assert listed[0] == {k: a[k] for k in ("id", "name", "role", "created_at", "created_by",
                                           "last_used_at")}
    # Last used: never for alice and bob; boss made bob.
    assert [t["last_used_at"] for t in listed][::2] == [None, None]
    assert abs(listed[1]["last_used_at"] - a["created_at"]) < 60, listed
    # Refusals: name taken, the reserved name, bad role, bad name, extra field.
    for body, status, code in [
        ({"name": "alice", "role": "viewer"}, 409, "conflict"),
        ({"name": "admin", "role": "viewer"}, 409, "conflict"),
        ({"name": "carol", "role": "root"}, 400, "invalid_field"),
        ({"name": "ca rol", "role": "viewer"}, 400, "invalid_field"),
        ({"name": "device:x", "role": "viewer"}, 400, "invalid_field"),
        ({"name": "carol"}, 400, None),
        ({"name": "carol", "role": "viewer", "token": "mine"}, 400, None),
    ]:
        r = server.admin("POST", "/v1/tokens", body)
        assert r.status == status, (body, r)
        if code:
            assert error_code(r) == code, (body, r)
    # Hashed at rest: the database holds SHA-256(token), never the token.
    db = sqlite3.connect(f"{server.data_dir}/ota.db")
    rows = dict(db.execute("SELECT name, token_hash FROM api_tokens"))
    dump = "\n".join(db.iterdump())
    db.close()
    assert rows["alice"] == hashlib.sha256(a["token"].encode()).digest()
    assert a["token"] not in dump and a["token"][5:] not in dump
    # Revocation holds at once.
    server.advance(3600)
    assert server.request("GET", "/v1/releases", token=a["token"]).status == 200
    used = server.admin("GET", "/v1/tokens").json()["tokens"][0]["last_used_at"]
    assert used >= a["created_at"] + 3600, used
    assert server.admin("DELETE", f"/v1/tokens/{a['id']}").status == 204
    r = server.request("GET", "/v1/releases", token=a["token"])
    assert r.status == 401, r
    assert server.admin("DELETE", f"/v1/tokens/{a['id']}").status == 404
    assert server.admin("DELETE", "/v1/tokens/abc").status == 404
    assert server.admin("GET", f"/v1/tokens/{b['id']}").status == 405
    assert [t["name"] for t in server.admin("GET", "/v1/tokens").json()["tokens"]] == \
        ["boss", "bob"]
    # The name is free again; the first-start admin token is no named token.
    make_token(server, "alice", "viewer")
    assert server.request("GET", "/v1/releases", token=server.admin_token).status == 200


def test_first_admin_token_reset_keeps_named_tokens(server_factory):
    s = server_factory().start()
    t = make_token(s, "ops", "operator")["token"]
    cookie, _, _ = login(s, s.admin_token)
    old = s.admin_token
    s.stop()
    s2 = server_factory(["--reset-admin-token"]).start()
    assert s2.admin_token and s2.admin_token != old
    assert s2.request("GET", "/v1/releases", token=old).status == 401
    # The old admin token's sessions end with it; named tokens stay.
    assert with_cookie(s2, "GET", "/v1/session", cookie).status == 401
    assert s2.request("GET", "/v1/releases", token=t).status == 200


# ---- console sessions -------------------------------------------------------------

def test_session_login_cookie_and_logout(server, fw):
    toks = tokens_by_role(server)
    cookie, info, attrs = login(server, toks["operator"])
    assert info["name"] == "operator-1" and info["role"] == "operator"
    assert len(info["csrf"]) == 64 and info["expires_at"] > 0
    assert attrs.get("path") == "/" and "httponly" in attrs
    assert attrs.get("samesite") == "Strict" and "secure" not in attrs
    assert cookie.startswith("otas_") and cookie != toks["operator"]
    # The session describes itself; its cookie works where the token does.
    r = with_cookie(server, "GET", "/v1/session", cookie)
    assert r.status == 200 and r.json() == info, r
    assert with_cookie(server, "GET", "/v1/releases", cookie).status == 200
    # ... and no further: an operator session cannot create tokens.
    r = with_cookie(server, "POST", "/v1/tokens", cookie, {"name": "x", "role": "viewer"},
                    csrf=info["csrf"])
    assert r.status == 403 and error_code(r) == "forbidden", r
    # Stored hashed: neither the cookie nor its CSRF token is in the database.
    db = sqlite3.connect(f"{server.data_dir}/ota.db")
    dump = "\n".join(db.iterdump())
    db.close()
    assert cookie[5:] not in dump and info["csrf"] not in dump
    # Bad logins.
    assert server.request("POST", "/v1/session", {"token": "otau_" + "0" * 64}).status == 401
    dev = server.add_device("d1")
    r = server.request("POST", "/v1/session", {"token": dev})
    assert r.status == 401 and "Set-Cookie" not in r.headers, r
    assert server.request("POST", "/v1/session", {"tok": "x"}).status == 400
    # Login CSRF: only a JSON login (which other sites cannot send without
    # a CORS preflight) is taken.
    raw = ('{"token": "%s"}' % toks["viewer"]).encode()
    for ctype in ("text/plain", "application/x-www-form-urlencoded"):
        r = server.request("POST", "/v1/session", raw, ctype=ctype)
        assert r.status == 415 and "Set-Cookie" not in r.headers, r
    r = server.request("POST", "/v1/session", raw, headers={"Content-Type": ""})
    assert r.status == 415, r
    assert server.request("GET", "/v1/session").status == 401
    assert with_cookie(server, "GET", "/v1/session", "otas_" + "1" * 64).status == 401
    # Logout needs the CSRF token, then ends the session and clears the cookie.
    r = with_cookie(server, "DELETE", "/v1/session", cookie)
    assert r.status == 403 and error_code(r) == "csrf", r
    r = with_cookie(server, "DELETE", "/v1/session", cookie, csrf=info["csrf"])
    assert r.status == 204, r
    value, attrs = set_cookie(r)
    assert value == "" and attrs.get("max-age") == "0"
    assert with_cookie(server, "GET", "/v1/session", cookie).status == 401
    assert with_cookie(server, "GET", "/v1/releases", cookie).status == 401
    # The token itself still works (logout is not revocation).
    assert server.request("GET", "/v1/releases", token=toks["operator"]).status == 200


def test_session_fixation_new_id_at_every_login(server):
    toks = tokens_by_role(server)
    planted = "otas_" + "ab" * 32
    r = server.request("POST", "/v1/session", {"token": toks["viewer"]},
                       headers={"Cookie": f"ota_session={planted}"})
    assert r.status == 200
    fresh, _ = set_cookie(r)
    assert fresh != planted
    assert with_cookie(server, "GET", "/v1/session", planted).status == 401
    # Logging in again replaces the previous session.
    c2, _, _ = login(server, toks["viewer"])
    r = server.request("POST", "/v1/session", {"token": toks["admin"]},
                       headers={"Cookie": f"ota_session={c2}"})
    c3, _ = set_cookie(r)
    assert with_cookie(server, "GET", "/v1/session", c2).status == 401
    assert with_cookie(server, "GET", "/v1/session", c3).json()["role"] == "admin"
    # The other login of the same token is untouched.
    assert with_cookie(server, "GET", "/v1/session", fresh).status == 200


def test_csrf_refused_and_accepted(server, fw):
    toks = tokens_by_role(server)
    rel = server.upload(fw.image("1.0.0")).json()
    cookie, info, _ = login(server, toks["operator"])
    body = {"release_id": rel["id"], "name": "by-console"}
    flipped = info["csrf"][:-1] + ("0" if info["csrf"][-1] != "0" else "1")
    for csrf in (None, "", "0" * 64, info["csrf"][:-1], flipped, info["csrf"] + "0"):
        r = with_cookie(server, "POST", "/v1/campaigns", cookie, body, csrf=csrf)
        assert r.status == 403 and error_code(r) == "csrf", (csrf, r)
    assert server.admin("GET", "/v1/campaigns").json()["campaigns"] == []
    # Another session's CSRF token is not this one's.
    _, other, _ = login(server, toks["operator"])
    r = with_cookie(server, "POST", "/v1/campaigns", cookie, body, csrf=other["csrf"])
    assert r.status == 403 and error_code(r) == "csrf", r
    # Release uploads are refused before their body is read.
    r = with_cookie(server, "POST", "/v1/releases", cookie, fw.image("2.0.0"))
    assert r.status == 403 and error_code(r) == "csrf", r
    # The right token: accepted, for JSON and for an upload.
    r = with_cookie(server, "POST", "/v1/campaigns", cookie, body, csrf=info["csrf"])
    assert r.status == 201, r
    cid = r.json()["id"]
    r = with_cookie(server, "POST", f"/v1/campaigns/{cid}/pause", cookie, csrf=info["csrf"])
    assert r.status == 200 and r.json()["state"] == "paused", r
    r = with_cookie(server, "POST", "/v1/releases", cookie, fw.image("2.0.0"),
                    csrf=info["csrf"])
    assert r.status == 201, r
    # GET needs none; bearer requests need none.
    assert with_cookie(server, "GET", f"/v1/campaigns/{cid}", cookie).status == 200
    r = server.request("POST", f"/v1/campaigns/{cid}/resume", token=toks["operator"])
    assert r.status == 200, r


def test_session_idle_and_absolute_expiry(server):
    toks = tokens_by_role(server)
    # Idle: used every 25 minutes it lives on; 31 unused minutes end it.
    cookie, info, _ = login(server, toks["viewer"])
    for _ in range(3):
        server.advance(25 * 60)
        r = with_cookie(server, "GET", "/v1/session", cookie)
        assert r.status == 200, r
    assert r.json()["expires_at"] > info["expires_at"]
    server.advance(IDLE + 60)
    assert with_cookie(server, "GET", "/v1/releases", cookie).status == 401
    assert with_cookie(server, "GET", "/v1/session", cookie).status == 401
    # Absolute: however busy, it ends SESSION_MAX_SECONDS after login.
    cookie, info, _ = login(server, toks["viewer"])
    start = info["expires_at"] - IDLE  # the login's time
    while server.advance(0)["now"] + 20 * 60 < start + MAX:
        server.advance(20 * 60)
        assert with_cookie(server, "GET", "/v1/releases", cookie).status == 200
    r = with_cookie(server, "GET", "/v1/session", cookie)
    assert r.status == 200 and r.json()["expires_at"] == start + MAX, r
    server.advance(start + MAX - server.advance(0)["now"])
    assert with_cookie(server, "GET", "/v1/releases", cookie).status == 401


def test_revocation_ends_sessions(server):
    toks = tokens_by_role(server)
    op = make_token(server, "ops", "operator")
    cookie, info, _ = login(server, op["token"])
    other, _, _ = login(server, toks["viewer"])
    assert with_cookie(server, "GET", "/v1/devices", cookie).status == 200
    assert server.admin("DELETE", f"/v1/tokens/{op['id']}").status == 204
    assert with_cookie(server, "GET", "/v1/devices", cookie).status == 401
    assert with_cookie(server, "GET", "/v1/session", cookie).status == 401
    assert server.request("GET", "/v1/devices", token=op["token"]).status == 401
    assert with_cookie(server, "GET", "/v1/devices", other).status == 200
    db = sqlite3.connect(f"{server.data_dir}/ota.db")
    n = db.execute("SELECT count(*) FROM console_sessions").fetchone()[0]
    db.close()
    assert n == 1


def test_cookie_secure_under_tls(server_factory, tmp_path):
    cert, key = make_cert(tmp_path)
    s = server_factory(["--tls-cert", cert, "--tls-key", key], scheme="https").start()
    ctx = ssl.create_default_context(cafile=cert)
    r = s.request("POST", "/v1/session", {"token": s.admin_token}, context=ctx)
    assert r.status == 200, r
    value, attrs = set_cookie(r)
    assert "secure" in attrs and "httponly" in attrs and attrs["samesite"] == "Strict"
    r = s.request("GET", "/v1/session", headers={"Cookie": f"ota_session={value}"},
                  context=ctx)
    assert r.status == 200 and r.json()["name"] == "admin" and r.json()["role"] == "admin"


# ---- audit log ----------------------------------------------------------------------

def audit(server, **q):
    qs = "&".join(f"{k}={v}" for k, v in q.items())
    r = server.admin("GET", "/v1/audit" + (f"?{qs}" if qs else ""))
    assert r.status == 200, r
    return r.json()


def test_audit_log(server, fw):
    toks = tokens_by_role(server)       # 3 entries: POST /v1/tokens by admin
    rel = server.upload(fw.image("1.0.0")).json()   # 4
    v, op = toks["viewer"], toks["operator"]
    assert server.request("POST", "/v1/campaigns", {"release_id": rel["id"]},
                          token=v).status == 403     # 5: refused
    cid = server.request("POST", "/v1/campaigns", {"release_id": rel["id"]},
                         token=op).json()["id"]      # 6
    cookie, info, _ = login(server, op)              # 7: login
    with_cookie(server, "POST", f"/v1/campaigns/{cid}/pause", cookie)  # 8: csrf refusal
    dev = server.add_device("d1")                    # 9
    server.request("POST", "/v1/devices/d1/token", token=dev)          # 10: device refused
    server.request("POST", "/v1/tokens", {"name": "x", "role": "viewer"},
                   token="otau_" + "0" * 64)         # unknown token: not recorded
    server.checkin("d1", dev)                        # devices' own routes: not recorded
    for tok in toks.values():                        # GETs: not recorded
        server.request("GET", "/v1/releases", token=tok)
    got = audit(server)
    e = got["entries"]
    assert got["next_after"] is None
    assert [x["id"] for x in e] == sorted(x["id"] for x in e)
    rows = [(x["actor"], x["role"], x["action"], x["target"], x["status"]) for x in e]
    assert rows == [
        ("admin", "admin", "POST /v1/tokens", "/v1/tokens", 201),
        ("admin", "admin", "POST /v1/tokens", "/v1/tokens", 201),
        ("admin", "admin", "POST /v1/tokens", "/v1/tokens", 201),
        ("admin", "admin", "POST /v1/releases", "/v1/releases", 201),
        ("viewer-1", "viewer", "POST /v1/campaigns", "/v1/campaigns", 403),
        ("operator-1", "operator", "POST /v1/campaigns", "/v1/campaigns", 201),
        ("operator-1", "operator", "POST /v1/session", "/v1/session", 200),
        ("operator-1", "operator", "POST /v1/campaigns/{id}/{action}",
         f"/v1/campaigns/{cid}/pause", 403),
        ("admin", "admin", "POST /v1/devices", "/v1/devices", 201),
        ("device:d1", "none", "POST /v1/devices/{id}/token", "/v1/devices/d1/token", 403),
    ], rows
    now = server.admin("GET", "/v1/admin/clock").json()["now"]
    assert all(now - 60 <= x["at"] <= now for x in e), e
    # Paging, oldest first.
    p1 = audit(server, limit=4)
    assert [x["id"] for x in p1["entries"]] == [x["id"] for x in e[:4]]
    assert p1["next_after"] == e[3]["id"]
    p2 = audit(server, after=p1["next_after"], limit=4)
    assert [x["id"] for x in p2["entries"]] == [x["id"] for x in e[4:8]]
    p3 = audit(server, after=p2["next_after"], limit=4)
    assert [x["id"] for x in p3["entries"]] == [x["id"] for x in e[8:]]
    assert p3["next_after"] is None
    # Newest first.
    rev = [x["id"] for x in reversed(e)]
    n1 = audit(server, order="newest", limit=4)
    assert [x["id"] for x in n1["entries"]] == rev[:4] and n1["next_before"] == rev[3]
    n2 = audit(server, order="newest", before=n1["next_before"], limit=4)
    assert [x["id"] for x in n2["entries"]] == rev[4:8]
    n3 = audit(server, order="newest", before=n2["next_before"], limit=4)
    assert [x["id"] for x in n3["entries"]] == rev[8:] and n3["next_before"] is None
    assert n3["entries"][-1] == e[0]
    for bad in ("limit=0", "limit=1001", "after=-1", "after=x", "order=sideways",
                "order=newest&after=3", "before=3", "order=newest&before=0"):
        assert server.admin("GET", f"/v1/audit?{bad}").status == 400, bad
    # Viewers read it; nobody else does.
    assert server.request("GET", "/v1/audit", token=v).status == 200
    assert server.request("GET", "/v1/audit").status == 401
    assert server.request("GET", "/v1/audit", token=dev).status == 403


# ---- PostgreSQL: two nodes ------------------------------------------------------------

@pytest.fixture
def pg_pair(tmp_path, fw):
    cluster = PgCluster().start()
    started = []
    try:
        url = cluster.createdb("ota")
        for name in ("node1", "node2"):
            s = Server(tmp_path / "shared", ["--db", url, "--trusted-key", fw.pub])
            s.log_path = str(tmp_path / f"{name}.log")
            started.append(s)
            s.start()
        started[1].admin_token = started[0].admin_token
        yield started
        stop_and_check(started, lambda s: s.log_path)
    finally:
        for s in started:
            if s.proc:
                s.stop()
        cluster.stop()


def test_postgres_tokens_sessions_and_revocation_across_nodes(pg_pair):
    n1, n2 = pg_pair
    op = make_token(n1, "ops", "operator")
    vw = make_token(n2, "watch", "viewer")
    # Either node knows both tokens and their roles.
    for n in (n1, n2):
        assert n.request("GET", "/v1/campaigns", token=op["token"]).status == 200
        r = n.request("POST", "/v1/devices", {"id": "x", "hw_id": "h"}, token=op["token"])
        assert r.status == 403 and error_code(r) == "forbidden", r
        assert [t["name"] for t in n.admin("GET", "/v1/tokens").json()["tokens"]] == \
            ["ops", "watch"]
    # A session made on node 2 works on node 1.
    cookie, info, _ = login(n2, op["token"])
    r = with_cookie(n1, "GET", "/v1/session", cookie)
    assert r.status == 200 and r.json()["csrf"] == info["csrf"], r
    r = with_cookie(n1, "POST", "/v1/enrollment-tokens", cookie, {}, csrf=info["csrf"])
    assert r.status == 403 and error_code(r) == "forbidden", r
    # Revoked through node 2: refused on node 1 at once, token and session.
    assert n2.admin("DELETE", f"/v1/tokens/{op['id']}").status == 204
    assert n1.request("GET", "/v1/campaigns", token=op["token"]).status == 401
    assert with_cookie(n1, "GET", "/v1/campaigns", cookie).status == 401
    assert n1.request("GET", "/v1/campaigns", token=vw["token"]).status == 200
    # One audit log for both nodes.
    rows = [(x["actor"], x["action"], x["status"])
            for x in n1.admin("GET", "/v1/audit").json()["entries"]]
    assert rows == [
        ("admin", "POST /v1/tokens", 201),
        ("admin", "POST /v1/tokens", 201),
        ("ops", "POST /v1/devices", 403),
        ("ops", "POST /v1/devices", 403),
        ("ops", "POST /v1/session", 200),
        ("ops", "POST /v1/enrollment-tokens", 403),
        ("admin", "DELETE /v1/tokens", 204),
    ], rows
