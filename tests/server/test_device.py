# SPDX-License-Identifier: Apache-2.0
"""Device API of ota-server: check-in offers with signed manifests, artifact
downloads (HEAD, ETag, byte ranges), status reports."""
import hashlib
import time

from conftest import SERVER_BIN, offer_manifest, verify_manifest


def setup_release(server, fw, version="2.0.0", sc=3):
    img = fw.image(version, security_counter=sc)
    rel = server.upload(img).json()
    return img, rel


def test_checkin_offer_manifest_binds_everything(server, fw):
    img, rel = setup_release(server, fw)
    tok = server.add_device("dev-a")
    assert server.checkin("dev-a", tok).json() == {"action": "none", "poll_interval": 300}
    c = server.campaign(rel["id"])
    r = server.checkin("dev-a", tok, {"hw_id": "hub-a", "current_version": "1.0.0"})
    body = r.json()
    m = verify_manifest(server, offer_manifest(r))
    assert m["format"] == 1 and m["kind"] == 0
    assert m["device_id"] == "dev-a" and m["hw_id"] == "hub-a"
    assert m["campaign_id"] == c["id"] == body["campaign_id"]
    assert m["target_digest"] == hashlib.sha256(img).hexdigest() == rel["digest"]
    assert m["target_size"] == len(img) and m["version"] == (2, 0, 0, 0)
    assert m["security_counter"] == 3
    assert m["payload_digest"] == m["target_digest"] and m["payload_size"] == len(img)
    assert m["base_digest"] == "00" * 32
    assert m["expires_at"] - m["issued_at"] == 86400 and body["expires_at"] == m["expires_at"]
    assert abs(m["issued_at"] - time.time()) < 60
    assert body["payload"] == {"kind": "full", "url": f"/v1/artifacts/{rel['digest']}",
                               "digest": rel["digest"], "size": len(img)}
    assert body["target"]["version"] == "2.0.0+0"
    # Binary manifest for devices without JSON/base64.
    r = server.checkin("dev-a", tok, headers={"Accept": "application/vnd.ota.manifest"})
    assert r.status == 200 and r.headers["Content-Type"] == "application/vnd.ota.manifest"
    m2 = verify_manifest(server, r.body)
    assert m2["target_digest"] == m["target_digest"] and m2["device_id"] == "dev-a"
    # Another device gets a manifest bound to itself.
    tok_b = server.add_device("dev-b")
    mb = verify_manifest(server, offer_manifest(server.checkin("dev-b", tok_b)))
    assert mb["device_id"] == "dev-b"
    # Nothing to do with the binary accept header: 204.
    tok_c = server.add_device("dev-c", hw_id="hub-z")
    r = server.checkin("dev-c", tok_c, headers={"Accept": "application/vnd.ota.manifest"})
    assert r.status == 204 and r.body == b""


def test_offer_lifecycle_reports(server, fw):
    img, rel = setup_release(server, fw)
    tok = server.add_device("d1")
    c = server.campaign(rel["id"])
    cid = c["id"]
    offer_manifest(server.checkin("d1", tok))
    # Re-offered while in progress (e.g. after an agent restart).
    for state in ("downloading", "installing", "installed-rebooting"):
        r = server.report("d1", tok, cid, state)
        assert r.status == 201 and r.json()["stored"] is True
        offer_manifest(server.checkin("d1", tok))
    # Running the target: nothing to do.
    r = server.checkin("d1", tok, {"current_digest": rel["digest"]})
    assert r.json()["action"] == "none"
    assert server.report("d1", tok, cid, "success").status == 201
    # Finished with the campaign: no new offer even when reporting the old image.
    r = server.checkin("d1", tok, {"current_version": "1.0.0"})
    assert r.json()["action"] == "none"
    st = server.status(cid)
    assert st["counts"]["success"] == 1 and st["finished"] == 1
    reps = server.request("GET", "/v1/devices/d1/reports", token=tok).json()["reports"]
    assert [x["state"] for x in reps] == ["downloading", "installing", "installed-rebooting",
                                          "success"]
    assert all(x["campaign_id"] == cid for x in reps)
    assert server.admin("GET", "/v1/devices/d1/reports").json()["reports"] == reps
    d = server.admin("GET", "/v1/devices/d1").json()
    assert d["last_result"] == "success"
    # A failure report carries code and detail into the inventory.
    tok2 = server.add_device("d2")
    offer_manifest(server.checkin("d2", tok2))
    r = server.report("d2", tok2, cid, "failure", code=156, detail="payload hash mismatch")
    assert r.status == 201
    d = server.admin("GET", "/v1/devices/d2").json()
    assert d["last_result"] == "failure code=156 payload hash mismatch"
    rep = server.admin("GET", "/v1/devices/d2/reports").json()["reports"][0]
    assert rep["code"] == 156 and rep["detail"] == "payload hash mismatch"
    # A late non-final report does not undo a final state.
    server.report("d2", tok2, cid, "downloading")
    assert server.status(cid)["counts"]["failure"] == 1
    # Reports for a campaign that made this device no offer are refused.
    tok3 = server.add_device("d3", hw_id="hub-z")
    assert server.report("d3", tok3, cid, "success").status == 409
    assert server.status(cid)["counts"]["success"] == 1
    # Reports without a campaign are kept too.
    assert server.report("d3", tok3, 0, "failure", code=1, detail="boot loop").status == 201


def test_filters(server, fw):
    _, rel = setup_release(server, fw)
    toks = {
        "eu-new": server.add_device("eu-new", tags=["eu"]),
        "eu-old": server.add_device("eu-old", tags=["eu", "beta"]),
        "us": server.add_device("us", tags=["us"]),
        "other-hw": server.add_device("other-hw", hw_id="hub-b", tags=["eu"]),
    }
    server.campaign(rel["id"], filt={"tags": ["eu"], "min_version": "1.0.0",
                                     "max_version": "2.0.0"})
    versions = {"eu-new": "1.5.0", "eu-old": "0.9.9", "us": "1.5.0", "other-hw": "1.5.0"}
    got = {}
    for dev, tok in toks.items():
        r = server.checkin(dev, tok, {"current_version": versions[dev]})
        got[dev] = r.json()["action"]
    assert got == {"eu-new": "update", "eu-old": "none", "us": "none", "other-hw": "none"}
    # Without a version the range cannot be checked: no offer.
    assert server.checkin("eu-old", toks["eu-old"]).json()["action"] == "none"
    assert server.checkin("eu-old", toks["eu-old"],
                          {"current_version": "1.0.0"}).json()["action"] == "update"
    # A device whose reported hardware differs from its registration is refused.
    r = server.checkin("us", toks["us"], {"hw_id": "hub-b"})
    assert r.status == 409 and r.json()["error"]["code"] == "hw_id_mismatch"


def test_artifact_download_ranges(server, fw):
    img, rel = setup_release(server, fw)
    tok = server.add_device("dl")
    path = rel["url"]
    r = server.request("GET", path, token=tok)
    assert r.status == 200 and r.body == img
    etag = r.headers["ETag"]
    assert etag == f'"{rel["digest"]}"' and r.headers["Accept-Ranges"] == "bytes"
    r = server.request("HEAD", path, token=tok)
    assert r.status == 200 and r.body == b"" and int(r.headers["Content-Length"]) == len(img)
    assert r.headers["ETag"] == etag
    # Resume in pieces and reassemble.
    parts, off, step = [], 0, 3001
    while off < len(img):
        r = server.request("GET", path, token=tok,
                           headers={"Range": f"bytes={off}-{off + step - 1}"})
        assert r.status == 206, r
        end = min(off + step, len(img)) - 1
        assert r.headers["Content-Range"] == f"bytes {off}-{end}/{len(img)}"
        parts.append(r.body)
        off += step
    assert b"".join(parts) == img
    r = server.request("GET", path, token=tok, headers={"Range": "bytes=100-"})
    assert r.status == 206 and r.body == img[100:]
    r = server.request("GET", path, token=tok, headers={"Range": "bytes=-10"})
    assert r.status == 206 and r.body == img[-10:]
    # If-Range with the current ETag honours the range; a stale one sends everything.
    r = server.request("GET", path, token=tok, headers={"Range": "bytes=5-9", "If-Range": etag})
    assert r.status == 206 and r.body == img[5:10]
    r = server.request("GET", path, token=tok, headers={"Range": "bytes=5-9",
                                                        "If-Range": '"stale"'})
    assert r.status == 200 and r.body == img
    r = server.request("GET", path, token=tok, headers={"If-None-Match": etag})
    assert r.status == 304
    for bad in (f"bytes={len(img)}-", f"bytes={len(img) + 5}-{len(img) + 9}", "bytes=-0"):
        r = server.request("GET", path, token=tok, headers={"Range": bad})
        assert r.status == 416, (bad, r)
        assert r.headers["Content-Range"] == f"bytes */{len(img)}"
    # Invalid ranges are ignored (RFC 9110): the whole file.
    for odd in ("bytes=9-5", "bytes=abc", "items=0-1"):
        r = server.request("GET", path, token=tok, headers={"Range": odd})
        assert r.status == 200 and r.body == img, (odd, r)
    # Unknown digest, malformed names, traversal attempts.
    assert server.request("GET", "/v1/artifacts/" + "0" * 64, token=tok).status == 404
    for name in ("..%2f..%2fota.db", "ota.db", "A" * 64, "0" * 63):
        assert server.request("GET", "/v1/artifacts/" + name, token=tok).status == 404
    assert server.request("GET", path).status == 401
    assert server.request("GET", path, token="otad_" + "1" * 64).status == 401
    # The admin may download too.
    assert server.admin("GET", path).body == img


def test_device_core_accepts_exactly_what_it_should(server, fw, tmp_path):
    """The portable core's verifier (mbedTLS backend) accepts the server's
    manifest for the right device and refuses it otherwise, for the right reason."""
    import os
    import subprocess
    tool = os.environ.get("OTA_MANIFEST_TOOL",
                          os.path.join(os.path.dirname(SERVER_BIN), "../../tests/server/manifest_verify_tool"))
    _, rel = setup_release(server, fw, sc=5)
    tok = server.add_device("core-1")
    server.campaign(rel["id"])
    r = server.checkin("core-1", tok, headers={"Accept": "application/vnd.ota.manifest"})
    assert r.status == 200
    mf = tmp_path / "m.bin"
    mf.write_bytes(r.body)
    pub = tmp_path / "server.pub.pem"
    pub.write_text(server.admin("GET", "/v1/server-key").json()["public_key_pem"])
    m = verify_manifest(server, r.body)

    def core(dev="core-1", hw="hub-a", now=None, floor=0, key=pub):
        now = m["issued_at"] + 10 if now is None else now
        out = subprocess.run([tool, str(mf), str(key), dev, hw, str(now), str(floor)],
                             capture_output=True, text=True, check=True).stdout.split()
        return out[0]

    assert core() == "OTA_OK"
    assert core(dev="core-2") == "OTA_ERR_MANIFEST_WRONG_DEVICE"
    assert core(hw="hub-b") == "OTA_ERR_IMAGE_HW_MISMATCH"
    assert core(now=m["expires_at"]) == "OTA_ERR_MANIFEST_EXPIRED"
    assert core(floor=6) == "OTA_ERR_IMAGE_ROLLBACK"
    assert core(floor=5) == "OTA_OK"
    assert core(key=fw.pub) == "OTA_ERR_MANIFEST_SIG_INVALID"
    blob = bytearray(r.body)
    blob[16] ^= 1  # campaign id: still well-formed, no longer what was signed
    mf.write_bytes(bytes(blob))
    assert core() == "OTA_ERR_MANIFEST_SIG_INVALID"
    blob[16] ^= 1
    blob[72] ^= 1  # target size no longer equals the full payload's size
    mf.write_bytes(bytes(blob))
    assert core() == "OTA_ERR_MANIFEST_MALFORMED"


def test_binary_hardware_id(server, fw):
    """Images signed with a binary hardware id (ota sign --hw-id 0x...) are
    named by "0x" + hex on the API; the manifest carries the raw bytes."""
    img = fw.image("5.0.0", hw_id="0x0a0b0c7f")
    rel = server.upload(img).json()
    assert rel["hw_id"] == "0x0a0b0c7f"
    tok = server.add_device("bin-1", hw_id="0x0a0b0c7f")
    other = server.add_device("bin-2", hw_id="0x0a0b0c")
    server.campaign(rel["id"])
    m = verify_manifest(server, offer_manifest(server.checkin("bin-1", tok,
                                                              {"hw_id": "0x0a0b0c7f"})))
    assert m["hw_id_raw"] == bytes([0x0a, 0x0b, 0x0c, 0x7f])
    assert server.checkin("bin-2", other).json()["action"] == "none"
    for bad in ("0x", "0xabc", "0xABCD", "0x" + "00" * 33, "0xzz"):
        r = server.admin("POST", "/v1/devices", {"id": "bad", "hw_id": bad})
        assert r.status == 400, (bad, r)
