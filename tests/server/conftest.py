# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the ota-server integration tests.

Every test starts the real ota-server binary on a free loopback port with its
own data directory, and talks to it over HTTP (urllib). Signed firmware
images come from the real `ota` tool. Binaries are found through
OTA_SERVER_BIN / OTA_TOOL_BIN (set by ctest) or under OTA_BUILD_DIR.
"""
import base64
import hashlib
import json
import os
import re
import signal
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.request

import pytest

BUILD = os.environ.get("OTA_BUILD_DIR", os.path.join(os.path.dirname(__file__), "../../build"))
SERVER_BIN = os.environ.get("OTA_SERVER_BIN", os.path.join(BUILD, "src/server/ota-server"))
TOOL_BIN = os.environ.get("OTA_TOOL_BIN", os.path.join(BUILD, "src/tool/ota"))


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


class Server:
    """One ota-server process."""

    def __init__(self, data_dir, extra_args=(), scheme="http"):
        self.data_dir = str(data_dir)
        self.extra_args = list(extra_args)
        self.scheme = scheme
        self.proc = None
        self.port = None
        self.admin_token = None
        self.stdout_lines = []
        self.log_path = os.path.join(self.data_dir + ".log")

    def start(self, listen="127.0.0.1:0", timeout=20):
        self.log = open(self.log_path, "ab")
        args = [SERVER_BIN, "--data", self.data_dir, "--listen", listen, "--test-clock",
                "--threads", "2", "--inventory-flush", "1"] + self.extra_args
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log)
        deadline = time.time() + timeout
        while time.time() < deadline:
            line = self.proc.stdout.readline().decode()
            if not line:
                raise RuntimeError(f"ota-server exited early ({self.proc.wait()}): "
                                   + "".join(self.stdout_lines) + self.read_log())
            self.stdout_lines.append(line)
            m = re.search(r"admin token \(shown once[^:]*: (\S+)", line)
            if m:
                self.admin_token = m.group(1)
            m = re.search(r"listening on (https?)://[^ ]*:(\d+)", line)
            if m:
                self.port = int(m.group(2))
                return self
        raise RuntimeError("ota-server did not report its port")

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        if self.proc:
            rest = self.proc.stdout.read().decode()
            self.stdout_lines.append(rest)
            self.proc.stdout.close()
        if getattr(self, "log", None):
            self.log.close()
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        return rc

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc.stdout.close()
        self.log.close()
        self.proc = None

    @property
    def url(self):
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def request(self, method, path, body=None, token=None, headers=None, ctype=None,
                timeout=30, context=None):
        h = dict(headers or {})
        data = None
        if body is not None:
            if isinstance(body, (bytes, bytearray)):
                data = bytes(body)
                h.setdefault("Content-Type", ctype or "application/octet-stream")
            elif isinstance(body, str):
                data = body.encode()
                h.setdefault("Content-Type", ctype or "application/json")
            else:
                data = json.dumps(body).encode()
                h.setdefault("Content-Type", ctype or "application/json")
        if token:
            h["Authorization"] = "Bearer " + token
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
                return Response(r.status, r.headers, r.read())
        except urllib.error.HTTPError as e:
            return Response(e.code, e.headers, e.read())

    # admin conveniences
    def admin(self, method, path, body=None, **kw):
        return self.request(method, path, body, token=self.admin_token, **kw)

    def upload(self, image_bytes, name=None):
        q = f"?name={name}" if name else ""
        return self.admin("POST", "/v1/releases" + q, bytes(image_bytes))

    def add_device(self, dev_id, hw_id="hub-a", tags=None):
        r = self.admin("POST", "/v1/devices", {"id": dev_id, "hw_id": hw_id, "tags": tags or []})
        assert r.status == 201, r
        return r.json()["token"]

    def campaign(self, release_id, stages=None, filt=None, name=None):
        body = {"release_id": release_id}
        if stages is not None:
            body["stages"] = stages
        if filt is not None:
            body["filter"] = filt
        if name:
            body["name"] = name
        r = self.admin("POST", "/v1/campaigns", body)
        assert r.status == 201, r
        return r.json()

    def status(self, cid):
        r = self.admin("GET", f"/v1/campaigns/{cid}")
        assert r.status == 200, r
        return r.json()

    def advance(self, seconds):
        r = self.admin("POST", "/v1/admin/clock", {"advance_seconds": seconds})
        assert r.status == 200, r
        return r.json()

    def checkin(self, dev_id, token, body=None, **kw):
        return self.request("POST", f"/v1/devices/{dev_id}/checkin", body or {}, token=token, **kw)

    def report(self, dev_id, token, campaign_id, state, code=None, detail=None):
        body = {"campaign_id": campaign_id, "state": state}
        if code is not None:
            body["code"] = code
        if detail is not None:
            body["detail"] = detail
        return self.request("POST", f"/v1/devices/{dev_id}/reports", body, token=token)


class Firmware:
    """Signing key and signed images made with the real `ota` tool."""

    def __init__(self, tmp):
        self.tmp = str(tmp)
        self.key = os.path.join(self.tmp, "fw.pem")
        self.pub = os.path.join(self.tmp, "fw.pub.pem")
        subprocess.run([TOOL_BIN, "keygen", "-o", self.key], check=True, capture_output=True)
        with open(self.pub, "wb") as f:
            f.write(subprocess.run([TOOL_BIN, "pubkey", self.key], check=True,
                                   capture_output=True).stdout)
        self.n = 0

    def image(self, version, payload=None, hw_id="hub-a", security_counter=1, key=None,
              link_slot=None):
        self.n += 1
        raw = os.path.join(self.tmp, f"app{self.n}.bin")
        out = os.path.join(self.tmp, f"app{self.n}.img")
        if payload is None:
            payload = hashlib.sha256(f"{version}-{self.n}".encode()).digest() * 512
        with open(raw, "wb") as f:
            f.write(payload)
        args = [TOOL_BIN, "sign", "-k", key or self.key, "-v", version, "-s",
                str(security_counter)]
        if hw_id:
            args += ["--hw-id", hw_id]
        if link_slot:  # a per-slot build (ota sign --link-slot)
            args += ["--link-slot", link_slot]
        subprocess.run(args + [raw, out], check=True, capture_output=True)
        with open(out, "rb") as f:
            return f.read()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def parse_manifest(blob):
    """Decode a format-1 manifest (docs/manifest.md) into a dict."""
    assert blob[:4] == b"OTAM"
    fmt, kind, dlen, hlen = blob[4], blob[5], blob[6], blob[7]
    m = {
        "format": fmt, "kind": kind, "key_id": blob[8:16],
        "campaign_id": struct.unpack_from("<Q", blob, 16)[0],
        "issued_at": struct.unpack_from("<Q", blob, 24)[0],
        "expires_at": struct.unpack_from("<Q", blob, 32)[0],
        "target_digest": blob[40:72].hex(),
        "target_size": struct.unpack_from("<I", blob, 72)[0],
        "version": (blob[76], blob[77], struct.unpack_from("<H", blob, 78)[0],
                    struct.unpack_from("<I", blob, 80)[0]),
        "security_counter": struct.unpack_from("<I", blob, 84)[0],
        "payload_digest": blob[88:120].hex(),
        "payload_size": struct.unpack_from("<I", blob, 120)[0],
        "base_digest": blob[124:156].hex(),
        "device_id": blob[156:156 + dlen].decode(),
        "hw_id": blob[156 + dlen:156 + dlen + hlen].decode(errors="replace"),
        "hw_id_raw": blob[156 + dlen:156 + dlen + hlen],
    }
    signed_len = 156 + dlen + hlen
    sig_len = blob[signed_len]
    assert len(blob) == signed_len + 1 + sig_len
    m["signed"] = blob[:signed_len]
    m["sig"] = blob[signed_len + 1:]
    return m


def verify_manifest(server, blob):
    """Check the manifest's signature with the server's published key."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    key = server.admin("GET", "/v1/server-key").json()
    pub = serialization.load_pem_public_key(key["public_key_pem"].encode())
    m = parse_manifest(blob)
    pub.verify(m["sig"], m["signed"], ec.ECDSA(hashes.SHA256()))
    spki = pub.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)
    assert m["key_id"] == hashlib.sha256(spki).digest()[:8]
    return m


def offer_manifest(resp):
    assert resp.status == 200, resp
    body = resp.json()
    assert body["action"] == "update", body
    return base64.b64decode(body["manifest"])


def stop_and_check(servers, label):
    """Stop every server; fail on a non-zero exit or a sanitizer report in
    its log (label(server) names it in the message)."""
    problems = []
    for s in servers:
        if s.proc:
            rc = s.stop()
            if rc != 0:
                problems.append(f"{label(s)}: exit status {rc}")
        log = s.read_log()
        for marker in ("runtime error", "AddressSanitizer", "LeakSanitizer"):
            if marker in log:
                problems.append(f"{label(s)}: {marker} in the server log")
    assert not problems, problems


@pytest.fixture
def fw(tmp_path):
    return Firmware(tmp_path)


@pytest.fixture
def server_factory(tmp_path, fw):
    started = []

    def make(extra_args=(), data_name="data", trusted=True, **kw):
        args = list(extra_args)
        if trusted:
            args += ["--trusted-key", fw.pub]
        s = Server(tmp_path / data_name, args, **kw)
        started.append(s)
        return s

    yield make
    stop_and_check(started, lambda s: s.data_dir)


@pytest.fixture
def server(server_factory):
    return server_factory().start()


def schema_version(backend):
    """The schema version `ota-server --version` says this build migrates to."""
    out = subprocess.run([SERVER_BIN, "--version"], capture_output=True, text=True,
                         check=True).stdout
    m = re.search(r"^database schema: .*\b%s (\d+)" % backend, out, re.M)
    assert m, out
    return int(m.group(1))
