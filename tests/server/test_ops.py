# SPDX-License-Identifier: Apache-2.0
"""Operations: health, Prometheus metrics, structured logs, TLS 1.3, clean
shutdown, command-line errors."""
import datetime
import re
import ssl
import subprocess

import pytest

from conftest import SERVER_BIN, Server, offer_manifest, schema_version


def test_healthz_metrics_and_logs(server, fw):
    assert server.request("GET", "/healthz").json() == {"status": "ok"}
    rel = server.upload(fw.image("2.0.0")).json()
    tok = server.add_device("m-1")
    cid = server.campaign(rel["id"])["id"]
    offer_manifest(server.checkin("m-1", tok))
    server.checkin("m-1", tok, {"current_digest": rel["digest"]})
    server.request("GET", rel["url"], token=tok, headers={"Range": "bytes=0-99"})
    server.report("m-1", tok, cid, "success")
    server.request("GET", "/v1/devices/m-1/checkin", token=tok)  # 405
    server.request("GET", "/v1/x%0a%22forged%3d1", token=tok)  # 404, must not split the log line
    r = server.admin("GET", "/metrics")
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
    m = r.body.decode()
    for line in (
        'ota_http_requests_total{route="/v1/devices/{id}/checkin",status="200"} 2',
        'ota_http_requests_total{route="/v1/devices/{id}/checkin",status="405"} 1',
        'ota_http_requests_total{route="/v1/releases",status="201"} 1',
        'ota_http_requests_total{route="/v1/artifacts/{digest}",status="206"} 1',
        "ota_checkins_total 2",
        'ota_offers_total{kind="full"} 1',
        "ota_artifact_bytes_served_total 100",
        'ota_reports_total{state="success"} 1',
        'ota_campaigns{state="active"} 1',
        "ota_devices 1",
    ):
        assert line in m.splitlines(), line
    # Every metric line is well-formed exposition text.
    for line in m.splitlines():
        assert line.startswith("#") or re.match(r'^[a-z_]+(\{([a-z_]+="[^"]*",?)+\})? \d+(\.\d+)?$', line), line
    server.stop()
    log = server.read_log()
    reqs = [l for l in log.splitlines() if "event=request" in l]
    assert len(reqs) >= 8
    line = [l for l in reqs if 'route="/v1/devices/{id}/reports"' in l][0]
    fields = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', line))
    assert fields["method"] == "POST" and fields["status"] == "201"
    assert fields["who"] == "device:m-1" and int(fields["dur_us"]) >= 0
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", fields["ts"])
    assert all(l.startswith("ts=") for l in log.splitlines() if l), "a log line was split"
    assert 'path="/v1/x??forged=1"' in log
    # Tokens never appear in logs.
    assert tok not in log and "otaa_" not in log
    assert "event=stopped" in log


def test_sigterm_clean_shutdown_keeps_inventory(server_factory):
    s = server_factory().start()
    tok = s.add_device("t-1")
    s.checkin("t-1", tok, {"current_version": "4.5.6"})
    assert s.stop() == 0  # SIGTERM: flushes the inventory queue before exiting
    s2 = server_factory().start()
    s2.admin_token = s.admin_token
    assert s2.admin("GET", "/v1/devices/t-1").json()["current_version"] == "4.5.6"


def make_cert(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.utcnow()
    import ipaddress
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    cp, kp = tmp_path / "cert.pem", tmp_path / "key.pem"
    cp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    kp.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))
    return str(cp), str(kp)


def test_tls13_only(server_factory, tmp_path, fw):
    cert, key = make_cert(tmp_path)
    s = server_factory(["--tls-cert", cert, "--tls-key", key], scheme="https").start()
    assert "https://127.0.0.1:" in "".join(s.stdout_lines)
    ctx = ssl.create_default_context(cafile=cert)
    r = s.request("GET", "/healthz", context=ctx)
    assert r.status == 200
    # The negotiated protocol is TLS 1.3.
    import http.client
    conn = http.client.HTTPSConnection("127.0.0.1", s.port, context=ctx, timeout=10)
    conn.request("GET", "/healthz")
    assert conn.getresponse().status == 200
    assert conn.sock.version() == "TLSv1.3"
    conn.close()
    # A TLS 1.2-only client is refused.
    ctx12 = ssl.create_default_context(cafile=cert)
    ctx12.maximum_version = ssl.TLSVersion.TLSv1_2
    with pytest.raises(ssl.SSLError):
        c2 = http.client.HTTPSConnection("127.0.0.1", s.port, context=ctx12, timeout=10)
        c2.request("GET", "/healthz")
        c2.getresponse()
    # Plain HTTP to the TLS port gets no HTTP answer.
    c3 = http.client.HTTPConnection("127.0.0.1", s.port, timeout=3)
    status = None
    try:
        c3.request("GET", "/healthz")
        status = c3.getresponse().status
    except (OSError, http.client.HTTPException):
        pass
    assert status is None, status


def run_server(args, tmp_path):
    return subprocess.run([SERVER_BIN, "--data", str(tmp_path / "d")] + args,
                          capture_output=True, text=True, timeout=20)


def test_command_line_errors(server, tmp_path):
    # 2: the command line itself is wrong; 15 (OTA_EXIT_CONFIG): a setting's
    # value; 30 (OTA_EXIT_SERVER_LISTEN): the address cannot be bound.
    cases = [
        (["--listen", "nonsense"], 15, "expected HOST:PORT"),
        (["--listen", "127.0.0.1:99999"], 15, "expected HOST:PORT"),
        (["--listen", "bad_host!:80"], 15, "neither an IP address nor a host name"),
        (["--listen", f"127.0.0.1:{server.port}"], 30,
         f"cannot listen on 127.0.0.1:{server.port}: Address already in use"),
        (["--tls-cert", "x.pem"], 15, "go together"),
        (["--trusted-key", "/nonexistent.pem"], 15, "nonexistent.pem"),
        (["--threads", "abc"], 15, "not a number"),
        (["--threads", "0"], 15, "--threads: '0' is not a number in 1..256"),
        (["--max-body", "-1"], 15, "--max-body: '-1' is not a number"),
        (["--bogus"], 2, "usage"),
        (["stray"], 2, "unexpected argument"),
        (["--log-level", "loud"], 15, "unknown level"),
    ]
    for args, rc, msg in cases:
        p = run_server(args, tmp_path)
        assert p.returncode == rc, (args, p.returncode, p.stderr)
        assert msg in p.stderr, (args, p.stderr)
    p = subprocess.run([SERVER_BIN, "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and "--trusted-key" in p.stdout


def test_version_names_the_schema():
    assert schema_version("sqlite") >= 9  # 9: device health


def test_newer_schema_refused(server_factory, tmp_path):
    s = server_factory().start()
    s.stop()
    import sqlite3
    db = sqlite3.connect(f"{s.data_dir}/ota.db")
    db.execute("PRAGMA user_version=99")
    db.commit()
    db.close()
    p = subprocess.run([SERVER_BIN, "--data", s.data_dir, "--listen", "127.0.0.1:0"],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 31 and "newer than this ota-server" in p.stderr  # OTA_EXIT_SERVER_DATABASE


def test_schema_migrations_and_counts_consistent(server, fw):
    """The schema is at the latest version and the trigger-kept campaign
    counts equal a direct count of the per-device rows."""
    import sqlite3
    rel = server.upload(fw.image("2.0.0")).json()
    toks = {f"c-{i}": server.add_device(f"c-{i}") for i in range(12)}
    cid = server.campaign(rel["id"], stages=[{"percent": 100, "max_failure_ratio": 1}])["id"]
    states = ["downloading", "success", "failure", "rolled-back", "installing", "success"]
    for i, (d, t) in enumerate(toks.items()):
        offer_manifest(server.checkin(d, t))
        server.report(d, t, cid, states[i % len(states)])
        server.report(d, t, cid, "downloading")  # late, must not change final states
    st = server.status(cid)
    db = sqlite3.connect(f"{server.data_dir}/ota.db")
    assert db.execute("PRAGMA user_version").fetchone()[0] == schema_version("sqlite")
    direct = dict(db.execute("SELECT state, count(*) FROM device_campaigns GROUP BY state"))
    db.close()
    names = ["offered", "downloading", "installing", "installed-rebooting", "success",
             "failure", "rolled-back"]
    assert {names[k]: v for k, v in direct.items()} == {k: v for k, v in st["counts"].items() if v}
    assert st["counts"]["success"] == 4 and st["counts"]["downloading"] == 4


def test_manifest_key_rotation(server_factory, fw, tmp_path):
    """--manifest-key: an operator-provided key signs the offers from then on."""
    from conftest import TOOL_BIN, offer_manifest, verify_manifest
    import hashlib
    s = server_factory().start()
    rel = s.upload(fw.image("2.0.0")).json()
    tok = s.add_device("rot-1")
    s.campaign(rel["id"])
    old = verify_manifest(s, offer_manifest(s.checkin("rot-1", tok)))
    token = s.admin_token
    s.stop()
    new_key = tmp_path / "new-manifest-key.pem"
    subprocess.run([TOOL_BIN, "keygen", "-o", str(new_key)], check=True, capture_output=True)
    pub_pem = subprocess.run([TOOL_BIN, "pubkey", str(new_key)], check=True,
                             capture_output=True).stdout
    s2 = server_factory(["--manifest-key", str(new_key)]).start()
    s2.admin_token = token
    key = s2.admin("GET", "/v1/server-key").json()
    assert key["public_key_pem"].encode().strip() == pub_pem.strip()
    m = verify_manifest(s2, offer_manifest(s2.checkin("rot-1", tok)))
    assert m["key_id"] != old["key_id"]
    assert m["key_id"].hex() == key["key_id"]
    assert hashlib.sha256(bytes.fromhex(key["spki"])).digest()[:8] == m["key_id"]
    # A public key is not enough to sign.
    pub_file = tmp_path / "pub.pem"
    pub_file.write_bytes(pub_pem)
    p = subprocess.run([SERVER_BIN, "--data", str(tmp_path / "x"), "--manifest-key",
                        str(pub_file), "--listen", "127.0.0.1:0"],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 15 and "--manifest-key: not a private key" in p.stderr


def test_version_is_the_project_version():
    """--version prints the CMake project() version (generated ota/version.h)."""
    import os
    top = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "CMakeLists.txt")
    with open(top) as f:
        want = re.search(r"project\(ota VERSION (\S+)", f.read()).group(1)
    p = subprocess.run([SERVER_BIN, "--version"], capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[0] == f"ota-server {want}"
