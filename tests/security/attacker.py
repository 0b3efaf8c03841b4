# SPDX-License-Identifier: Apache-2.0
"""
attacker.py - what the attack suite's adversaries hold and do, written once:
a man-in-the-middle between the real ota-agent and the real ota-server that
rewrites check-in answers and serves its own payload bytes (slowly, endlessly,
truncated, tampered); a manifest codec that re-signs a captured offer with
whatever key the attacker holds (the server's online key when it is stolen,
or its own); and image forgeries (unsigned, tampered).

Why it exists: every tests/security/test_*.py file plays one threat of the
Uptane/TUF list against the real programs; they share these moves. The
manifest codec is written here from docs/manifest.md, independently of the C
encoder, so a test's forged manifest is what an attacker reading the spec
would produce. Signing uses Debian's python3-cryptography (no primitive is
written here). Standard library otherwise; run with Debian's /usr/bin/python3.
"""

import hashlib
import http.client
import http.server
import json
import os
import re
import socketserver
import struct
import sys
import threading
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import otae2e as E  # noqa: E402

# ---- manifest (docs/manifest.md, formats 1 and 2) ---------------------------

FIXED = {1: 156, 2: 168}  # signed fixed fields before the ids, by format
FLAG_DOWNGRADE = 0x1
_LAYOUT = [  # name, offset, struct format, first format that has it
    ("magic", 0, "4s", 1), ("format", 4, "B", 1), ("payload_kind", 5, "B", 1),
    ("device_id_len", 6, "B", 1), ("hw_id_len", 7, "B", 1), ("key_id", 8, "8s", 1),
    ("campaign_id", 16, "<Q", 1), ("issued_at", 24, "<Q", 1), ("expires_at", 32, "<Q", 1),
    ("target_digest", 40, "32s", 1), ("target_size", 72, "<I", 1),
    ("target_version", 76, "8s", 1), ("target_security_counter", 84, "<I", 1),
    ("payload_digest", 88, "32s", 1), ("payload_size", 120, "<I", 1),
    ("base_digest", 124, "32s", 1), ("offer_seq", 156, "<Q", 2), ("flags", 164, "<I", 2),
]


def load_private_key(pem_path):
    with open(pem_path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


def key_id(private_key):
    der = private_key.public_key().public_bytes(serialization.Encoding.DER,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).digest()[:8]


def new_key(path):
    """A fresh P-256 key the attacker made (PEM, and its public half at path.pub.pem)."""
    k = ec.generate_private_key(ec.SECP256R1())
    with open(path, "wb") as f:
        f.write(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()))
    with open(path + ".pub.pem", "wb") as f:
        f.write(k.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo))
    return k


class Manifest:
    """A manifest as fields; parse() a captured one, sign() a forged one."""

    def __init__(self, **fields):
        self.__dict__.update(fields)

    @classmethod
    def parse(cls, buf):
        if buf[:4] != b"OTAM" or buf[4] not in FIXED:
            raise ValueError("not a format 1 or 2 manifest: %r" % buf[:8])
        fixed = FIXED[buf[4]]
        f = {name: struct.unpack_from(fmt, buf, off)[0]
             for name, off, fmt, since in _LAYOUT if since <= buf[4]}
        n, m = f.pop("device_id_len"), f.pop("hw_id_len")
        f["device_id"] = buf[fixed:fixed + n].decode()
        f["hw_id"] = buf[fixed + n:fixed + n + m]
        sig_len = buf[fixed + n + m]
        f["signature"] = buf[fixed + n + m + 1:fixed + n + m + 1 + sig_len]
        if fixed + n + m + 1 + sig_len != len(buf):
            raise ValueError("manifest length %d does not match its fields" % len(buf))
        return cls(**f)

    def copy(self, **changes):
        d = dict(self.__dict__)
        d.update(changes)
        return Manifest(**d)

    def signed_part(self):
        dev = self.device_id.encode()
        vals = dict(self.__dict__, device_id_len=len(dev), hw_id_len=len(self.hw_id))
        out = bytearray(FIXED[self.format])
        for name, off, fmt, since in _LAYOUT:
            if since <= self.format:
                struct.pack_into(fmt, out, off, vals[name])
        return bytes(out) + dev + self.hw_id

    def sign(self, private_key):
        """Bytes of this manifest signed by private_key (key_id set to match)."""
        self.key_id = key_id(private_key)
        body = self.signed_part()
        sig = private_key.sign(body, ec.ECDSA(hashes.SHA256()))
        return body + bytes([len(sig)]) + sig


def image_facts(data):
    """(digest, size, version bytes, security counter) of a signed image's bytes."""
    hdr_size, prot = struct.unpack_from("<HH", data, 8)
    img_size = struct.unpack_from("<I", data, 12)[0]
    counter, pos = 0, hdr_size + img_size + 4
    while prot and pos < hdr_size + img_size + prot:
        t, n = struct.unpack_from("<HH", data, pos)
        if t == 0x50:
            counter = struct.unpack_from("<I", data, pos + 4)[0]
        pos += 4 + n
    return hashlib.sha256(data).digest(), len(data), data[20:28], counter


def offer_for(captured, image_bytes, **changes):
    """A captured manifest re-targeted at other image bytes (full payload)."""
    digest, size, ver, counter = image_facts(image_bytes)
    fields = dict(payload_kind=0, target_digest=digest, target_size=size, target_version=ver,
                  target_security_counter=counter, payload_digest=digest, payload_size=size,
                  base_digest=bytes(32))
    fields.update(changes)
    return captured.copy(**fields)


def artifact_path(data):
    return "/v1/artifacts/" + hashlib.sha256(data).hexdigest()


# ---- image forgeries --------------------------------------------------------

def strip_signature(image_bytes):
    """The image with its unprotected TLV area reduced to the SHA256 TLV: a
    well-formed MCUboot image with a correct hash and no signature."""
    hdr_size, prot = struct.unpack_from("<HH", image_bytes, 8)
    img_size = struct.unpack_from("<I", image_bytes, 12)[0]
    at = hdr_size + img_size + prot
    magic, tot = struct.unpack_from("<HH", image_bytes, at)
    assert magic == 0x6907, hex(magic)
    pos, keep = at + 4, b""
    while pos < at + tot:
        t, n = struct.unpack_from("<HH", image_bytes, pos)
        if t == 0x10:
            keep += image_bytes[pos:pos + 4 + n]
        pos += 4 + n
    return image_bytes[:at] + struct.pack("<HH", 0x6907, 4 + len(keep)) + keep


def flip_byte(data, offset):
    b = bytearray(data)
    b[offset] ^= 0x01
    return bytes(b)


# ---- the man in the middle --------------------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the tests print what matters
        pass

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        self.server.mitm.handle(self, "GET", b"")

    def do_HEAD(self):
        self.server.mitm.handle(self, "HEAD", b"")

    def do_POST(self):
        self.server.mitm.handle(self, "POST", self._body())


class _ThreadingServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # a device hanging up on the attacker mid-answer is the expected end
        if not isinstance(sys.exc_info()[1], (ConnectionError, OSError)):
            super().handle_error(request, client_address)


class Artifact:
    """Bytes the attacker serves at a path, and how it serves them:
    extra  bytes appended after them (endless data: extra=None means endless),
    limit  serve at most this many bytes of the file (the rest never comes),
    bps    throttle to this many bytes per second."""

    def __init__(self, data, extra=b"", limit=None, bps=0):
        self.data, self.extra, self.limit, self.bps = data, extra, limit, bps


class Mitm:
    """A loopback HTTP proxy in front of a real ota-server. By default it
    forwards everything; `on_checkin(device_id, answer_dict) -> answer_dict`
    rewrites check-in answers, `on_checkin_request(device_id, body_dict) ->
    body_dict` what the device tells the server, `artifacts[path] = Artifact(...)` serves the
    attacker's bytes at a path. Every request is recorded in `requests` as
    (method, path, had_authorization)."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.on_checkin = None
        self.on_checkin_request = None
        self.artifacts = {}
        self.requests = []
        self.bytes_sent = {}
        self.checkins = {}  # device id -> list of answers the real server gave
        self.lock = threading.Lock()
        self.srv = _ThreadingServer(("127.0.0.1", 0), _Handler)
        self.srv.mitm = self
        self.port = self.srv.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.stopping = False
        self.thread = None

    def start(self):
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.stopping = True
        if self.thread:
            self.srv.shutdown()
            self.srv.server_close()
            self.thread = None

    # -- handling
    def handle(self, h, method, body):
        path = h.path
        with self.lock:
            self.requests.append((method, path, "Authorization" in h.headers))
        art = self.artifacts.get(path)
        if art is not None and method in ("GET", "HEAD"):
            return self._serve_artifact(h, method, path, art)
        m = re.match(r"^/v1/devices/([^/]+)/checkin$", path)
        if m and self.on_checkin_request and body:
            body = json.dumps(self.on_checkin_request(m.group(1), json.loads(body))).encode()
        status, headers, data = self._forward(h, method, path, body)
        if m and status == 200 and data:
            answer = json.loads(data)
            with self.lock:
                self.checkins.setdefault(m.group(1), []).append(answer)
            if self.on_checkin:
                answer = self.on_checkin(m.group(1), answer)
                data = json.dumps(answer).encode()
        h.send_response(status)
        for k, v in headers:
            if k.lower() not in ("content-length", "connection", "transfer-encoding", "date",
                                 "server"):
                h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if method != "HEAD":
            h.wfile.write(data)

    def _forward(self, h, method, path, body):
        c = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=30)
        headers = {k: v for k, v in h.headers.items()
                   if k.lower() not in ("host", "connection", "content-length")}
        c.request(method, path, body=body if method == "POST" else None, headers=headers)
        r = c.getresponse()
        data = r.read()
        out = (r.status, r.getheaders(), data)
        c.close()
        return out

    def _serve_artifact(self, h, method, path, art):
        data = art.data
        start = 0
        rng = h.headers.get("Range")
        if rng:
            m = re.match(r"bytes=(\d+)-$", rng)
            start = int(m.group(1)) if m else 0
        endless = art.extra is None
        body = data[start:] + (b"" if endless else art.extra)
        if art.limit is not None:
            body = data[start:art.limit] if start < art.limit else b""
        h.send_response(206 if start else 200)
        if start:
            h.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        h.send_header("Content-Type", "application/octet-stream")
        if endless:
            h.send_header("Connection", "close")
            h.close_connection = True
        else:
            h.send_header("Content-Length", str(len(body) if art.limit is None
                                                 else len(data) - start))
        h.end_headers()
        if method == "HEAD":
            return
        try:
            self._send(h, path, body, art.bps)
            if endless:  # the real bytes, then garbage for as long as the client reads
                chunk = os.urandom(16384)
                end = time.time() + 60
                while not self.stopping and time.time() < end:
                    self._send(h, path, chunk, art.bps)
            elif art.limit is not None:
                h.close_connection = True  # promised more than it sends: hang up
        except (BrokenPipeError, ConnectionResetError, OSError):
            h.close_connection = True

    def _send(self, h, path, body, bps):
        step = max(1, bps // 10) if bps else 16384
        for i in range(0, len(body), step):
            if self.stopping:
                raise BrokenPipeError()
            h.wfile.write(body[i:i + step])
            h.wfile.flush()
            with self.lock:
                self.bytes_sent[path] = self.bytes_sent.get(path, 0) + len(body[i:i + step])
            if bps:
                time.sleep(step / bps)

    def first_offer(self, device_id):
        """The first real offer the server made to device_id (answer dict)."""
        with self.lock:
            for a in self.checkins.get(device_id, []):
                if a.get("action") == "update":
                    return a
        return None


def manifest_of(answer):
    import base64
    return Manifest.parse(base64.b64decode(answer["manifest"]))


def answer_with(answer, manifest_bytes, url=None, kind=None):
    """A check-in answer carrying other manifest bytes (and payload URL)."""
    import base64
    a = json.loads(json.dumps(answer))
    a["manifest"] = base64.b64encode(manifest_bytes).decode()
    if url:
        a["payload"]["url"] = url
    if kind:
        a["payload"]["kind"] = kind
    return a


# ---- what a safe device looks like ------------------------------------------

def assert_untouched(dev, version, counter):
    """Still running and confirmed on `version`, nothing pending, OTP counter
    unchanged: what every refused attack must leave behind."""
    st = dev.status()
    assert st["running"] == st["state"]["confirmed"], st["state"]
    assert st["state"]["pending"] is None, st["state"]
    assert dev.version() == version and dev.confirmed_version() == version, st["slots"]
    assert st["otp"]["counter"] == counter, st["otp"]


def final_report(server, device_id, state="failure"):
    reps = [r for r in server.reports(device_id) if r["state"] == state]
    assert reps, server.reports(device_id)
    return reps[-1]


def read(path):
    with open(path, "rb") as f:
        return f.read()


def stolen_manifest_key(server):
    """The server's online manifest key, as an attacker who broke into it has it."""
    return load_private_key(os.path.join(server.dir, "keys", "manifest-key.pem"))


def forge_offers(mitm, key, image_bytes, manifest_changes=None, served=None):
    """From now on, every real offer the device gets is replaced by one for
    image_bytes, signed with `key`, whose payload the MITM serves itself
    (`served`: an Artifact, default the bytes as they are)."""
    path = artifact_path(image_bytes)
    mitm.artifacts[path] = served or Artifact(image_bytes)

    def hook(device_id, answer):
        if answer.get("action") != "update":
            return answer
        forged = offer_for(manifest_of(answer), image_bytes, **(manifest_changes or {}))
        return answer_with(answer, forged.sign(key), url=path, kind="full")
    mitm.on_checkin = hook
    return path


BEFORE_DOWNLOAD = "offer refused before download"
STALE_OFFER = "offer of campaign "  # expired, stale, downgrade: a device event
AFTER_DOWNLOAD = "image refused after download"
PAYLOAD_DOWNLOADING = "payload refused while downloading"
PAYLOAD_VERIFY = "payload did not verify"
SLOW_RETRIEVAL = "slow retrieval"


class Scenario:
    """The usual stage: ota-server with releases 1.0.0 (counter 1) and a
    target (default 2.0.0, counter 2), one device on 1.0.0 that talks to the
    server through the attacker's MITM, and a 100 % campaign for the target."""

    def __init__(self, env, mitm, name, target=("2.0.0", 2), base=("1.0.0", 1),
                 extra_conf=None, server_args=("--no-delta",), campaign=True, size=60000):
        self.server = env.start_server(*server_args)
        self.v1 = env.image(base[0], base[1], size=size)
        self.v2 = env.image(target[0], target[1], size=size)
        self.r1 = self.server.upload(self.v1)
        self.r2 = self.server.upload(self.v2)
        self.mitm = mitm()
        conf = {"max_download_attempts": "2"}
        conf.update(extra_conf or {})
        self.dev = env.device(name, self.v1, server_url=self.mitm.url, extra_conf=conf)
        self.campaign = self.server.campaign(self.r2["id"], [{"percent": 100}]) \
            if campaign else None

    def wait_final(self, timeout=60, state="failure"):
        E.wait_for(lambda: state in self.dev.report_states(), timeout,
                   "a %s report from %s" % (state, self.dev.name))
        self.dev.stop()
        return final_report(self.server, self.dev.name, state)

    def refused(self, when, err, version="1.0.0+0", counter=1, campaign=None):
        """Run the device to its failure report and check it: refused at stage
        `when` (BEFORE_DOWNLOAD: no payload byte fetched; AFTER_DOWNLOAD: the
        image itself; PAYLOAD_*: the downloaded bytes) with ota_err `err`,
        reported on `campaign` (default: the one that made the offer; 0: a
        device event, as stale, expired and downgrade offers are reported),
        the device untouched on `version`."""
        earlier = len(self.artifact_gets())
        self.dev.start()
        rep = self.wait_final()
        assert when in rep["detail"] and err in rep["detail"], (when, err, rep)
        if campaign is None and when == STALE_OFFER:
            campaign = 0  # a replay says nothing about the campaign it names
        elif campaign is None and self.campaign:
            campaign = self.campaign["id"]
        if campaign is not None:
            assert rep["campaign_id"] == campaign, rep
        gets = self.artifact_gets()[earlier:]
        assert (gets == []) == (when in (BEFORE_DOWNLOAD, STALE_OFFER)), (when, gets)
        assert_untouched(self.dev, version, counter)
        return rep

    def artifact_gets(self):
        return [p for (m, p, _) in self.mitm.requests if m == "GET" and "/artifacts/" in p]
