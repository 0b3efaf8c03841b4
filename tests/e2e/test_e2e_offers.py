# SPDX-License-Identifier: Apache-2.0
"""
test_e2e_offers.py - the agent against offers and artifacts that lie, end to
end (real ota-server, ota-sim run with the agent inside), one test per
defect of issue 10:
  - defect 3: an artifact shorter than its manifest is a payload failure,
    reported after max_download_attempts (not re-downloaded forever);
  - defect 8: a slow-retrieval link (throttled after the first KiB) cuts each
    attempt at its deadline, the agent checks in between attempts, and
    reports the failure;
  - defect 9: a payload URL on a foreign origin never receives the device
    token: refused and reported; a configured artifact_origin is allowed;
  - defect 6: a captured offer replayed after the device moved on (and after
    its campaign was aborted) is refused -- stale by its signed offer
    sequence, and, with the device's sequence lost, as a downgrade -- without
    touching the aborted campaign's record.
A small HTTP front (stdlib http.server, forwarding to the real server)
plays the attacker that rewrites or replays check-in answers.
"""

import hashlib
import http.server
import json
import os
import threading
import urllib.error
import urllib.request

import otae2e as E
from faultproxy import FaultProxy

OTA_ERR_UPDATE_PAYLOAD_SIZE = 155
OTA_ERR_MANIFEST_STALE = 158
OTA_ERR_MANIFEST_DOWNGRADE = 159
OTA_ERR_NET = 190
OTA_ERR_UNTRUSTED_ORIGIN = 197


def file_sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def on_version(dev, version):
    return lambda: dev.confirmed_version() == version and dev.version() == version


class Front:
    """An HTTP server on loopback that forwards every request to `target` and
    lets the test rewrite check-in answers (rewrite(dict) -> dict). Records
    the requests it saw (method, path, Authorization)."""

    def __init__(self, target, rewrite=None):
        self.target = target
        self.rewrite = rewrite
        self.seen = []
        front = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _forward(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                front.seen.append((self.command, self.path, self.headers.get("Authorization")))
                if front.target is None:  # a bare server: record and refuse
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                hdrs = {k: v for k, v in self.headers.items()
                        if k.lower() in ("authorization", "content-type", "accept", "range")}
                req = urllib.request.Request(front.target + self.path, data=body,
                                             method=self.command, headers=hdrs)
                try:
                    with urllib.request.urlopen(req, timeout=10) as r:
                        status, data, rh = r.status, r.read(), r.headers
                except urllib.error.HTTPError as e:
                    status, data, rh = e.code, e.read(), e.headers
                if self.path.endswith("/checkin") and status == 200 and front.rewrite:
                    data = json.dumps(front.rewrite(json.loads(data))).encode()
                self.send_response(status)
                for k in ("Content-Type", "Content-Range", "ETag"):
                    if rh.get(k):
                        self.send_header(k, rh[k])
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _forward

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def failure_reports(dev, code):
    return [r for r in dev.server.reports(dev.name) if r["state"] == "failure" and r["code"] == code]


def test_short_artifact_is_a_reported_payload_failure(env):
    """Defect 3: the server holds fewer bytes than the manifest promises (its
    answer to the Range past them is 416). Before: downloaded again and again,
    never reported. Now: max_download_attempts full downloads, then a final
    failure with OTA_ERR_UPDATE_PAYLOAD_SIZE that the campaign counts."""
    s = env.start_server("--no-delta")
    v1, v2 = env.image("1.0.0", 1), env.image("2.0.0", 2)
    s.upload(v1)
    rel = s.upload(v2)
    art = os.path.join(s.dir, "artifacts", file_sha256(v2))
    size = os.path.getsize(art)
    with open(art, "r+b") as f:
        f.truncate(size - 100)
    dev = env.device("short-1", v1, extra_conf={"max_download_attempts": "3"})
    cid = s.campaign(rel["id"], [{"percent": 100}])["id"]
    dev.start()
    E.wait_for(lambda: failure_reports(dev, OTA_ERR_UPDATE_PAYLOAD_SIZE), 60,
               "a failure report with OTA_ERR_UPDATE_PAYLOAD_SIZE")
    rep = failure_reports(dev, OTA_ERR_UPDATE_PAYLOAD_SIZE)[0]
    assert rep["campaign_id"] == cid and "shorter than the manifest" in rep["detail"], rep
    E.wait_for(lambda: s.campaign_status(cid)["counts"]["failure"] >= 1, 10,
               "the campaign counting the failure")
    dev.stop()
    log = dev.log_text()
    full = log.count("GET /v1/artifacts/%s from byte 0 " % file_sha256(v2))
    print("\nshort artifact: %d downloads from byte 0, then reported: %s" % (full, rep["detail"]))
    assert full == 3, log
    assert dev.version() == "1.0.0+0"


def test_slow_retrieval_cut_by_deadline_and_reported(env):
    """Defect 8: after the first KiB the link gives 800 B/s. Before: attempt 1
    of a 60 kB payload took the full 75 s, no check-in meanwhile. Now: each
    attempt ends at timeout + remaining / min_rate_bps, the agent checks in
    before continuing, and reports the slow retrieval after
    max_download_attempts such attempts."""
    s = env.start_server("--no-delta")
    v1, v2 = env.image("1.0.0", 1), env.image("2.0.0", 2)
    s.upload(v1)
    rel = s.upload(v2)
    proxy = FaultProxy(("127.0.0.1", s.port), bytes_per_s=800, throttle_after=1024).start()
    env.proxies.append(proxy)
    dev = env.device("slow-1", v1, server_url="http://127.0.0.1:%d" % proxy.port,
                     extra_conf={"max_download_attempts": "2", "min_rate_bps": "20000",
                                 "timeout": "2"})
    cid = s.campaign(rel["id"], [{"percent": 100}])["id"]
    dev.start()
    E.wait_for(lambda: failure_reports(dev, OTA_ERR_NET), 45, "a slow-retrieval failure report")
    dev.stop()
    rep = failure_reports(dev, OTA_ERR_NET)[0]
    log = dev.log_text()
    cuts = log.count("download: slow retrieval: attempt cut at its deadline")
    offers = log.count("manifest verified")
    print("\nslow retrieval: %d attempts cut at their deadline, %d offers taken (a check-in "
          "each), reported: %s" % (cuts, offers, rep["detail"]))
    assert rep["campaign_id"] == cid and "slow retrieval" in rep["detail"], rep
    assert cuts == 2 and offers >= 2, log
    # the progress reports carry percent and rate
    assert any(r["state"] == "downloading" and "%" in r["detail"] and "KiB/s" in r["detail"]
               for r in s.reports(dev.name)), s.reports(dev.name)
    assert dev.version() == "1.0.0+0"


def test_foreign_payload_url_never_gets_the_token(env):
    """Defect 9: the check-in answer's payload.url (unsigned JSON) points at
    another origin. Before: the agent sent its bearer token there. Now: no
    request reaches it; the offer is refused and reported as
    OTA_ERR_UNTRUSTED_ORIGIN. An origin listed as artifact_origin is used."""
    s = env.start_server("--no-delta")
    v1, v2 = env.image("1.0.0", 1), env.image("2.0.0", 2)
    s.upload(v1)
    rel = s.upload(v2)
    evil = Front(None).start()
    env.proxies.append(evil)
    urls = ["%s/v1/artifacts/%s" % (evil.url, file_sha256(v2)),
            "@127.0.0.1:%d/v1/artifacts/%s" % (evil.port, file_sha256(v2))]

    def redirect(answer):
        if answer.get("action") == "update":
            answer["payload"]["url"] = urls[0]
        return answer

    front = Front(s.url, redirect).start()
    env.proxies.append(front)
    dev = env.device("origin-1", v1, server_url=front.url)
    # ratio 1: origin-1's failure must not halt the campaign before origin-2
    cid = s.campaign(rel["id"], [{"percent": 100, "max_failure_ratio": 1}])["id"]
    dev.start()
    E.wait_for(lambda: failure_reports(dev, OTA_ERR_UNTRUSTED_ORIGIN), 30,
               "a failure report with OTA_ERR_UNTRUSTED_ORIGIN")
    dev.stop()
    rep = failure_reports(dev, OTA_ERR_UNTRUSTED_ORIGIN)[0]
    assert rep["campaign_id"] == cid and "OTA_ERR_UNTRUSTED_ORIGIN" in rep["detail"], rep
    assert evil.seen == [], evil.seen
    assert dev.version() == "1.0.0+0"

    # "@host" glued to the server URL would name another host: refused too
    # (a second device: the first one's campaign record is final)
    urls[0] = urls[1]
    dev2 = env.device("origin-2", v1, server_url=front.url)
    dev2.start()
    E.wait_for(lambda: failure_reports(dev2, OTA_ERR_UNTRUSTED_ORIGIN), 30,
               "origin-2's failure report")
    dev2.stop()
    assert evil.seen == [], evil.seen

    # a CDN the configuration names is fine: "localhost" is another origin
    # than "127.0.0.1" for the same front, allowed by artifact_origin
    cdn = "http://localhost:%d" % front.port
    urls[0] = "%s/v1/artifacts/%s" % (cdn, file_sha256(v2))
    dev3 = env.device("origin-3", v1, server_url=front.url,
                      extra_conf={"artifact_origin": cdn})
    dev3.start()
    E.wait_for(on_version(dev3, "2.0.0+0"), 60, "origin-3 on 2.0.0 through the CDN origin")
    dev3.stop()
    assert any(p.startswith("/v1/artifacts/") and auth for m, p, auth in front.seen)


def test_replayed_offer_after_upgrade_and_abort_is_refused(env):
    """Defect 6, the exact scenario: an offer of 1.0.0 is captured while the
    device runs 0.9.0; its campaign is aborted; the device moves to 1.1.0
    (same security counter); the captured offer is replayed. Before: 1.0.0
    was installed and confirmed. Now: refused as stale (its signed offer
    sequence is older than the 1.1.0 offer the device accepted) and, with
    the device's remembered sequence wiped, as a downgrade (no signed
    downgrade flag); the aborted campaign's record is not touched."""
    s = env.start_server("--no-delta")
    v09, v10, v11 = env.image("0.9.0", 1), env.image("1.0.0", 1), env.image("1.1.0", 1)
    s.upload(v09)
    rel10, rel11 = s.upload(v10), s.upload(v11)
    dev = env.device("replay-1", v09)
    camp_a = s.campaign(rel10["id"], [{"percent": 100}])["id"]
    captured = s.api("POST", "/v1/devices/%s/checkin" % dev.name, {
        "hw_id": E.HW, "current_version": "0.9.0+0", "current_digest": file_sha256(v09),
        "slot_state": "confirmed", "manifest_format": 2}, token=dev.token)
    assert captured["action"] == "update" and captured["campaign_id"] == camp_a, captured
    s.api("POST", "/v1/campaigns/%d/abort" % camp_a)
    camp_b = s.campaign(rel11["id"], [{"percent": 100}])["id"]
    dev.start()
    E.wait_for(on_version(dev, "1.1.0+0"), 60, "replay-1 on 1.1.0")
    E.wait_for(lambda: "success" in dev.report_states(), 20, "the success report")
    dev.stop()
    before_a = [r for r in s.reports(dev.name) if r["campaign_id"] == camp_a]

    def replay(answer):
        return captured

    front = Front(s.url, replay).start()
    env.proxies.append(front)
    dev.write_conf(front.url)
    dev.start()
    E.wait_for(lambda: failure_reports(dev, OTA_ERR_MANIFEST_STALE), 30,
               "a failure report with OTA_ERR_MANIFEST_STALE")
    dev.stop()
    stale = failure_reports(dev, OTA_ERR_MANIFEST_STALE)[0]

    # the device lost its remembered sequence (state file wiped of it): the
    # version rule alone still refuses the older release
    state_path = dev.flash + ".agent-state"
    with open(state_path) as f:
        st = json.load(f)
    assert int(st["offer_seq"]) > 0, st
    del st["offer_seq"]
    with open(state_path, "w") as f:
        json.dump(st, f)
    dev.start()
    E.wait_for(lambda: failure_reports(dev, OTA_ERR_MANIFEST_DOWNGRADE), 30,
               "a failure report with OTA_ERR_MANIFEST_DOWNGRADE")
    dev.stop()
    down = failure_reports(dev, OTA_ERR_MANIFEST_DOWNGRADE)[0]
    print("\nreplayed offer of campaign %d: %s | %s" % (camp_a, stale["detail"], down["detail"]))

    assert dev.version() == "1.1.0+0" and dev.confirmed_version() == "1.1.0+0"
    assert "GET /v1/artifacts/%s" % file_sha256(v10) not in dev.log_text()
    for r in (stale, down):
        # reported as the device's own event, naming the campaign it claimed
        assert r["campaign_id"] == 0 and ("campaign %d" % camp_a) in r["detail"], r
    assert [r for r in s.reports(dev.name) if r["campaign_id"] == camp_a] == before_a
    assert s.campaign_status(camp_a)["state"] == "aborted"
    assert s.campaign_status(camp_b)["counts"]["success"] == 1


def test_deliberate_downgrade_campaign_is_installed(env):
    """The other side of the downgrade rule: a campaign an administrator
    creates for an older release (same security counter) is signed with the
    DOWNGRADE flag by the server, and the device installs it."""
    s = env.start_server("--no-delta")
    v11, v10 = env.image("1.1.0", 1), env.image("1.0.0", 1)
    s.upload(v11)
    rel10 = s.upload(v10)
    dev = env.device("back-1", v11)
    s.campaign(rel10["id"], [{"percent": 100}])
    dev.start()
    E.wait_for(on_version(dev, "1.0.0+0"), 60, "back-1 back on 1.0.0")
    dev.stop()
    assert "REFUSED" not in dev.log_text()
