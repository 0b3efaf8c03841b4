# SPDX-License-Identifier: Apache-2.0
"""hawkBit DDI conformance of ota-server (docs/ddi.md): every endpoint a
SWUpdate / rauc-hawkbit-updater / Zephyr device uses, with hawkBit's JSON
shapes (ids as strings, config.polling.sleep as HH:MM:SS, absolute links),
its token schemes and their failures, malformed feedback, byte ranges and
ETags on artifact downloads, raw releases, and cancellation when a
campaign halts or is aborted."""
import hashlib
import os
import re
import ssl
import subprocess

from conftest import SERVER_BIN, Server
from ddi_client import Ddi, action_id
from test_ops import make_cert

SWU = b"07070100000000" + os.urandom(3000)  # opaque bytes: the server never looks inside


def raw_release(server, data=SWU, version="2.0.0", hw_id="board", filename="update.swu",
                **extra):
    q = f"?format=raw&version={version}&hw_id={hw_id}&filename={filename}"
    for k, v in extra.items():
        q += f"&{k}={v}"
    return server.admin("POST", "/v1/releases" + q, data)


def setup_ddi(server, devices=("dev1",), data=SWU, stages=None):
    rel = raw_release(server, data)
    assert rel.status == 201, rel
    rel = rel.json()
    clients = [Ddi(server, d, target_token=server.add_device(d, hw_id="board"))
               for d in devices]
    camp = server.campaign(rel["id"], stages=stages)
    return rel, camp, clients


def test_raw_release_upload(server):
    r = raw_release(server, name="swu-2")
    assert r.status == 201, r
    rel = r.json()
    assert rel["format"] == "raw" and rel["filename"] == "update.swu"
    assert rel["version"] == "2.0.0+0" and rel["hw_id"] == "board" and rel["name"] == "swu-2"
    assert rel["size"] == len(SWU) and rel["security_counter"] == 0
    assert rel["digest"] == hashlib.sha256(SWU).hexdigest()
    assert rel["md5"] == hashlib.md5(SWU).hexdigest()
    assert rel["sha1"] == hashlib.sha1(SWU).hexdigest()
    listed = server.admin("GET", "/v1/releases").json()["releases"]
    assert [x["format"] for x in listed] == ["raw"]
    # the artifact is served like any other
    assert server.admin("GET", rel["url"]).body == SWU
    # the same bytes again
    again = raw_release(server)
    assert again.status == 409 and again.json()["release"]["id"] == rel["id"]
    # every query parameter is checked
    for bad in ({"version": "2"}, {"hw_id": "a%20b"}, {"filename": "../x"},
                {"filename": ".hidden"}, {"version": "1.2.3.4"}):
        args = dict(version="3.0.0", hw_id="board", filename="u.swu")
        args.update(bad)
        r = server.admin("POST", "/v1/releases?format=raw&" + "&".join(
            f"{k}={v}" for k, v in args.items()), b"other")
        assert r.status == 400 and r.json()["error"]["code"] == "invalid_query", (bad, r)
    r = server.admin("POST", "/v1/releases?format=raw&hw_id=board&filename=u.swu", b"x")
    assert r.status == 400 and "version" in r.json()["error"]["message"]
    r = server.admin("POST", "/v1/releases?format=zip", b"x")
    assert r.status == 400 and r.json()["error"]["code"] == "invalid_query"
    r = server.admin("POST", "/v1/releases?format=raw&version=3.0.0&hw_id=b&filename=u.swu", b"")
    assert r.status == 400 and r.json()["error"]["code"] == "empty_body"
    # admin only
    tok = server.add_device("d", hw_id="board")
    r = server.request("POST", "/v1/releases?format=raw&version=3.0.0&hw_id=b&filename=u.swu",
                       b"x", token=tok)
    assert r.status == 403
    r = server.request("POST", "/v1/releases?format=raw&version=3.0.0&hw_id=b&filename=u.swu",
                       b"x")
    assert r.status == 401


def test_poll_deployment_download_feedback(server):
    rel, camp, (dev,) = setup_ddi(server)
    cid = camp["id"]
    r = dev.poll()
    assert r.status == 200 and r.headers["Content-Type"] == "application/json"
    body = r.json()
    assert body["config"] == {"polling": {"sleep": "00:05:00"}}  # --poll-interval 300
    links = body["_links"]
    assert set(links) == {"deploymentBase", "configData"}
    base = f"{server.url}/DEFAULT/controller/v1/dev1"
    assert links["configData"]["href"] == base + "/configData"
    assert re.fullmatch(re.escape(f"{base}/deploymentBase/{cid}") + r"\?c=-?\d+",
                        links["deploymentBase"]["href"])
    assert action_id(links["deploymentBase"]["href"]) == cid
    server.advance(5)
    assert dev.links()["deploymentBase"] == links["deploymentBase"]  # stable until it changes
    # the campaign counts the offer
    assert server.status(cid)["counts"]["offered"] == 1

    d = dev.raw("GET", links["deploymentBase"]["href"])
    assert d.status == 200, d
    dep = d.json()
    assert dep["id"] == str(cid)  # ids are strings
    assert dep["deployment"]["download"] == "forced" and dep["deployment"]["update"] == "forced"
    (chunk,) = dep["deployment"]["chunks"]
    assert chunk["part"] == "os" and chunk["version"] == "2.0.0+0" and chunk["name"] == "2.0.0"
    (art,) = chunk["artifacts"]
    assert art["filename"] == "update.swu" and art["size"] == len(SWU)
    assert art["hashes"] == {"sha1": hashlib.sha1(SWU).hexdigest(),
                             "md5": hashlib.md5(SWU).hexdigest(),
                             "sha256": hashlib.sha256(SWU).hexdigest()}
    url = f"{base}/softwaremodules/{rel['id']}/artifacts/update.swu"
    assert art["_links"]["download"]["href"] == url
    assert art["_links"]["download-http"]["href"] == url
    assert art["_links"]["md5sum-http"]["href"] == url + ".MD5SUM"

    # download: whole, HEAD, one range, ETag
    g = dev.raw("GET", url)
    assert g.status == 200 and g.body == SWU
    assert g.headers["Accept-Ranges"] == "bytes"
    etag = g.headers["ETag"]
    h = dev.raw("HEAD", url)
    assert h.status == 200 and h.body == b"" and int(h.headers["Content-Length"]) == len(SWU)
    assert h.headers["ETag"] == etag
    p = dev.raw("GET", url, headers={"Range": "bytes=100-199"})
    assert p.status == 206 and p.body == SWU[100:200]
    assert p.headers["Content-Range"] == f"bytes 100-199/{len(SWU)}"
    p = dev.raw("GET", url, headers={"Range": "bytes=-10"})
    assert p.status == 206 and p.body == SWU[-10:]
    p = dev.raw("GET", url, headers={"Range": f"bytes={len(SWU)}-"})
    assert p.status == 416 and p.headers["Content-Range"] == f"bytes */{len(SWU)}"
    assert dev.raw("GET", url, headers={"If-None-Match": etag}).status == 304
    p = dev.raw("GET", url, headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert p.status == 200 and p.body == SWU  # If-Range mismatch: the whole file
    m = dev.raw("GET", url + ".MD5SUM")
    assert m.status == 200 and m.body.decode() == f"{hashlib.md5(SWU).hexdigest()}  update.swu\n"
    assert dev.raw("GET", url.replace("update.swu", "other.swu")).status == 404
    assert dev.raw("GET", url.replace(f"/{rel['id']}/", "/999/")).status == 404
    assert dev.raw("PUT", url, b"x").status == 405

    # feedback: in progress, then closed/success
    f = dev.feedback(cid, "proceeding", details=["Installing Update Chunk Artifacts."])
    assert f.status == 200 and f.body == b""
    assert server.status(cid)["counts"]["downloading"] == 1
    assert dev.feedback(cid, "downloaded").status == 200
    assert server.status(cid)["counts"]["installing"] == 1
    # still offered until closed
    assert action_id(dev.links()["deploymentBase"]["href"]) == cid
    assert dev.feedback(cid, "closed", "success", details=["Update Installed."]).status == 200
    st = server.status(cid)
    assert st["counts"]["success"] == 1 and st["finished"] == 1 and st["failed"] == 0
    reports = server.admin("GET", "/v1/devices/dev1/reports").json()["reports"]
    assert [x["state"] for x in reports] == ["downloading", "installing", "success"]
    assert reports[0]["detail"] == "ddi proceeding/none: Installing Update Chunk Artifacts."
    assert reports[2]["campaign_id"] == cid
    devj = server.admin("GET", "/v1/devices/dev1").json()
    assert devj["current_version"] == "2.0.0+0" and devj["current_digest"] == rel["digest"]
    assert devj["last_seen"] > 0
    # closed: no more deploymentBase; installedBase instead
    links = dev.links()
    assert "deploymentBase" not in links
    assert links["installedBase"]["href"] == f"{base}/installedBase/{cid}"
    ib = dev.raw("GET", links["installedBase"]["href"])
    assert ib.status == 200 and ib.json()["id"] == str(cid)
    # feedback on a closed action: gone, and nothing changes
    assert dev.feedback(cid, "closed", "failure").status == 410
    assert server.status(cid)["counts"]["success"] == 1
    # the deployment document stays readable
    assert dev.deployment(cid).status == 200


def test_failure_reports_and_code(server):
    rel, camp, (dev,) = setup_ddi(server)
    cid = camp["id"]
    dev.poll()
    r = dev.feedback(cid, "closed", "failure", details=["ERROR : handler failed", "x"], code=7)
    assert r.status == 200
    (rep,) = server.admin("GET", "/v1/devices/dev1/reports").json()["reports"]
    assert rep["state"] == "failure" and rep["code"] == 7
    assert rep["detail"] == "ddi closed/failure: ERROR : handler failed; x"
    assert server.status(cid)["counts"]["failure"] == 1
    assert "deploymentBase" not in dev.links()
    # the installed base is only for successful actions
    assert dev.raw("GET", f"{dev.base}/installedBase/{cid}").status == 404
    devj = server.admin("GET", "/v1/devices/dev1").json()
    assert devj["current_version"] == "" and devj["last_result"].startswith("failure code=7")


def test_authentication(server, server_factory):
    rel, camp, (a, b) = setup_ddi(server, devices=("dev-a", "dev-b"))
    cid = camp["id"]
    assert a.poll().status == 200
    # no credentials: 401 naming hawkBit's scheme
    anon = Ddi(server, "dev-a")
    r = anon.poll()
    assert r.status == 401 and r.headers["WWW-Authenticate"].startswith("TargetToken")
    # a wrong token, an admin bearer token, a Bearer device token
    assert Ddi(server, "dev-a", target_token="otad_" + "0" * 64).poll().status == 401
    r = anon.raw("GET", anon.base, headers={"Authorization": "Bearer " + a.target_token})
    assert r.status == 401
    r = anon.raw("GET", anon.base, headers={"Authorization": "TargetToken " + server.admin_token})
    assert r.status == 401
    # device B's token on device A's path: forbidden, for every endpoint
    b_as_a = Ddi(server, "dev-a", target_token=b.target_token)
    assert b_as_a.poll().status == 403
    assert b_as_a.deployment(cid).status == 403
    assert b_as_a.feedback(cid, "closed", "failure").status == 403
    assert b_as_a.config_data({"x": "y"}).status == 403
    url = f"{a.base}/softwaremodules/{rel['id']}/artifacts/update.swu"
    assert b_as_a.raw("GET", url).status == 403
    assert server.status(cid)["counts"].get("failure", 0) == 0
    # B's own action is separate: B polls before offering, A's id is not B's
    assert b.deployment(cid).status == 404
    assert b.feedback(cid, "closed", "failure").status == 404
    assert b.raw("GET", f"{b.base}/softwaremodules/{rel['id']}/artifacts/update.swu").status == 404
    # wrong tenant, unknown controller with a target token
    assert Ddi(server, "dev-a", a.target_token, tenant="OTHER").poll().status == 404
    assert Ddi(server, "dev-x", target_token=a.target_token).poll().status == 403
    # the tenant is case-insensitive, as in hawkBit
    assert Ddi(server, "dev-a", a.target_token, tenant="default").poll().status == 200

    # gateway token: none configured yet
    assert Ddi(server, "gw-1", gateway_token="otag_" + "1" * 64).poll().status == 401
    assert server.admin("GET", "/v1/ddi/gateway-token").json() == {"enabled": False}
    g = server.admin("POST", "/v1/ddi/gateway-token")
    assert g.status == 201 and g.json()["token"].startswith("otag_")
    gw = g.json()["token"]
    assert server.admin("GET", "/v1/ddi/gateway-token").json() == {"enabled": True}
    assert server.request("POST", "/v1/ddi/gateway-token", token=a.target_token).status == 403
    # it acts for existing controllers ...
    ga = Ddi(server, "dev-a", gateway_token=gw)
    assert "deploymentBase" in ga.links()
    # ... and registers unknown ones on their first poll, hardware id unknown
    assert server.admin("GET", "/v1/devices/gw-1").status == 404
    g1 = Ddi(server, "gw-1", gateway_token=gw)
    assert g1.feedback(1, "proceeding").status == 404  # not before its first poll
    links = g1.links()
    assert "configData" in links and "deploymentBase" not in links  # no hardware id yet
    d = server.admin("GET", "/v1/devices/gw-1").json()
    assert d["hw_id"] == "" and d["last_seen"] >= 0
    # its attributes name the hardware: now it is in the campaign
    assert g1.config_data({"hw_id": "board", "serial": "42"}).status == 200
    assert server.admin("GET", "/v1/devices/gw-1").json()["hw_id"] == "board"
    assert "deploymentBase" in g1.links()
    # ids a device could never have are not registered
    assert Ddi(server, "bad%20id", gateway_token=gw).poll().status == 404
    # rotation: the old token stops working at once
    gw2 = server.admin("POST", "/v1/ddi/gateway-token").json()["token"]
    assert Ddi(server, "gw-1", gateway_token=gw).poll().status == 401
    assert Ddi(server, "gw-1", gateway_token=gw2).poll().status == 200
    assert server.admin("DELETE", "/v1/ddi/gateway-token").status == 204
    assert Ddi(server, "gw-1", gateway_token=gw2).poll().status == 401

    # anonymous DDI only when the operator turns it on
    assert Ddi(server, "anon-1").poll().status == 401
    s2 = server_factory(["--ddi-anonymous"], data_name="anon").start()
    assert "--ddi-anonymous" in "".join(s2.stdout_lines)
    r = Ddi(s2, "anon-1").poll()
    assert r.status == 200 and "configData" in r.json()["_links"]
    assert s2.admin("GET", "/v1/devices/anon-1").status == 200


def test_body_refused_before_it_is_read(server):
    setup_ddi(server)
    # a feedback body without valid credentials is refused from the headers
    big = b"{" + b" " * 100000 + b"}"
    r = Ddi(server, "dev1").raw("POST", "/DEFAULT/controller/v1/dev1/deploymentBase/1/feedback",
                                big)
    assert r.status == 401
    r = Ddi(server, "dev1", target_token="otad_" + "2" * 64).raw(
        "PUT", "/DEFAULT/controller/v1/dev1/configData", big)
    assert r.status == 401


def test_malformed_feedback(server):
    rel, camp, (dev,) = setup_ddi(server)
    cid = camp["id"]
    dev.poll()
    url = f"{dev.base}/deploymentBase/{cid}/feedback"
    bad = [
        b"", b"not json", b"[]", b'{"status": 1}', b'{"id": "1"}',
        b'{"status": {"result": {"finished": "success"}}}',
        b'{"status": {"execution": "done", "result": {"finished": "success"}}}',
        b'{"status": {"execution": "closed", "result": {"finished": "great"}}}',
        b'{"status": {"execution": "closed", "result": "success"}}',
        b'{"status": {"execution": "closed", "details": "text"}}',
        b'{"status": {"execution": "closed", "details": [1]}}',
        b'{"status": {"execution": "closed", "code": "7"}}',
        b'{"status": {"execution": "closed", "execution": "proceeding"}}',  # duplicate key
        # what SWUpdate 2022.12 sends when a detail holds a quote
        b'{"id": 1, "status": {"execution": "closed", "details": [ "say "hi"" ]}}',
    ]
    for body in bad:
        r = dev.raw("POST", url, body)
        assert r.status == 400, (body, r)
        assert r.json()["error"]["code"] in ("invalid_json", "invalid_field"), (body, r)
    st = server.status(cid)
    assert st["counts"]["offered"] == 1 and st["finished"] == 0
    assert server.admin("GET", "/v1/devices/dev1/reports").json()["reports"] == []
    # SWUpdate's own form: numeric id, time, progress
    ok = (b'{"id": %d, "time": "20261203T121212", "status": {"result": {"progress": '
          b'{"cnt": 0, "of": 1}, "finished": "none"}, "execution": "proceeding", '
          b'"details": [ "Installing Update Chunk Artifacts." ]}}' % cid)
    assert dev.raw("POST", url, ok).status == 200
    # unknown and malformed action ids, wrong methods
    assert dev.feedback(999, "closed", "success").status == 404
    assert dev.raw("POST", f"{dev.base}/deploymentBase/abc/feedback", b"{}").status == 404
    assert dev.raw("POST", f"{dev.base}/deploymentBase/0/feedback", b"{}").status == 404
    assert dev.raw("GET", url).status == 405
    assert dev.raw("POST", dev.base, b"{}").status == 405
    assert dev.raw("POST", f"{dev.base}/configData", b"{}").status == 405
    assert dev.raw("GET", f"{dev.base}/deploymentBase").status == 404
    assert dev.raw("GET", f"{dev.base}/unknown/1").status == 404
    assert dev.raw("POST", f"{dev.base}/installedBase/{cid}/feedback", b"{}").status == 404


def test_halt_cancels_devices_that_have_not_started(server):
    # one stage, halting on the first failure
    stages = [{"percent": 100, "min_finished": 1, "max_failure_ratio": 0}]
    rel, camp, devs = setup_ddi(server, devices=("c1", "c2", "c3"), stages=stages)
    cid = camp["id"]
    c1, c2, c3 = devs
    for d in devs:
        assert action_id(d.links()["deploymentBase"]["href"]) == cid
    assert c3.feedback(cid, "proceeding").status == 200  # c3 has started
    assert c1.feedback(cid, "closed", "failure", details=["bad hash"]).status == 200
    st = server.status(cid)
    assert st["state"] == "halted", st
    # c2 never started: it is asked to cancel
    links = c2.links()
    assert "deploymentBase" not in links
    assert links["cancelAction"]["href"].endswith(f"/cancelAction/{cid}")
    ca = c2.raw("GET", links["cancelAction"]["href"])
    assert ca.status == 200 and ca.json() == {"id": str(cid), "cancelAction": {"stopId": str(cid)}}
    # c3 had started: it finishes and reports (a failing device is not cut off)
    assert "cancelAction" not in c3.links()
    assert c3.raw("GET", f"{c3.base}/cancelAction/{cid}").status == 404
    # the cancel feedback is recorded; then nothing more is asked
    r = c2.feedback(cid, "closed", "success", details=["cancellation acknowledged."],
                    kind="cancelAction")
    assert r.status == 200
    assert server.admin("GET", "/v1/devices/c2").json()["last_result"] == (
        f"cancelled campaign={cid} cancellation acknowledged.")
    assert set(c2.links()) <= {"configData"}
    # malformed cancel feedback, and cancel feedback where no cancel is pending
    assert c2.raw("POST", f"{c2.base}/cancelAction/{cid}/feedback", b"{}").status == 400
    assert c3.feedback(cid, "closed", "success", kind="cancelAction").status == 404
    assert c3.feedback(cid, "closed", "success").status == 200
    assert server.status(cid)["counts"]["success"] == 1


def test_abort_cancels_and_rejection_keeps_action(server):
    rel, camp, (d1, d2) = setup_ddi(server, devices=("a1", "a2"))
    cid = camp["id"]
    d1.poll()
    d2.poll()
    assert server.admin("POST", f"/v1/campaigns/{cid}/abort").status == 200
    for d in (d1, d2):
        assert "cancelAction" in d.links()
    # a1 rejects: its action stays open, it is not asked again
    assert d1.feedback(cid, "rejected", details=["busy"], kind="cancelAction").status == 200
    assert server.admin("GET", "/v1/devices/a1").json()["last_result"] == (
        f"cancel-rejected campaign={cid} busy")
    assert action_id(d1.links()["deploymentBase"]["href"]) == cid
    # a2 confirms with execution canceled
    assert d2.feedback(cid, "canceled", kind="cancelAction").status == 200
    assert "cancelAction" not in d2.links() and "deploymentBase" not in d2.links()


def test_config_data_inventory(server_factory):
    server = server_factory(["--ddi-hw-id-attribute", "board_rev"]).start()
    tok = server.add_device("cfg", hw_id="rev-b")
    dev = Ddi(server, "cfg", target_token=tok)
    assert "configData" in dev.links()
    assert server.admin("GET", "/v1/devices/cfg/attributes").json() == {
        "device_id": "cfg", "attributes": {}, "updated_at": None}
    # SWUpdate's form: id, time, status around the data
    body = {"id": "", "time": "20261203T121212",
            "status": {"result": {"finished": "success"}, "execution": "closed", "details": [""]},
            "data": {"board_rev": "rev-b", "mac": "00:11"}}
    assert dev.raw("PUT", f"{dev.base}/configData", body).status == 200
    assert "configData" not in dev.links()
    a = server.admin("GET", "/v1/devices/cfg/attributes").json()
    assert a["attributes"] == {"board_rev": "rev-b", "mac": "00:11"} and a["updated_at"] > 0
    assert dev.config_data({"serial": "7"}).status == 200  # merge is the default
    assert dev.config_data({"mac": ""}, mode="remove").status == 200
    attrs = server.admin("GET", "/v1/devices/cfg/attributes").json()["attributes"]
    assert attrs == {"board_rev": "rev-b", "serial": "7"}
    assert dev.config_data({"board_rev": "rev-b"}, mode="replace").status == 200
    assert server.admin("GET", "/v1/devices/cfg/attributes").json()["attributes"] == {
        "board_rev": "rev-b"}
    # the hardware id attribute may not change what the device is registered as
    r = dev.config_data({"board_rev": "rev-c"})
    assert r.status == 409 and r.json()["error"]["code"] == "hw_id_mismatch"
    assert server.admin("GET", "/v1/devices/cfg").json()["hw_id"] == "rev-b"
    for bad in ({"data": {"k": 1}}, {"data": []}, {"mode": "upsert", "data": {}}, {},
                {"data": {"k" * 129: "v"}}, {"data": {"board_rev": "bad id"}}):
        r = dev.raw("PUT", f"{dev.base}/configData", bad)
        assert r.status == 400, (bad, r)
    r = dev.raw("PUT", f"{dev.base}/configData", b"nope")
    assert r.status == 400
    big = {"data": {f"k{i}": "v" * 120 for i in range(80)}}
    r = dev.raw("PUT", f"{dev.base}/configData", big)
    assert r.status == 413
    # admin only; unknown device
    assert server.request("GET", "/v1/devices/cfg/attributes", token=tok).status == 403
    assert server.admin("GET", "/v1/devices/none/attributes").status == 404
    # deleting the device takes its attributes along
    assert server.admin("DELETE", "/v1/devices/cfg").status == 204
    server.add_device("cfg", hw_id="rev-b")
    assert server.admin("GET", "/v1/devices/cfg/attributes").json()["attributes"] == {}


def test_ota_and_ddi_devices_in_one_campaign(server, fw):
    """A signed ota image goes to native devices (signed manifest) and to DDI
    devices (e.g. Zephyr with MCUboot) in the same campaign; a raw artifact
    never goes to native devices."""
    img = fw.image("3.1.0", hw_id="hub-a")
    rel = server.upload(img, name="fw-3.1").json()
    native = server.add_device("native", hw_id="hub-a")
    ddi = Ddi(server, "zephyr", target_token=server.add_device("zephyr", hw_id="hub-a"))
    cid = server.campaign(rel["id"])["id"]
    r = server.checkin("native", native)
    assert r.status == 200 and r.json()["action"] == "update" and r.json()["campaign_id"] == cid
    dep = ddi.deployment(action_id(ddi.links()["deploymentBase"]["href"])).json()
    (art,) = dep["deployment"]["chunks"][0]["artifacts"]
    assert art["filename"] == "fw-3.1.img" and art["size"] == len(img)
    assert art["hashes"]["md5"] == hashlib.md5(img).hexdigest()
    assert art["hashes"]["sha1"] == hashlib.sha1(img).hexdigest()
    assert ddi.raw("GET", art["_links"]["download-http"]["href"]).body == img
    assert server.report("native", native, cid, "success").status == 201
    assert ddi.feedback(cid, "closed", "success").status == 200
    st = server.status(cid)
    assert st["counts"]["success"] == 2 and st["finished"] == 2
    # the image hashes were stored once: the release now carries them
    r2 = server.admin("GET", f"/v1/releases/{rel['id']}").json()
    assert r2["format"] == "image"

    # a raw release with the native device's hardware id: not for it
    rr = raw_release(server, b"zephyr-bin", version="4.0.0", hw_id="hub-a",
                     filename="zephyr.signed.bin").json()
    cid2 = server.campaign(rr["id"])["id"]
    assert server.checkin("native", native).json()["action"] == "none"
    assert action_id(ddi.links()["deploymentBase"]["href"]) == cid2


def test_staged_rollout_reaches_ddi_devices_by_stage(server):
    """Stages widen to DDI devices exactly as to native ones."""
    names = [f"s{i}" for i in range(30)]
    stages = [{"percent": 10, "soak_seconds": 60}, {"percent": 100}]
    rel, camp, devs = setup_ddi(server, devices=names, stages=stages)
    cid = camp["id"]
    first = [d.controller for d in devs if "deploymentBase" in d.links()]
    assert 0 < len(first) < len(names)
    server.advance(61)
    for d in devs:
        if d.controller in first:
            assert d.feedback(cid, "closed", "success").status == 200
    server.advance(61)
    assert server.status(cid)["stage"] == 1
    later = [d.controller for d in devs if "deploymentBase" in d.links()]
    assert sorted(later) == sorted(set(names) - set(first))


def test_options(tmp_path, fw, server_factory):
    s = server_factory(["--ddi-tenant", "acme", "--ddi-base-url", "https://updates.example/ota",
                        "--poll-interval", "3725"]).start()
    tok = s.add_device("t1", hw_id="board")
    d = Ddi(s, "t1", target_token=tok, tenant="ACME")
    body = d.poll().json()
    assert body["config"]["polling"]["sleep"] == "01:02:05"
    assert body["_links"]["configData"]["href"] == (
        "https://updates.example/ota/ACME/controller/v1/t1/configData")
    assert Ddi(s, "t1", target_token=tok).poll().status == 404  # DEFAULT is not the tenant
    for args, what in ((["--ddi-tenant", "a/b"], "--ddi-tenant"),
                       (["--ddi-base-url", "ftp://x"], "--ddi-base-url"),
                       (["--ddi-base-url", "http://x/"], "--ddi-base-url"),
                       (["--ddi-hw-id-attribute", "a b"], "--ddi-hw-id-attribute")):
        p = subprocess.run([SERVER_BIN, "--data", str(tmp_path / "bad")] + args,
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 15 and what in p.stderr, (args, p.returncode, p.stderr)
        assert not (tmp_path / "bad").exists()
    # the configuration file takes the same keys
    conf = tmp_path / "server.conf"
    conf.write_text("ddi-tenant = conf\nddi-anonymous = true\n")
    s2 = Server(tmp_path / "d2", ["--config", str(conf)]).start()
    try:
        assert Ddi(s2, "x1", tenant="conf").poll().status == 200
    finally:
        assert s2.stop() == 0


def test_links_follow_tls(server_factory, tmp_path):
    """Over HTTPS the absolute links are https:// (clients follow them as
    given: SWUpdate downloads from the "download" link)."""
    cert, key = make_cert(tmp_path)
    s = server_factory(["--tls-cert", cert, "--tls-key", key], scheme="https").start()
    ctx = ssl.create_default_context(cafile=cert)
    tok = s.request("POST", "/v1/devices", {"id": "tls-1", "hw_id": "board"},
                    token=s.admin_token, context=ctx).json()["token"]
    r = s.request("POST", "/v1/releases?format=raw&version=1.0.0&hw_id=board&filename=t.swu",
                  b"tls bytes", token=s.admin_token, context=ctx)
    assert r.status == 201, r
    s.request("POST", "/v1/campaigns", {"release_id": r.json()["id"]}, token=s.admin_token,
              context=ctx)
    dev = Ddi(s, "tls-1", target_token=tok, context=ctx)
    links = dev.links()
    base = f"https://127.0.0.1:{s.port}/DEFAULT/controller/v1/tls-1"
    assert links["configData"]["href"] == base + "/configData"
    dep = dev.raw("GET", links["deploymentBase"]["href"]).json()
    art = dep["deployment"]["chunks"][0]["artifacts"][0]
    assert art["_links"]["download"]["href"].startswith(base + "/softwaremodules/")
    assert dev.raw("GET", art["_links"]["download"]["href"]).body == b"tls bytes"


def test_pause_offers_nothing_new_but_keeps_open_actions(server):
    rel, camp, (a, b) = setup_ddi(server, devices=("p-a", "p-b"))
    cid = camp["id"]
    assert "deploymentBase" in a.links()  # a was offered before the pause
    assert server.admin("POST", f"/v1/campaigns/{cid}/pause").status == 200
    assert action_id(a.links()["deploymentBase"]["href"]) == cid
    assert "deploymentBase" not in b.links() and "cancelAction" not in b.links()
    assert server.status(cid)["counts"]["offered"] == 1
    assert server.admin("POST", f"/v1/campaigns/{cid}/resume").status == 200
    assert action_id(b.links()["deploymentBase"]["href"]) == cid
