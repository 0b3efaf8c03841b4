# SPDX-License-Identifier: Apache-2.0
"""
test_e2e_tls.py - the agent's transport security, end to end: an update over
TLS 1.3 with the server certificate verified against the configured CA and
its public key pinned; a server with another key (pin mismatch), a
certificate the agent cannot verify, a TLS 1.2-only server and a plain-HTTP
URL are all refused -- the device stays on its image and says why.
"""

import os
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import otae2e as E


def tls_env(env, work):
    cert, key, pub = E.make_tls_cert(work)
    env.server = E.Server(work, env.keys.pub, ["--no-delta"], tls=(cert, key)).start()
    return cert, pub


def test_update_over_tls13_with_pinned_key(env, work):
    cert, pub = tls_env(env, work)
    s = env.server
    v1 = env.image("1.0.0", 1)
    v2 = env.image("2.0.0", 2)
    s.upload(v1)
    r2 = s.upload(v2)
    d = env.device("tls-1", v1)
    d.write_conf(s.url, {"allow_http": "no", "ca_file": cert, "pinned_key": pub})
    s.campaign(r2["id"], [{"percent": 100}])
    d.start()
    E.wait_for(lambda: d.confirmed_version() == "2.0.0+0", 60, "tls-1 on 2.0.0")
    E.wait_for(lambda: "success" in d.report_states(), 20, "success report")


def test_pin_mismatch_and_unverified_cert_refused(env, work):
    cert, pub = tls_env(env, work)
    s = env.server
    other = E.make_tls_cert(work, "other")
    v1 = env.image("1.0.0", 1)
    v2 = env.image("2.0.0", 2)
    s.upload(v1)
    r2 = s.upload(v2)
    pinned = env.device("tls-pin", v1)
    pinned.write_conf(s.url, {"allow_http": "no", "ca_file": cert, "pinned_key": other[2]})
    nocafile = env.device("tls-noca", v1)
    nocafile.write_conf(s.url, {"allow_http": "no"})
    s.campaign(r2["id"], [{"percent": 100}])
    pinned.start()
    nocafile.start()
    E.wait_for(lambda: pinned.log_text().count("does not match pinned_key") >= 2, 30,
               "pin mismatch logged")
    E.wait_for(lambda: nocafile.log_text().count("check-in failed") >= 2, 30,
               "certificate refusal logged")
    pinned.stop()
    nocafile.stop()
    assert "public key does not match" in pinned.log_text().lower() or \
        "pinned" in pinned.log_text()
    assert "certificate" in nocafile.log_text().lower() or "ssl" in nocafile.log_text().lower()
    for d in (pinned, nocafile):
        assert d.report_states() == []
        assert d.version() == "1.0.0+0" and d.confirmed_version() == "1.0.0+0"
        assert "offer:" not in d.log_text()


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"action":"none"}')

    def log_message(self, *a):
        pass


def test_tls12_only_server_refused(env, work):
    cert, key, _ = E.make_tls_cert(work, "tls12")
    httpd = HTTPServer(("127.0.0.1", 0), _Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        env.start_server()
        v1 = env.image("1.0.0", 1)
        d = env.device("tls12", v1)
        d.write_conf("https://127.0.0.1:%d" % httpd.server_address[1],
                     {"allow_http": "no", "ca_file": cert})
        d.start("--exit-when-idle")
        E.wait_for(lambda: d.log_text().count("check-in failed") >= 2, 30, "TLS 1.2 refusal")
        d.stop()
        log = d.log_text()
        assert "ssl" in log.lower() or "tls" in log.lower(), log
        assert "nothing to do" not in log
    finally:
        httpd.shutdown()


def test_plain_http_needs_explicit_opt_in(env, work):
    s = env.start_server()
    v1 = env.image("1.0.0", 1)
    d = env.device("plain", v1)
    d.write_conf(s.url, {"allow_http": "no"})
    p = subprocess.run([E.SIM, "run", d.flash, "--agent-config", d.conf],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    assert p.returncode == 15, p  # OTA_EXIT_CONFIG (docs/exit-codes.md)
    assert "plain HTTP" in p.stderr and "https://" in p.stderr
    p = subprocess.run([E.AGENT, "--config", d.conf, "--flash", d.flash, "--once"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    assert p.returncode == 15 and "plain HTTP" in p.stderr
    assert os.path.exists(d.flash)
