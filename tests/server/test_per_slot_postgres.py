# SPDX-License-Identifier: Apache-2.0
"""Per-slot releases on PostgreSQL, two server nodes on one database: the
pair uploaded through one node (a mismatch refused), offers by running slot
through the other, the running slot in the inventory and the fleet views
of both, and the release's delete removing both images."""
import hashlib
import time

from test_per_slot import checkin, device_when
from test_postgres_nodes import cluster, nodes, start_pair  # noqa: F401 (fixtures)


def test_per_slot_release_across_two_nodes(nodes, fw):  # noqa: F811
    n1, n2 = start_pair(nodes)
    imgs = {s: fw.image("2.0.0", link_slot=s, security_counter=3) for s in "AB"}
    rel = n1.upload(imgs["A"]).json()
    bad = n2.admin("POST", f"/v1/releases/{rel['id']}/images",
                   fw.image("2.0.0", link_slot="B", security_counter=4))
    assert bad.status == 422 and "security counter" in bad.json()["error"]["message"], bad
    r = n2.admin("POST", f"/v1/releases/{rel['id']}/images", imgs["B"])
    assert r.status == 201, r
    for n in (n1, n2):
        got = n.admin("GET", f"/v1/releases/{rel['id']}").json()
        assert [(i["link_slot"], i["digest"]) for i in got["images"]] == [
            (s, hashlib.sha256(imgs[s]).hexdigest()) for s in "AB"]
    toks = {d: n1.add_device(d) for d in ("on-a", "on-b", "silent")}
    n1.campaign(rel["id"])
    for dev, slot, want, node in (("on-a", "A", "B", n2), ("on-b", "B", "A", n1)):
        body = checkin(node, dev, toks[dev], slot=slot).json()
        assert body["target"]["digest"] == hashlib.sha256(imgs[want]).hexdigest(), body
    assert checkin(n2, "silent", toks["silent"]).json()["action"] == "none"
    for n in (n1, n2):
        device_when(n, "on-b", lambda d: d["running_slot"] == "B")
        device_when(n, "silent",
                    lambda d: "does not report running_slot" in d["last_result"])
    # devices running either build count for the release in the fleet views
    checkin(n1, "on-a", toks["on-a"], slot="B", cur=imgs["B"])
    checkin(n2, "on-b", toks["on-b"], slot="A", cur=imgs["A"])
    deadline = time.time() + 15
    while True:
        devs = n2.admin("GET", f"/v1/fleet/devices?release={rel['id']}").json()
        if devs.get("total") == 2:
            break
        assert time.time() < deadline, devs
        time.sleep(0.2)
    assert {d["id"]: d["running_slot"] for d in devs["devices"]} == {"on-a": "B", "on-b": "A"}
    summary = n1.admin("GET", "/v1/fleet/summary").json()
    assert {"release_id": rel["id"], "devices": 2} in summary["by_release"], summary
