# SPDX-License-Identifier: Apache-2.0
"""Per-slot releases (execute-in-place builds, docs/api.md): a release holds
the image linked for slot A and the one linked for slot B (same version,
security counter, hardware id; mismatches refused with a clear error);
check-ins report the running slot; the server offers the build for the slot
the update goes into (A-running -> B-linked, and the reverse), deltas pair
the running build with that one, and a device that does not say its slot
gets no offer and an inventory note saying why."""
import hashlib
import random
import subprocess
import time

from conftest import TOOL_BIN, offer_manifest, verify_manifest
from test_delta import delta_apply, offer_after_generation


def builds(seed=3, size=40 * 1024):
    """v1/v2 payloads, each "linked" for A and for B: the B build differs
    from the A build like relocated code (a word every 512 bytes), v2 from
    v1 by a few patched bytes."""
    rnd = random.Random(seed)
    v1a = bytearray(rnd.getrandbits(8) for _ in range(size))
    def relocate(b):
        b = bytearray(b)
        for i in range(0, len(b), 512):
            b[i:i + 4] = (int.from_bytes(b[i:i + 4], "little") ^ 0x80000).to_bytes(4, "little")
        return bytes(b)
    v2a = bytearray(v1a)
    for i in range(100, len(v2a), 4096):
        v2a[i] ^= 0x5A
    return {("1", "A"): bytes(v1a), ("1", "B"): relocate(v1a),
            ("2", "A"): bytes(v2a), ("2", "B"): relocate(v2a)}


def pair(server, fw, version, payloads=None, vkey=None, **kw):
    """Upload a release's A image, then its B image: (release json, {slot: image})."""
    imgs = {s: fw.image(version, payload=payloads[(vkey, s)] if payloads else None,
                        link_slot=s, **kw) for s in "AB"}
    r = server.upload(imgs["A"])
    assert r.status == 201, r
    rel = r.json()
    r = server.admin("POST", f"/v1/releases/{rel['id']}/images", imgs["B"])
    assert r.status == 201, r
    return r.json(), imgs


def digest(b):
    return hashlib.sha256(b).hexdigest()


def device_when(server, dev, pred, timeout=15):
    """The device's inventory once pred(it) holds (check-ins are written in
    batches, --inventory-flush 1)."""
    deadline = time.time() + timeout
    while True:
        dj = server.admin("GET", f"/v1/devices/{dev}").json()
        if pred(dj):
            return dj
        assert time.time() < deadline, dj
        time.sleep(0.1)


def test_upload_pair_and_release_json(server, fw):
    a = fw.image("2.0.0", link_slot="A", security_counter=4)
    b = fw.image("2.0.0", link_slot="B", security_counter=4)
    r = server.upload(a)
    assert r.status == 201, r
    rel = r.json()
    assert rel["link_slot"] == "A" and rel["digest"] == digest(a)
    assert [i["link_slot"] for i in rel["images"]] == ["A"]
    r = server.admin("POST", f"/v1/releases/{rel['id']}/images", b)
    assert r.status == 201, r
    got = server.admin("GET", f"/v1/releases/{rel['id']}").json()
    assert got["images"] == [
        {"link_slot": "A", "digest": digest(a), "size": len(a),
         "url": f"/v1/artifacts/{digest(a)}"},
        {"link_slot": "B", "digest": digest(b), "size": len(b),
         "url": f"/v1/artifacts/{digest(b)}"}]
    assert got["version"] == "2.0.0+0" and got["security_counter"] == 4
    listed = server.admin("GET", "/v1/releases").json()["releases"]
    assert [x["images"] for x in listed] == [got["images"]]
    # both images are artifacts; the B file cannot become a release of its own
    for img in (a, b):
        assert server.admin("GET", f"/v1/artifacts/{digest(img)}").body == img
    r = server.upload(b)
    assert r.status == 409 and r.json()["release"]["id"] == rel["id"], r
    # an any-slot image still makes an ordinary release
    plain = server.upload(fw.image("1.0.0")).json()
    assert plain["link_slot"] is None and [i["link_slot"] for i in plain["images"]] == [None]
    # deleting the release removes both files
    assert server.admin("DELETE", f"/v1/releases/{rel['id']}").status == 204
    for img in (a, b):
        assert server.admin("GET", f"/v1/artifacts/{digest(img)}").status == 404


def test_mismatched_pairs_are_refused(server, fw):
    rel = server.upload(fw.image("2.0.0", link_slot="A", security_counter=4)).json()
    path = f"/v1/releases/{rel['id']}/images"

    def refused(img, status, code, *words):
        r = server.admin("POST", path, img)
        assert r.status == status, r
        err = r.json()["error"]
        assert err["code"] == code, err
        for w in words:
            assert w in err["message"], err
        return err

    refused(fw.image("2.1.0", link_slot="B", security_counter=4), 422, "image_mismatch",
            "version", "2.0.0+0", "2.1.0+0")
    refused(fw.image("2.0.0", link_slot="B", security_counter=5), 422, "image_mismatch",
            "security counter", "4", "5")
    refused(fw.image("2.0.0", link_slot="B", security_counter=4, hw_id="hub-b"), 422,
            "image_mismatch", "hardware id", "hub-a", "hub-b")
    refused(fw.image("2.0.0", link_slot="A", security_counter=4), 422, "image_mismatch",
            "link slot", "slot B", "linked for A")
    refused(fw.image("2.0.0", security_counter=4), 422, "image_mismatch", "any slot")
    other = subprocess.run([TOOL_BIN, "keygen", "-o", str(fw.tmp) + "/other.pem"],
                           capture_output=True)
    assert other.returncode == 0
    refused(fw.image("2.0.0", link_slot="B", security_counter=4,
                     key=str(fw.tmp) + "/other.pem"), 422, "image_refused")
    # nothing was stored by any refusal
    assert len(server.admin("GET", f"/v1/releases/{rel['id']}").json()["images"]) == 1
    assert server.admin("POST", path, fw.image("2.0.0", link_slot="B",
                                               security_counter=4)).status == 201
    refused(fw.image("2.0.0", link_slot="B", security_counter=4), 409, "conflict",
            "already has images for slots A and B")
    plain = server.upload(fw.image("3.0.0")).json()
    r = server.admin("POST", f"/v1/releases/{plain['id']}/images",
                     fw.image("3.0.0", link_slot="B"))
    assert r.status == 409 and r.json()["error"]["code"] == "not_per_slot", r
    assert server.admin("POST", "/v1/releases/999/images", b"x").status == 404
    assert server.admin("GET", path).status == 405


def checkin(server, dev, tok, slot=None, cur=None, **extra):
    body = dict(extra)
    if slot:
        body["running_slot"] = slot
    if cur:
        body["current_digest"] = digest(cur)
    return server.checkin(dev, tok, body)


def test_offer_follows_the_running_slot_both_ways(server_factory, fw):
    server = server_factory(["--no-delta"]).start()
    rel, imgs = pair(server, fw, "2.0.0")
    toks = {d: server.add_device(d) for d in ("on-a", "on-b", "silent")}
    server.campaign(rel["id"])
    for dev, slot, want in (("on-a", "A", "B"), ("on-b", "B", "A")):
        r = checkin(server, dev, toks[dev], slot=slot)
        m = verify_manifest(server, offer_manifest(r))
        assert m["target_digest"] == digest(imgs[want]) and m["target_size"] == len(imgs[want])
        assert m["payload_digest"] == digest(imgs[want]) and m["kind"] == 0
        assert r.json()["payload"]["url"] == f"/v1/artifacts/{digest(imgs[want])}"
        device_when(server, dev, lambda d, slot=slot: d["running_slot"] == slot)
    # a device that does not report its slot: no offer, and the inventory says why
    r = checkin(server, "silent", toks["silent"], last_result="success")
    assert r.status == 200 and r.json()["action"] == "none", r
    dj = device_when(server, "silent", lambda d: d["last_seen"])
    assert dj["running_slot"] is None
    assert "does not report running_slot" in dj["last_result"], dj
    # once updated (runs the B build from slot B): nothing more to do
    r = checkin(server, "on-a", toks["on-a"], slot="B", cur=imgs["B"])
    assert r.json()["action"] == "none", r
    device_when(server, "on-a", lambda d: d["running_slot"] == "B")
    # a bad slot name is refused
    r = checkin(server, "on-a", toks["on-a"], slot="C")
    assert r.status == 400 and "running_slot" in r.json()["error"]["message"], r


def test_release_with_one_slot_only_offers_that_slot(server_factory, fw):
    server = server_factory(["--no-delta"]).start()
    a = fw.image("2.0.0", link_slot="A")
    rel = server.upload(a).json()
    toks = {d: server.add_device(d) for d in ("on-a", "on-b")}
    server.campaign(rel["id"])
    # running B: the update goes into A, which the release has
    m = verify_manifest(server, offer_manifest(checkin(server, "on-b", toks["on-b"], slot="B")))
    assert m["target_digest"] == digest(a)
    # running A: never the A build into slot B
    r = checkin(server, "on-a", toks["on-a"], slot="A")
    assert r.json()["action"] == "none", r
    device_when(server, "on-a", lambda d: "no image linked for slot B" in d["last_result"])


def test_any_slot_release_still_offered_with_or_without_slot(server_factory, fw):
    server = server_factory(["--no-delta"]).start()
    img = fw.image("2.0.0")
    rel = server.upload(img).json()
    toks = {d: server.add_device(d) for d in ("x", "y")}
    server.campaign(rel["id"])
    for dev, slot in (("x", None), ("y", "B")):
        m = verify_manifest(server, offer_manifest(checkin(server, dev, toks[dev], slot=slot)))
        assert m["target_digest"] == digest(img)


def test_deltas_pair_matching_builds(server, fw, tmp_path):
    p = builds()
    v1, i1 = pair(server, fw, "1.0.0", p, "1")
    v2, i2 = pair(server, fw, "2.0.0", p, "2")
    toks = {d: server.add_device(d) for d in ("run-a", "run-b")}
    server.campaign(v2["id"])
    seen = {}
    for dev, slot, base, target in (("run-a", "A", i1["A"], i2["B"]),
                                    ("run-b", "B", i1["B"], i2["A"])):
        r = offer_after_generation(server, dev, toks[dev],
                                   {"running_slot": slot, "current_digest": digest(base)})
        m = verify_manifest(server, offer_manifest(r))
        assert m["kind"] == 1, m  # a delta
        assert m["base_digest"] == digest(base) and m["target_digest"] == digest(target)
        assert m["payload_size"] < len(target) // 2
        patch = server.request("GET", r.json()["payload"]["url"], token=toks[dev]).body
        assert delta_apply(tmp_path, base, patch) == target
        seen[slot] = m["payload_digest"]
    assert seen["A"] != seen["B"]  # two cached pairs, one per direction


def test_inventory_keeps_the_running_slot_across_restart(server_factory):
    server = server_factory(["--no-delta"]).start()
    tok = server.add_device("d")
    assert checkin(server, "d", tok, slot="B").status == 200
    device_when(server, "d", lambda d: d["running_slot"] == "B")
    server.stop()
    server.start()
    assert server.admin("GET", "/v1/devices/d").json()["running_slot"] == "B"
    assert checkin(server, "d", tok).status == 200  # stops saying: forgotten
    device_when(server, "d", lambda d: d["running_slot"] is None)
