# SPDX-License-Identifier: Apache-2.0
"""hawkBit DDI on two ota-server nodes sharing one PostgreSQL database
(docs/ddi.md, docs/server.md): a controller registered by the gateway
token on one node, its configData, offer, downloads and feedback spread
over both, a halt answered by cancelAction on the other node, and every
record visible from both."""
import hashlib
import os

from ddi_client import Ddi, action_id
from test_postgres_nodes import cluster, nodes, start_pair  # noqa: F401 (fixtures)


def test_ddi_across_two_nodes(nodes):  # noqa: F811
    n1, n2 = start_pair(nodes)
    swu = os.urandom(4000)
    r = n1.admin("POST", "/v1/releases?format=raw&version=5.0.0&hw_id=board&filename=a.swu",
                 swu)
    assert r.status == 201, r
    rel = r.json()
    gw = n2.admin("POST", "/v1/ddi/gateway-token").json()["token"]
    tok = n1.add_device("t-1", hw_id="board")
    stages = [{"percent": 100, "min_finished": 1, "max_failure_ratio": 0}]
    cid = n2.campaign(rel["id"], stages=stages)["id"]

    g1 = Ddi(n1, "g-1", gateway_token=gw)      # registers through node 1
    assert "configData" in g1.links()
    g1b = Ddi(n2, "g-1", gateway_token=gw)     # the same controller on node 2
    assert g1b.config_data({"hw_id": "board"}).status == 200
    assert n1.admin("GET", "/v1/devices/g-1/attributes").json()["attributes"] == {
        "hw_id": "board"}
    assert action_id(g1.links()["deploymentBase"]["href"]) == cid
    dep = g1b.deployment(cid).json()
    art = dep["deployment"]["chunks"][0]["artifacts"][0]
    assert art["hashes"]["md5"] == hashlib.md5(swu).hexdigest()
    assert g1.raw("GET", f"{g1.base}/softwaremodules/{rel['id']}/artifacts/a.swu").body == swu
    assert g1b.feedback(cid, "proceeding").status == 200

    t1 = Ddi(n2, "t-1", target_token=tok)
    assert action_id(t1.links()["deploymentBase"]["href"]) == cid
    # g-1 fails on node 1: the campaign halts for both nodes
    assert g1.feedback(cid, "closed", "failure", details=["boom"]).status == 200
    for n in (n1, n2):
        assert n.status(cid)["state"] == "halted"
    # t-1 had not started: node 2 asks it to cancel, node 1 records its answer
    assert "cancelAction" in t1.links()
    t1a = Ddi(n1, "t-1", target_token=tok)
    assert t1a.feedback(cid, "closed", "success", kind="cancelAction").status == 200
    assert set(t1.links()) <= {"configData"}
    assert n2.admin("GET", "/v1/devices/t-1").json()["last_result"].startswith(
        f"cancelled campaign={cid}")
    assert g1b.feedback(cid, "closed", "success").status == 410
    (fail,) = [x for x in n2.admin("GET", "/v1/devices/g-1/reports").json()["reports"]
               if x["state"] == "failure"]
    assert fail["detail"] == "ddi closed/failure: boom"
