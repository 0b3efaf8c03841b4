# SPDX-License-Identifier: Apache-2.0
"""
otae2e.py - the end-to-end harness: real ota-server, ota-sim run (which runs
ota-agent in-process) and the ota tool as processes on loopback.

Why it exists: the e2e tests and scripts/demo.sh's checks need the same
moves -- start a server, make keys and releases, provision simulated
devices, start/stop them, drive campaigns -- written once, with clear
failure messages. Standard library only (the tests run with Debian's
/usr/bin/python3).

Binaries come from $OTA_BUILD_DIR (default: ./build).
"""

import json
import os
import random
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

BUILD = os.environ.get("OTA_BUILD_DIR", os.path.join(os.getcwd(), "build"))
SERVER = os.path.join(BUILD, "src/server/ota-server")
SIM = os.path.join(BUILD, "src/sim/ota-sim")
TOOL = os.path.join(BUILD, "src/tool/ota")
AGENT = os.path.join(BUILD, "src/agent/ota-agent")
HW = "sim-board"


def make_tls_cert(workdir, name="server", ips=("127.0.0.1",)):
    """A self-signed P-256 certificate for 127.0.0.1 (and any other address
    in ips: a QEMU guest's view of the server); returns (cert, key, pubkey)."""
    cert = os.path.join(workdir, name + "-cert.pem")
    key = os.path.join(workdir, name + "-key.pem")
    pub = os.path.join(workdir, name + "-pub.pem")
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=" + ",".join("IP:" + ip for ip in ips)])
    p = run(["openssl", "x509", "-in", cert, "-pubkey", "-noout"])
    with open(pub, "w") as f:
        f.write(p.stdout)
    return cert, key, pub


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def run(cmd, check=True, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if check and p.returncode != 0:
        raise AssertionError("command failed (%d): %s\nstdout: %s\nstderr: %s"
                             % (p.returncode, " ".join(cmd), p.stdout, p.stderr))
    return p


def wait_for(cond, timeout, what, interval=0.1):
    """Poll cond() until it returns a true value; fail with `what` on timeout."""
    end = time.time() + timeout
    last = None
    while time.time() < end:
        last = cond()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.0fs waiting for %s (last: %r)" % (timeout, what, last))


class Keys:
    """A firmware signing key pair made with the ota tool."""

    def __init__(self, workdir, name="fw"):
        self.priv = os.path.join(workdir, name + ".pem")
        self.pub = os.path.join(workdir, name + ".pub.pem")
        run([TOOL, "keygen", "-o", self.priv])
        p = run([TOOL, "pubkey", self.priv])
        with open(self.pub, "w") as f:
            f.write(p.stdout)


def firmware_payload(version_seed, behaviour="healthy", size=60000, base_seed=1):
    """Test firmware: a behaviour marker, then code-like bytes that change
    only a little between versions (so deltas are small, like real builds)."""
    rnd = random.Random(base_seed)
    body = bytearray(rnd.getrandbits(8) for _ in range(size))
    edit = random.Random(version_seed * 7919 + 13)
    for _ in range(40 + version_seed * 3):
        pos = edit.randrange(size - 64)
        body[pos:pos + 16] = bytes(edit.getrandbits(8) for _ in range(16))
    marker = ("OTA-SIM-BEHAVIOUR=%s\nversion-seed=%d\n" % (behaviour, version_seed)).encode()
    return marker + bytes(body)


def build_image(workdir, keys, version, security_counter, behaviour="healthy", hw=HW,
                seed=None, size=60000, encrypt=None, aes=None, link_slot=None):
    """Sign a test firmware; returns the image path. encrypt: a device
    encryption public key (PEM) to encrypt it for (`ota sign --encrypt`),
    aes: 128 or 256. link_slot: "A" or "B", a per-slot build (`ota sign
    --link-slot`; its payload says which, as a relinked build differs)."""
    major = int(version.split(".")[0])
    seed = major * 10 + int(version.split(".")[1]) if seed is None else seed
    tag = behaviour + ("-enc%s-%s" % (aes or "", os.path.basename(encrypt)) if encrypt else "")
    tag += "-slot" + link_slot if link_slot else ""
    raw = os.path.join(workdir, "app-%s-%s.bin" % (version, tag))
    img = os.path.join(workdir, "app-%s-%s.img" % (version, tag))
    payload = firmware_payload(seed, behaviour, size)
    if link_slot:
        payload = ("linked-for-slot=%s\n" % link_slot).encode() + payload
    with open(raw, "wb") as f:
        f.write(payload)
    extra = ["--encrypt", encrypt] if encrypt else []
    if link_slot:
        extra += ["--link-slot", link_slot]
    if aes:
        extra += ["--aes", str(aes)]
    run([TOOL, "sign", "--key", keys.priv, "--version", version, "--security-counter",
         str(security_counter), "--hw-id", hw, "-q"] + extra + [raw, img])
    return img


def enc_keygen(workdir, name="device-enc"):
    """A device decryption key pair (`ota keygen`): (private PEM, public PEM)."""
    priv = os.path.join(workdir, name + ".pem")
    pub = os.path.join(workdir, name + ".pub.pem")
    run([TOOL, "keygen", "-o", priv, "--pub", pub])
    return priv, pub


class Server:
    """ota-server on a loopback port chosen at start (kept across restarts)."""

    def __init__(self, workdir, fw_pub, extra=None, tls=None):
        self.dir = os.path.join(workdir, "server")
        self.fw_pub = fw_pub
        self.port = free_port()
        self.tls = tls  # (cert, key) or None
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", self.port)
        self.extra = list(extra or [])
        if tls:
            self.extra += ["--tls-cert", tls[0], "--tls-key", tls[1]]
        self.proc = None
        self.token = None
        self.log_path = os.path.join(workdir, "server.log")
        self.token_file = os.path.join(workdir, "admin-token")

    def start(self):
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [SERVER, "--data", self.dir, "--listen", "127.0.0.1:%d" % self.port,
             "--trusted-key", self.fw_pub, "--test-clock", "--poll-interval", "1",
             "--admin-token-file", self.token_file, "--threads", "4"] + self.extra,
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(self._healthy, 20, "ota-server /healthz on port %d" % self.port)
        if self.token is None:
            with open(self.token_file) as f:
                self.token = f.read().strip()
        return self

    def _healthy(self):
        if self.proc.poll() is not None:
            raise AssertionError("ota-server exited with %d; log:\n%s"
                                 % (self.proc.returncode, open(self.log_path).read()[-3000:]))
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=1,
                                        context=self._ssl()) as r:
                return r.status == 200
        except (urllib.error.URLError, ConnectionError, OSError):
            return False

    def _ssl(self):
        if not self.tls:
            return None
        import ssl
        return ssl.create_default_context(cafile=self.tls[0])

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    @property
    def manifest_pub(self):
        return os.path.join(self.dir, "keys", "manifest-key.pub.pem")

    def api(self, method, path, body=None, raw=None, token=None, ok=(200, 201)):
        data, headers = None, {"Authorization": "Bearer " + (token or self.token)}
        if raw is not None:
            data = raw
            headers["Content-Type"] = "application/octet-stream"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30, context=self._ssl()) as r:
                status, text = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        out = json.loads(text) if text else {}
        if ok and status not in ok:
            raise AssertionError("%s %s -> %d: %s" % (method, path, status, text))
        return out

    def upload(self, image):
        with open(image, "rb") as f:
            return self.api("POST", "/v1/releases", raw=f.read())

    def upload_pair(self, image_a, image_b):
        """A per-slot release: the slot-A build, then the slot-B build."""
        rel = self.upload(image_a)
        with open(image_b, "rb") as f:
            return self.api("POST", "/v1/releases/%d/images" % rel["id"], raw=f.read())

    def campaign(self, release_id, stages, name=None):
        body = {"release_id": release_id, "stages": stages}
        if name:
            body["name"] = name
        return self.api("POST", "/v1/campaigns", body)

    def campaign_status(self, cid):
        return self.api("GET", "/v1/campaigns/%d" % cid)

    def advance_clock(self, seconds):
        return self.api("POST", "/v1/admin/clock", {"advance_seconds": seconds})

    def reports(self, device_id):
        return self.api("GET", "/v1/devices/%s/reports" % device_id)["reports"]


class AgentLog:
    """What a device's agent wrote (self.log_path) and reported to self.server
    under self.name; shared by every kind of test device."""

    def log_text(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""

    def log_tail(self, n=40):
        return "\n".join(self.log_text().splitlines()[-n:])

    def report_states(self):
        return [r["state"] for r in self.server.reports(self.name)]


class Device(AgentLog):
    """A simulated device: flash file + agent config + an `ota-sim run` process."""

    def __init__(self, workdir, name, server, keys, v1_image, tags=None, server_url=None,
                 extra_conf=None, attempts=3, enrollment_token=None, enc_key=None):
        self.name = name
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.flash = os.path.join(self.dir, "dev.flash")
        self.conf = os.path.join(self.dir, "agent.conf")
        self.log_path = os.path.join(self.dir, "device.log")
        self.server = server
        self.proc = None
        if enrollment_token:
            self.token = ""  # the agent enrolls itself
            extra_conf = dict(extra_conf or {}, enrollment_token=enrollment_token)
        else:
            d = server.api("POST", "/v1/devices", {"id": name, "hw_id": HW, "tags": tags or []})
            self.token = d["token"]
        run([SIM, "create", self.flash, "--key", keys.pub, "--hw-id", HW, "--attempts",
             str(attempts)] + (["--enc-key", enc_key] if enc_key else []))
        run([SIM, "install", self.flash, v1_image])
        run([SIM, "boot", self.flash])
        run([SIM, "confirm", self.flash])
        self.write_conf(server_url or server.url, extra_conf)

    def write_conf(self, url, extra=None, server_key=None):
        conf = {
            "server": url,
            "device_id": self.name,
            "server_key": server_key or self.server.manifest_pub,
            "allow_http": "yes",
            "poll_interval": "0.5",
            "backoff_min": "0.05",
            "backoff_max": "1",
            "timeout": "5",
            "stall_timeout": "2",
            "log_level": "info",
            "seed": str(abs(hash(self.name)) % 100000 + 1),
        }
        if self.token:
            conf["token"] = self.token
        conf.update(extra or {})
        with open(self.conf, "w") as f:
            f.write("# agent config written by the e2e harness\n")
            for k, v in conf.items():
                if v is not None:  # None: leave the agent's default
                    f.write("%s = %s\n" % (k, v))

    def start(self, *args):
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen([SIM, "run", self.flash, "--agent-config", self.conf,
                                      "--max-boots", "40"] + list(args),
                                     stdout=self.log, stderr=subprocess.STDOUT)
        return self

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("device %s did not exit in %ds; log tail:\n%s"
                                 % (self.name, timeout, self.log_tail()))

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def status(self):
        return json.loads(run([SIM, "status", self.flash, "--json"]).stdout)

    def version(self):
        st = self.status()
        run_slot = st.get("running")
        for s in st["slots"]:
            if s["name"] == run_slot:
                return s["version"]
        return None

    def confirmed_version(self):
        st = self.status()
        for s in st["slots"]:
            if s.get("role") == "confirmed":
                return s["version"]
        return None

