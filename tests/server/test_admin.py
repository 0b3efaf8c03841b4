# SPDX-License-Identifier: Apache-2.0
"""Admin API of ota-server: zero-config start, releases, devices, enrollment,
campaign lifecycle (docs/api.md)."""
import hashlib
import os
import stat

from conftest import Server, SERVER_BIN


def test_zero_config_first_start_and_restart(server_factory, tmp_path):
    s = server_factory().start()
    out = "".join(s.stdout_lines)
    data = os.path.realpath(s.data_dir)
    assert f"created data directory: {data}" in out
    assert f"database: {data}/ota.db" in out
    assert "manifest-key.pem" in out and s.admin_token.startswith("otaa_")
    key = os.path.join(data, "keys", "manifest-key.pem")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    # The token itself is nowhere on disk, only its hash.
    for root, _, files in os.walk(data):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                assert s.admin_token.encode() not in fh.read()
    assert s.admin("GET", "/v1/releases").status == 200
    assert s.stop() == 0
    assert "stopped" in "".join(s.stdout_lines)
    # Restart: same token keeps working, nothing is re-created.
    token = s.admin_token
    s2 = server_factory().start()
    assert "created" not in "".join(s2.stdout_lines)
    assert s2.admin_token is None
    assert s2.request("GET", "/v1/releases", token=token).status == 200


def test_reset_admin_token(server_factory):
    s = server_factory().start()
    old = s.admin_token
    s.stop()
    s2 = server_factory(["--reset-admin-token"]).start()
    assert s2.admin_token and s2.admin_token != old
    assert s2.request("GET", "/v1/releases", token=old).status == 401
    assert s2.admin("GET", "/v1/releases").status == 200


def test_release_upload_list_get_delete(server, fw):
    img = fw.image("1.2.3+4", security_counter=7)
    r = server.upload(img, name="first")
    assert r.status == 201, r
    rel = r.json()
    assert rel["version"] == "1.2.3+4"
    assert rel["security_counter"] == 7
    assert rel["hw_id"] == "hub-a"
    assert rel["size"] == len(img)
    assert rel["digest"] == hashlib.sha256(img).hexdigest()
    assert rel["name"] == "first"
    # Stored content-addressed by digest.
    path = os.path.join(server.data_dir, "artifacts", rel["digest"])
    with open(path, "rb") as f:
        assert f.read() == img
    # Same image again: conflict naming the existing release.
    r = server.upload(img)
    assert r.status == 409 and r.json()["release"]["id"] == rel["id"]
    lst = server.admin("GET", "/v1/releases").json()["releases"]
    assert [x["id"] for x in lst] == [rel["id"]]
    assert server.admin("GET", f"/v1/releases/{rel['id']}").json() == rel
    assert server.admin("GET", "/v1/releases/999").status == 404
    # Cannot delete while a campaign targets it.
    server.campaign(rel["id"])
    assert server.admin("DELETE", f"/v1/releases/{rel['id']}").status == 409
    other = server.upload(fw.image("2.0.0")).json()
    assert server.admin("DELETE", f"/v1/releases/{other['id']}").status == 204
    assert server.admin("GET", f"/v1/releases/{other['id']}").status == 404
    assert not os.path.exists(os.path.join(server.data_dir, "artifacts", other["digest"]))


def test_release_refusals(server_factory, server, fw, tmp_path):
    img = fw.image("1.0.0")
    # Tampered payload byte: hash mismatch, named precisely.
    bad = bytearray(img)
    bad[100] ^= 1
    r = server.upload(bad)
    assert r.status == 422 and r.json()["error"]["ota_error"] == "OTA_ERR_IMAGE_HASH_MISMATCH", r
    # Signed by a key the server does not trust.
    from conftest import Firmware
    other = Firmware(tmp_path / "..")
    r = server.upload(other.image("1.0.0"))
    assert r.status == 422 and r.json()["error"]["ota_error"] == "OTA_ERR_IMAGE_UNKNOWN_KEY", r
    # Not an image at all / trailing bytes / no hardware id.
    assert server.upload(b"hello world" * 10).status == 422
    r = server.upload(img + b"\0")
    assert r.status == 422 and r.json()["error"]["ota_error"] == "OTA_ERR_IMAGE_TRAILING_DATA"
    r = server.upload(fw.image("1.0.1", hw_id=None))
    assert r.status == 422 and "hardware id" in r.json()["error"]["message"]
    assert server.admin("GET", "/v1/releases").json()["releases"] == []
    # A server without trusted keys refuses every upload, saying why.
    s2 = server_factory(trusted=False, data_name="nokeys").start()
    r = s2.upload(img)
    assert r.status == 422 and r.json()["error"]["code"] == "no_trusted_keys"


def test_devices_register_tags_inventory(server):
    tok = server.add_device("dev-1", tags=["eu", "beta", "eu"])
    assert tok.startswith("otad_")
    d = server.admin("GET", "/v1/devices/dev-1").json()
    assert d["tags"] == ["beta", "eu"] and d["hw_id"] == "hub-a" and d["last_seen"] == 0
    assert server.admin("POST", "/v1/devices", {"id": "dev-1", "hw_id": "x"}).status == 409
    r = server.admin("PATCH", "/v1/devices/dev-1", {"tags": ["us"]})
    assert r.status == 200 and r.json()["tags"] == ["us"]
    # Inventory from a check-in (flushed within about a second).
    digest = "ab" * 32
    r = server.checkin("dev-1", tok, {"hw_id": "hub-a", "current_version": "1.0.0",
                                      "current_digest": digest, "slot_state": "confirmed",
                                      "last_result": "rolled-back after trial boot"})
    assert r.status == 200 and r.json()["action"] == "none"
    import time
    for _ in range(50):
        d = server.admin("GET", "/v1/devices/dev-1").json()
        if d["last_seen"]:
            break
        time.sleep(0.1)
    assert d["current_version"] == "1.0.0" and d["current_digest"] == digest
    assert d["slot_state"] == "confirmed" and d["last_seen"] > 0
    assert d["last_result"] == "rolled-back after trial boot"
    # A long last_result is accepted and kept cut to 255 bytes on a character boundary.
    long = "é" * 200  # 400 bytes of UTF-8
    assert server.checkin("dev-1", tok, {"last_result": long}).status == 200
    for _ in range(50):
        d = server.admin("GET", "/v1/devices/dev-1").json()
        if d["last_result"].startswith("é"):
            break
        time.sleep(0.1)
    assert d["last_result"] == "é" * 127
    assert server.checkin("dev-1", tok, {"last_result": "x" * 513}).status == 400
    # The device may read its own record.
    assert server.request("GET", "/v1/devices/dev-1", token=tok).json()["id"] == "dev-1"
    # Paging.
    for i in range(5):
        server.add_device(f"p-{i}")
    page = server.admin("GET", "/v1/devices?limit=3").json()
    assert len(page["devices"]) == 3 and page["next_after"] == page["devices"][-1]["id"]
    rest = server.admin("GET", f"/v1/devices?limit=3&after={page['next_after']}").json()
    assert len(rest["devices"]) == 3 and "next_after" in rest
    # Token rotation: old token stops working.
    new = server.admin("POST", "/v1/devices/dev-1/token").json()["token"]
    assert server.checkin("dev-1", tok).status == 401
    assert server.checkin("dev-1", new).status == 200
    assert server.admin("DELETE", "/v1/devices/dev-1").status == 204
    assert server.admin("GET", "/v1/devices/dev-1").status == 404


def test_enrollment(server):
    r = server.admin("POST", "/v1/enrollment-tokens",
                     {"tags": ["factory-7"], "hw_id": "hub-a", "max_uses": 2})
    assert r.status == 201
    et = r.json()["token"]
    r = server.request("POST", "/v1/enroll",
                       {"enrollment_token": et, "device_id": "e1", "hw_id": "hub-a"})
    assert r.status == 201, r
    tok = r.json()["token"]
    assert r.json()["tags"] == ["factory-7"]
    assert server.checkin("e1", tok).status == 200
    # Same id again: conflict (does not consume a use).
    r = server.request("POST", "/v1/enroll",
                       {"enrollment_token": et, "device_id": "e1", "hw_id": "hub-a"})
    assert r.status == 409
    # Wrong hardware for this token.
    r = server.request("POST", "/v1/enroll",
                       {"enrollment_token": et, "device_id": "e2", "hw_id": "hub-b"})
    assert r.status == 403
    assert server.admin("GET", "/v1/devices/e2").status == 404
    r = server.request("POST", "/v1/enroll",
                       {"enrollment_token": et, "device_id": "e3", "hw_id": "hub-a"})
    assert r.status == 201
    # e3 got in, so the refused attempts counted no use; now max_uses (2) is reached.
    r = server.request("POST", "/v1/enroll",
                       {"enrollment_token": et, "device_id": "e4", "hw_id": "hub-a"})
    assert r.status == 401
    r = server.request("POST", "/v1/enroll",
                       {"enrollment_token": "otae_" + "0" * 64, "device_id": "e5",
                        "hw_id": "hub-a"})
    assert r.status == 401


def test_campaign_actions_and_validation(server, fw):
    rel = server.upload(fw.image("1.0.0")).json()
    c = server.campaign(rel["id"], stages=[{"percent": 10, "soak_seconds": 60},
                                           {"percent": 100}],
                        filt={"tags": ["eu"], "min_version": "0.1.0", "max_version": "1.0.0"},
                        name="spring")
    assert c["state"] == "active" and c["stage"] == 0 and c["name"] == "spring"
    assert c["filter"] == {"hw_id": "hub-a", "tags": ["eu"], "min_version": "0.1.0",
                           "max_version": "1.0.0"}
    cid = c["id"]
    assert server.admin("POST", f"/v1/campaigns/{cid}/pause").json()["state"] == "paused"
    assert server.admin("POST", f"/v1/campaigns/{cid}/pause").status == 409
    assert server.admin("POST", f"/v1/campaigns/{cid}/resume").json()["state"] == "active"
    assert server.admin("POST", f"/v1/campaigns/{cid}/abort").json()["state"] == "aborted"
    assert server.admin("POST", f"/v1/campaigns/{cid}/resume").status == 409
    assert server.admin("POST", f"/v1/campaigns/{cid}/explode").status == 404
    assert [x["id"] for x in server.admin("GET", "/v1/campaigns").json()["campaigns"]] == [cid]
    bad = [
        {"release_id": 999},
        {"release_id": rel["id"], "stages": []},
        {"release_id": rel["id"], "stages": [{"percent": 50}, {"percent": 40}]},
        {"release_id": rel["id"], "stages": [{"percent": 101}]},
        {"release_id": rel["id"], "stages": [{"percent": 10, "max_failure_ratio": 2}]},
        {"release_id": rel["id"], "stages": [{"percent": 10, "soak": 5}]},
        {"release_id": rel["id"], "filter": {"hw_id": "hub-b"}},
        {"release_id": rel["id"], "filter": {"min_version": "one"}},
        {"release_id": "1"},
    ]
    for body in bad:
        r = server.admin("POST", "/v1/campaigns", body)
        assert r.status in (400, 422), (body, r)
        assert r.json()["error"]["message"]
