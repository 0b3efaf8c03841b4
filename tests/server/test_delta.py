# SPDX-License-Identifier: Apache-2.0
"""Delta serving: a device on a known release gets a delta (generated once,
cached content-addressed) when it is smaller than the full image; anything
else gets the full image."""
import hashlib
import os
import random
import subprocess
import time

from conftest import TOOL_BIN, offer_manifest, verify_manifest


def payloads():
    rnd = random.Random(7)
    v1 = bytes(rnd.getrandbits(8) for _ in range(48 * 1024))
    v2 = bytearray(v1)
    for i in range(0, len(v2), 4096):
        v2[i] ^= 0x5a
    return v1, bytes(v2)


def delta_apply(tmp_path, old, patch):
    """The image `ota delta apply` rebuilds from old and patch (bytes)."""
    (tmp_path / "old.img").write_bytes(old)
    (tmp_path / "p.bin").write_bytes(patch)
    subprocess.run([TOOL_BIN, "delta", "apply", str(tmp_path / "old.img"),
                    str(tmp_path / "p.bin"), "-o", str(tmp_path / "new.img")],
                   check=True, capture_output=True)
    return (tmp_path / "new.img").read_bytes()


def offer_after_generation(server, dev, tok, body, timeout=60):
    """Deltas are generated in the background: until one is ready for the
    device's pair, its check-ins are told to come back shortly."""
    deadline = time.time() + timeout
    while True:
        r = server.checkin(dev, tok, body)
        assert r.status == 200, r
        if r.json()["action"] == "update":
            return r
        assert r.json()["reason"] == "delta_pending", r
        assert r.headers["Retry-After"] == str(r.json()["poll_interval"]), r.headers
        assert time.time() < deadline, "no offer after the delta generation"
        time.sleep(0.2)


def test_delta_offered_cached_and_applies(server, fw, tmp_path):
    p1, p2 = payloads()
    img1 = fw.image("1.0.0", payload=p1)
    img2 = fw.image("1.1.0", payload=p2)
    r1 = server.upload(img1).json()
    r2 = server.upload(img2).json()
    toks = {d: server.add_device(d) for d in ("d-old", "d-old2", "d-unknown", "d-none")}
    cid = server.campaign(r2["id"])["id"]

    r = offer_after_generation(server, "d-old", toks["d-old"], {"current_digest": r1["digest"]})
    body = r.json()
    m = verify_manifest(server, offer_manifest(r))
    assert m["kind"] == 1 and body["payload"]["kind"] == "delta"
    assert m["base_digest"] == r1["digest"] == body["payload"]["base_digest"]
    assert m["target_digest"] == r2["digest"] and m["target_size"] == len(img2)
    assert m["payload_size"] < len(img2) // 4
    # The patch is an artifact named by its digest and turns v1 into exactly v2.
    patch = server.request("GET", body["payload"]["url"], token=toks["d-old"]).body
    assert hashlib.sha256(patch).hexdigest() == m["payload_digest"]
    assert len(patch) == m["payload_size"]
    assert delta_apply(tmp_path, img1, patch) == img2
    # Resumable like any artifact.
    part = server.request("GET", body["payload"]["url"], token=toks["d-old"],
                          headers={"Range": "bytes=10-"})
    assert part.status == 206 and part.body == patch[10:]

    # Generated once: a second device on the same base reuses it.
    m2 = verify_manifest(server, offer_manifest(
        server.checkin("d-old2", toks["d-old2"], {"current_digest": r1["digest"]})))
    assert m2["payload_digest"] == m["payload_digest"] and m2["device_id"] == "d-old2"
    metrics = server.admin("GET", "/metrics").body.decode()
    assert "ota_deltas_generated_total 1" in metrics.splitlines()
    assert 'ota_offers_total{kind="delta"} 2' in metrics.splitlines()
    assert os.path.exists(os.path.join(server.data_dir, "artifacts", m["payload_digest"]))

    # Unknown current image, or none reported: full image.
    m3 = verify_manifest(server, offer_manifest(
        server.checkin("d-unknown", toks["d-unknown"], {"current_digest": "cd" * 32})))
    assert m3["kind"] == 0 and m3["payload_digest"] == r2["digest"]
    m4 = verify_manifest(server, offer_manifest(server.checkin("d-none", toks["d-none"])))
    assert m4["kind"] == 0
    del cid


def test_no_delta_when_not_smaller_or_disabled(server_factory, fw):
    rnd = random.Random(9)
    a = bytes(rnd.getrandbits(8) for _ in range(8192))
    b = bytes(rnd.getrandbits(8) for _ in range(8192))  # unrelated: no useful delta
    s = server_factory().start()
    ra = s.upload(fw.image("1.0.0", payload=a)).json()
    rb = s.upload(fw.image("2.0.0", payload=b)).json()
    tok = s.add_device("x")
    s.campaign(rb["id"])
    m = verify_manifest(s, offer_manifest(offer_after_generation(
        s, "x", tok, {"current_digest": ra["digest"]})))
    assert m["kind"] == 0
    for _ in range(2):  # the "not smaller" verdict is cached too
        m = verify_manifest(s, offer_manifest(s.checkin("x", tok,
                                                        {"current_digest": ra["digest"]})))
        assert m["kind"] == 0
    assert "ota_deltas_generated_total 1" in s.admin("GET", "/metrics").body.decode()
    s.stop()
    # --no-delta: always full, even when a delta would be small.
    p1, p2 = payloads()
    s2 = server_factory(["--no-delta"], data_name="nodelta").start()
    r1 = s2.upload(fw.image("1.0.0", payload=p1)).json()
    r2 = s2.upload(fw.image("1.1.0", payload=p2)).json()
    tok = s2.add_device("y")
    s2.campaign(r2["id"])
    m = verify_manifest(s2, offer_manifest(s2.checkin("y", tok, {"current_digest": r1["digest"]})))
    assert m["kind"] == 0 and "delta updates: off" in "".join(s2.stdout_lines)
