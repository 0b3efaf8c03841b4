# SPDX-License-Identifier: Apache-2.0
"""
test_e2e_swupdate.py - hawkBit DDI end to end (docs/ddi.md): Debian's real,
unmodified `swupdate` (suricatta in hawkBit mode) updates from ota-server.
The .swu is a cpio (newc) archive whose sw-description is signed with
`openssl cms` and verified by swupdate against its -k certificate; its
rawfile handler installs the payload into a file of the test's directory.
A reboot is simulated by restarting swupdate with `-c 2` (the state a
bootloader environment would hold). A failing install is reported as
failure and halts its canary stage; a device that had not started then
acknowledges swupdate's cancelAction. The same update runs over HTTPS
(swupdate checks the server's certificate with its cafile). A native ota
device (ota-sim, the agent inside) and a DDI client share one campaign.

swupdate talks only to 127.0.0.1; its IPC sockets and temporary files are
under the test's TMPDIR; the "none" bootloader keeps its state in memory.
"""

import hashlib
import json
import os
import shutil
import signal
import struct
import subprocess
import time
import urllib.error
import urllib.request

import pytest

import otae2e as E

SWUPDATE = shutil.which("swupdate") or "/usr/bin/swupdate"
HWREV = "ota-e2e:1.0"  # swupdate -H board:revision; sw-description lists 1.0


def need_swupdate():
    if not os.access(SWUPDATE, os.X_OK):
        pytest.fail("swupdate not installed (scripts/setup.sh installs Debian's swupdate)",
                    pytrace=False)
    if not shutil.which("cpio"):
        pytest.fail("cpio not installed (scripts/setup.sh installs it)", pytrace=False)


def make_signer(work):
    """A self-signed P-256 certificate: it signs sw-description (CMS) and is
    the certificate swupdate verifies with (-k)."""
    key = os.path.join(work, "signer.key")
    crt = os.path.join(work, "signer.crt")
    E.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
           "-nodes", "-keyout", key, "-out", crt, "-days", "2", "-subj",
           "/O=ota e2e/CN=swupdate signer"])
    return key, crt


def make_swu(work, name, signer, version, payload, target, declared_sha256=None):
    """A signed .swu installing payload into the file target (rawfile
    handler). declared_sha256: what sw-description claims (a wrong one
    makes the install fail after the signature verified)."""
    d = os.path.join(work, "swu-" + name)
    os.makedirs(d)
    with open(os.path.join(d, "payload.bin"), "wb") as f:
        f.write(payload)
    sha = declared_sha256 or hashlib.sha256(payload).hexdigest()
    with open(os.path.join(d, "sw-description"), "w") as f:
        f.write('software =\n{\n\tversion = "%s";\n\tdescription = "ota e2e %s";\n'
                '\thardware-compatibility: [ "1.0" ];\n\tfiles: (\n\t\t{\n'
                '\t\t\tfilename = "payload.bin";\n\t\t\tpath = "%s";\n'
                '\t\t\tsha256 = "%s";\n\t\t}\n\t);\n}\n' % (version, name, target, sha))
    E.run(["openssl", "cms", "-sign", "-in", "sw-description", "-out", "sw-description.sig",
           "-signer", signer[1], "-inkey", signer[0], "-outform", "DER", "-nosmimecap",
           "-binary"], cwd=d)
    out = os.path.join(work, name + ".swu")
    with open(out, "wb") as f:
        p = subprocess.run(["cpio", "-o", "-H", "newc"], cwd=d, stdout=f, stderr=subprocess.PIPE,
                           input=b"sw-description\nsw-description.sig\npayload.bin\n")
    assert p.returncode == 0, p.stderr
    with open(out, "rb") as f:
        return f.read()


def upload_raw(server, data, version, hw_id, filename="update.swu"):
    req = urllib.request.Request(
        server.url + "/v1/releases?format=raw&version=%s&hw_id=%s&filename=%s"
        % (version, hw_id, filename), data=data, method="POST",
        headers={"Authorization": "Bearer " + server.token,
                 "Content-Type": "application/octet-stream"})
    with urllib.request.urlopen(req, timeout=30, context=server._ssl()) as r:
        return json.loads(r.read())


class Swupdate:
    """One swupdate process (suricatta) acting as DDI controller `name`."""

    def __init__(self, work, name, server, signer_crt, token=None, gateway=None, cafile=None):
        self.name = name
        self.server = server
        self.crt = signer_crt
        self.token, self.gateway = token, gateway
        self.dir = os.path.join(work, "sw-" + name)
        self.tmp = os.path.join(self.dir, "t")  # TMPDIR: IPC sockets, extracted files
        os.makedirs(self.tmp)
        self.target = os.path.join(self.dir, "installed.bin")
        self.cfg = os.path.join(self.dir, "swupdate.cfg")
        with open(self.cfg, "w") as f:
            # identify: the configData attributes (the hardware id among them)
            f.write('globals :\n{\n\tverbose = true;\n\tloglevel = 6;\n};\n'
                    'identify : (\n\t{ name = "hw_id"; value = "swu-board"; },\n'
                    '\t{ name = "serial"; value = "%s"; }\n);\n' % name)
            if cafile:  # HTTPS: the server certificate is checked against it
                f.write('suricatta :\n{\n\tcafile = "%s";\n};\n' % cafile)
        self.proc = None
        self.log_path = os.path.join(self.dir, "swupdate.log")
        self.runs = 0

    def start(self, confirm=None):
        assert self.proc is None
        sur = "-t DEFAULT -u %s -i %s" % (self.server.url, self.name)
        sur += " -k %s" % self.token if self.token else " -g %s" % self.gateway
        if confirm:
            sur += " -c %s" % confirm
        self.runs += 1
        log = open(self.log_path, "a")
        log.write("==== run %d: suricatta %s\n" % (self.runs, sur))
        log.flush()
        env = dict(os.environ, TMPDIR=self.tmp)
        for k in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
            env.pop(k, None)
        self.proc = subprocess.Popen(
            [SWUPDATE, "-f", self.cfg, "-H", HWREV, "-k", self.crt, "-u", sur],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        log.close()
        return self

    def stop(self):
        """Stop swupdate and its helper processes (its own process group)."""
        if self.proc is None:
            return
        for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        try:  # helpers left behind by the main process
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.proc = None

    def installed(self):
        try:
            with open(self.target, "rb") as f:
                return f.read()
        except OSError:
            return None

    def log_text(self):
        try:
            return open(self.log_path, errors="replace").read()
        except OSError:
            return ""


class DdiClient:
    """A DDI controller written here, doing what Zephyr's hawkbit client
    does: poll, read the deployment, download with a resumed range, check
    the SHA-256, report."""

    def __init__(self, server, name, gateway):
        self.server, self.name, self.gateway = server, name, gateway
        self.base = "%s/DEFAULT/controller/v1/%s" % (server.url, name)

    def call(self, method, url, body=None, headers=None):
        h = {"Authorization": "GatewayToken " + self.gateway}
        h.update(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        req = urllib.request.Request(url, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def poll(self):
        st, _, body = self.call("GET", self.base)
        assert st == 200, (st, body)
        return json.loads(body)["_links"]

    def feedback(self, aid, execution, finished="none", details=()):
        st, _, body = self.call("POST", "%s/deploymentBase/%s/feedback" % (self.base, aid),
                                {"id": str(aid), "status": {"execution": execution,
                                 "result": {"finished": finished}, "details": list(details)}})
        assert st == 200, (st, body)

    def update_once(self):
        """One update if one is offered: the installed bytes, or None."""
        links = self.poll()
        if "configData" in links:
            st, _, body = self.call("PUT", links["configData"]["href"],
                                    {"mode": "merge", "data": {"hw_id": E.HW}})
            assert st == 200, (st, body)
            links = self.poll()
        if "deploymentBase" not in links:
            return None
        st, _, body = self.call("GET", links["deploymentBase"]["href"])
        assert st == 200, (st, body)
        dep = json.loads(body)
        aid = dep["id"]
        art = dep["deployment"]["chunks"][0]["artifacts"][0]
        url = art["_links"]["download-http"]["href"]
        self.feedback(aid, "proceeding", details=["downloading " + art["filename"]])
        half = art["size"] // 2
        st, _, first = self.call("GET", url, headers={"Range": "bytes=0-%d" % (half - 1)})
        assert st == 206 and len(first) == half
        st, _, rest = self.call("GET", url, headers={"Range": "bytes=%d-" % half})
        assert st == 206
        data = first + rest
        assert hashlib.sha256(data).hexdigest() == art["hashes"]["sha256"]
        assert hashlib.sha1(data).hexdigest() == art["hashes"]["sha1"]
        self.feedback(aid, "closed", "success", ["installed and booted"])
        return data


@pytest.fixture
def swupdates():
    started = []
    yield started
    for s in started:
        s.stop()


def make_device(server, name, hw="swu-board"):
    return server.api("POST", "/v1/devices", {"id": name, "hw_id": hw})["token"]


def bucket(campaign_id, device_id):
    """The device's place in a campaign (rollout.c): 0..9999."""
    h = hashlib.sha256(b"ota-rollout\0" + struct.pack("<q", campaign_id)
                       + device_id.encode()).digest()
    return struct.unpack("<Q", h[:8])[0] % 10000


def test_swupdate_installs_reboots_confirms(env, swupdates, work):
    need_swupdate()
    s = env.start_server()
    signer = make_signer(work)
    tok = make_device(s, "swu-1")
    dev = Swupdate(work, "swu-1", s, signer[1], token=tok)
    swupdates.append(dev)
    payload = os.urandom(20000)
    swu = make_swu(work, "v2", signer, "2.0.0", payload, dev.target)
    rel = upload_raw(s, swu, "2.0.0", "swu-board")
    c = s.campaign(rel["id"], [{"percent": 100}])
    t0 = time.time()
    dev.start()
    E.wait_for(lambda: dev.installed() == payload, 60, "swupdate wrote the payload")
    # installed, not confirmed: the action is still open
    E.wait_for(lambda: "All Chunks Installed." in json.dumps(s.reports("swu-1")), 20,
               "swupdate's last progress feedback")
    st = s.campaign_status(c["id"])
    assert st["counts"]["downloading"] == 1 and st["finished"] == 0, st
    # reboot into the new system: swupdate starts again and confirms
    dev.stop()
    dev.start(confirm="2")
    E.wait_for(lambda: s.campaign_status(c["id"])["counts"]["success"] == 1, 60,
               "campaign records the success")
    elapsed = time.time() - t0
    # complete once the stage has run a poll interval (1 s here)
    E.wait_for(lambda: s.campaign_status(c["id"])["rollout_complete"], 20, "rollout complete")
    st = s.campaign_status(c["id"])
    assert st["finished"] == 1 and st["failed"] == 0 and st["rollout_complete"], st
    reps = s.reports("swu-1")
    assert reps[-1]["state"] == "success"
    assert reps[-1]["detail"] == "ddi closed/success: Update Installed.", reps[-1]
    assert all(r["state"] == "downloading" for r in reps[:-1]), reps
    d = s.api("GET", "/v1/devices/swu-1")
    assert d["current_version"] == "2.0.0+0" and d["current_digest"] == rel["digest"]
    # swupdate's identify section reached the inventory
    attrs = s.api("GET", "/v1/devices/swu-1/attributes")["attributes"]
    assert attrs == {"hw_id": "swu-board", "serial": "swu-1"}, attrs
    # the signature was really checked, by swupdate
    log = dev.log_text()
    assert "Verified OK" in log and "Installing file payload.bin" in log, log[-3000:]
    # nothing more is offered: swupdate keeps polling, installs nothing else
    n = len(s.reports("swu-1"))
    time.sleep(2.5)
    assert len(s.reports("swu-1")) == n
    print("swupdate: update installed and confirmed in %.1f s, %d feedbacks"
          % (elapsed, len(reps)))


def test_swupdate_failure_halts_canary_and_cancels(env, swupdates, work):
    need_swupdate()
    s = env.start_server()
    signer = make_signer(work)
    # campaign 1 on a fresh server: pick device names by their rollout place
    canary = next(n for n in ("swu-bad-%d" % i for i in range(1000)) if bucket(1, n) < 2000)
    waiting = next(n for n in ("swu-wait-%d" % i for i in range(1000)) if bucket(1, n) < 2000)
    later = next(n for n in ("swu-later-%d" % i for i in range(1000)) if bucket(1, n) >= 2000)
    gw = s.api("POST", "/v1/ddi/gateway-token")["token"]
    bad = Swupdate(work, canary, s, signer[1], gateway=gw)
    swupdates.append(bad)
    payload = os.urandom(5000)
    # sw-description claims another hash: swupdate refuses to install it
    swu = make_swu(work, "broken", signer, "3.0.0", payload, bad.target,
                   declared_sha256=hashlib.sha256(b"something else").hexdigest())
    rel = upload_raw(s, swu, "3.0.0", "swu-board")
    c = s.campaign(rel["id"], [{"percent": 20, "min_finished": 1, "max_failure_ratio": 0},
                               {"percent": 100}])
    assert c["id"] == 1
    # another canary polls (through the gateway) but has not started yet
    w = DdiClient(s, waiting, gw)
    w.poll()
    st, _, _ = w.call("PUT", "%s/configData" % w.base, {"data": {"hw_id": "swu-board"}})
    assert st == 200
    assert "deploymentBase" in w.poll()
    # a device outside the canary stage gets nothing
    lt = DdiClient(s, later, gw)
    lt.call("GET", lt.base)
    lt.call("PUT", "%s/configData" % lt.base, {"data": {"hw_id": "swu-board"}})
    assert "deploymentBase" not in lt.poll()
    bad.start()
    E.wait_for(lambda: s.campaign_status(1)["state"] == "halted", 60, "the canary halts")
    st = s.campaign_status(1)
    assert st["counts"]["failure"] == 1 and st["stage"] == 0, st
    assert "exceeded the maximum" in st["halt_reason"]
    (fail,) = [r for r in s.reports(canary) if r["state"] == "failure"]
    assert fail["detail"].startswith("ddi closed/failure"), fail
    # swupdate's summary in the report; the reason in its log
    assert "No suitable .swu image found" in fail["detail"], fail
    assert "HASH mismatch" in bad.log_text()
    assert bad.installed() is None  # nothing was written
    # gateway-registered: its hardware id came from swupdate's configData
    assert s.api("GET", "/v1/devices/" + canary)["hw_id"] == "swu-board"
    # the waiting canary had not started: swupdate acknowledges the cancel
    sw2 = Swupdate(work, waiting, s, signer[1], gateway=gw)
    swupdates.append(sw2)
    sw2.start()
    E.wait_for(lambda: s.api("GET", "/v1/devices/" + waiting)["last_result"].startswith(
        "cancelled campaign=1"), 60, "the cancel feedback of swupdate")
    assert "cancellation acknowledged" in s.api("GET", "/v1/devices/" + waiting)["last_result"]
    # halted: the stage never widens, the later device is never offered
    s.advance_clock(3600)
    assert s.campaign_status(1)["state"] == "halted"
    assert "deploymentBase" not in lt.poll() and "cancelAction" not in lt.poll()
    assert sw2.installed() is None
    print("canary %s failed, campaign halted; %s cancelled" % (canary, waiting))


def test_native_and_ddi_devices_in_one_campaign(env):
    """An ota image release goes to an ota-sim device (signed manifest,
    agent) and to a DDI controller (as Zephyr would take an MCUboot image)
    through the same staged campaign."""
    s = env.start_server()
    v1 = env.image("1.0.0", 1)
    v2 = env.image("2.0.0", 2)
    s.upload(v1)
    r2 = s.upload(v2)
    gw = s.api("POST", "/v1/ddi/gateway-token")["token"]
    native = env.device("native-1", v1)
    ddi = DdiClient(s, "zephyr-1", gw)
    c = s.campaign(r2["id"], [{"percent": 100, "min_finished": 2}])
    native.start()
    got = E.wait_for(ddi.update_once, 30, "the DDI controller's update")
    with open(v2, "rb") as f:
        assert got == f.read()
    E.wait_for(lambda: native.confirmed_version() == "2.0.0+0", 60, "native-1 on 2.0.0")
    E.wait_for(lambda: s.campaign_status(c["id"])["counts"]["success"] == 2, 30,
               "both devices counted")
    E.wait_for(lambda: s.campaign_status(c["id"])["rollout_complete"], 20, "rollout complete")
    st = s.campaign_status(c["id"])
    assert st["finished"] == 2 and st["failed"] == 0 and st["rollout_complete"], st
    assert s.api("GET", "/v1/devices/zephyr-1")["current_version"] == "2.0.0+0"
    assert [r["state"] for r in s.reports("zephyr-1")] == ["downloading", "success"]


def test_swupdate_over_https(env, swupdates, work):
    """The same update over TLS 1.3: swupdate checks ota-server's
    certificate (its cafile) and follows the https:// links."""
    need_swupdate()
    cert, key, _ = E.make_tls_cert(work)
    s = E.Server(work, env.keys.pub, tls=(cert, key)).start()
    env.server = s
    signer = make_signer(work)
    tok = make_device(s, "swu-tls")
    dev = Swupdate(work, "swu-tls", s, signer[1], token=tok, cafile=cert)
    swupdates.append(dev)
    payload = os.urandom(8000)
    rel = upload_raw(s, make_swu(work, "tls", signer, "2.1.0", payload, dev.target), "2.1.0",
                     "swu-board")
    c = s.campaign(rel["id"], [{"percent": 100}])
    assert s.url.startswith("https://")
    # without the server's certificate swupdate refuses the connection
    stranger = Swupdate(work, "swu-tls-nocert", s, signer[1], token=tok)
    swupdates.append(stranger)
    stranger.start()
    E.wait_for(lambda: "certificate" in stranger.log_text().lower(), 30,
               "swupdate refusing an unknown server certificate")
    stranger.stop()
    assert s.campaign_status(c["id"])["counts"]["offered"] == 0
    dev.start()
    E.wait_for(lambda: dev.installed() == payload, 60, "swupdate wrote the payload over HTTPS")
    E.wait_for(lambda: "All Chunks Installed." in json.dumps(s.reports("swu-tls")), 20,
               "swupdate's last progress feedback")
    dev.stop()
    dev.start(confirm="2")
    E.wait_for(lambda: s.campaign_status(c["id"])["counts"]["success"] == 1, 60,
               "campaign records the success")
    assert "https://127.0.0.1:%d/DEFAULT/controller/v1/swu-tls/softwaremodules/" % s.port \
        in dev.log_text()
