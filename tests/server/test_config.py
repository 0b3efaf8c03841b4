# SPDX-License-Identifier: Apache-2.0
"""ota-server settings: every option checked before anything is created (a
failed first start burns no admin token), the configuration file (--config,
`key = value`, flags override it, errors name file:line), exit codes, and
SIGHUP reloading the trusted keys and the log level."""
import os
import re
import signal
import socket
import subprocess
import urllib.request

from conftest import SERVER_BIN, TOOL_BIN, Server

EXIT_USAGE, EXIT_CONFIG, EXIT_LISTEN = 2, 15, 30


def run(args, timeout=20):
    return subprocess.run([SERVER_BIN] + args, capture_output=True, text=True, timeout=timeout)


def keypair(tmp_path, name):
    priv = tmp_path / f"{name}.pem"
    pub = tmp_path / f"{name}.pub.pem"
    subprocess.run([TOOL_BIN, "keygen", "-o", str(priv)], check=True, capture_output=True)
    pub.write_bytes(subprocess.run([TOOL_BIN, "pubkey", str(priv)], check=True,
                                   capture_output=True).stdout)
    return str(priv), str(pub)


def test_bad_first_start_creates_nothing(tmp_path, fw):
    """Each bad setting is refused before the data directory, the database,
    the manifest key or the admin token exist; then a good start still
    prints the one-time admin token."""
    data = tmp_path / "fresh"
    token_file = tmp_path / "token"
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key\n")
    cert = tmp_path / "cert.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    busy_port = busy.getsockname()[1]
    base = ["--data", str(data), "--admin-token-file", str(token_file)]
    cases = [
        (["--trusted-key", str(garbage)], EXIT_CONFIG, "garbage.pem"),
        (["--trusted-key", fw.key], EXIT_CONFIG, "holds a private key"),
        (["--trusted-key", fw.pub, "--trusted-key", str(tmp_path / "missing.pem")],
         EXIT_CONFIG, "missing.pem"),
        (["--listen", "bad_host!:80"], EXIT_CONFIG, "neither an IP address nor a host name"),
        (["--listen", f"127.0.0.1:{busy_port}"], EXIT_LISTEN,
         f"cannot listen on 127.0.0.1:{busy_port}: Address already in use"),
        (["--tls-cert", str(cert), "--tls-key", fw.key], EXIT_CONFIG, "no PEM certificate"),
        (["--tls-cert", str(tmp_path / "nope.pem"), "--tls-key", fw.key], EXIT_CONFIG,
         "nope.pem: cannot read"),
        (["--manifest-key", fw.pub], EXIT_CONFIG, "not a private key"),
        (["--offer-ttl", "10"], EXIT_CONFIG, "--offer-ttl: '10' is not a number in 60.."),
        (["--inventory-flush", "301"], EXIT_CONFIG, "inventory-flush"),
        (["--delta-wait", "0"], EXIT_CONFIG, "--delta-wait: '0' is not a number in 1.."),
        (["--admin-token-file", str(tmp_path / "no" / "dir" / "t")], EXIT_CONFIG,
         "missing or not writable"),
        (["--db", "nonsense"], EXIT_CONFIG, "expected postgres://"),
    ]
    try:
        for args, rc, msg in cases:
            p = run(base + ["--listen", "127.0.0.1:0"] + args)
            assert p.returncode == rc, (args, p.returncode, p.stderr)
            assert msg in p.stderr, (args, p.stderr)
            assert not data.exists(), (args, "data directory created")
            assert not token_file.exists(), (args, "admin token written")
    finally:
        busy.close()
    s = Server(data, ["--trusted-key", fw.pub, "--admin-token-file", str(token_file)]).start()
    try:
        assert s.admin_token and s.admin_token.startswith("otaa_")
        assert token_file.read_text().strip() == s.admin_token
        assert s.admin("GET", "/v1/devices").status == 200
    finally:
        assert s.stop() == 0


def test_listen_host_name_resolved(tmp_path, fw):
    """A host name in --listen is resolved at start (localhost: /etc/hosts)."""
    s = Server(tmp_path / "d", ["--trusted-key", fw.pub]).start(listen="localhost:0")
    try:
        out = "".join(s.stdout_lines)
        addr = re.search(r"listen: localhost resolves to (\S+)", out).group(1)
        assert addr in ("127.0.0.1", "::1"), addr  # /etc/hosts: no DNS query
        host = f"[{addr}]" if ":" in addr else addr
        assert f"listening on http://{host}:{s.port} " in out
        with urllib.request.urlopen(f"http://{host}:{s.port}/healthz", timeout=10) as r:
            assert r.status == 200
    finally:
        assert s.stop() == 0


def write_conf(path, text):
    path.write_text(text)
    return str(path)


def test_config_file_settings_and_flag_override(tmp_path, fw):
    """Settings come from the file; a flag on the command line replaces the
    file's value; the file names the data directory and trusted key."""
    data = tmp_path / "from-file"
    conf = write_conf(tmp_path / "server.conf", f"""
# comment line
  data = {data}
poll-interval=123
offer-ttl = 3600     
trusted-key = {fw.pub}
no-delta = true
log-level = warn
""")
    # Server() passes --data DIR; started by hand so the file's data applies.
    proc_args = [SERVER_BIN, "--config", conf, "--listen", "127.0.0.1:0", "--test-clock",
                 "--threads", "2"]
    p = subprocess.Popen(proc_args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        while True:
            line = p.stdout.readline()
            assert line, (lines, p.stderr.read())
            lines.append(line)
            if line.startswith("listening on"):
                break
        out = "".join(lines)
        assert f"configuration: {conf}" in out
        assert f"created data directory: {data}" in out
        assert f"trusted firmware key: {fw.pub}" in out
        assert "delta updates: off" in out
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(20) == 0
        p.stdout.close()
        p.stderr.close()
    assert (data / "ota.db").exists() and not (tmp_path / "ignored").exists()

    # The same file, with flags overriding poll-interval and the data dir.
    s = Server(tmp_path / "flag-data", ["--config", conf, "--poll-interval", "77"]).start()
    try:
        tok = s.add_device("cfg-1")
        body = s.checkin("cfg-1", tok).json()
        assert body["poll_interval"] == 77, body
        assert "level=info" not in s.read_log()  # the file's log level (warn) applies
    finally:
        assert s.stop() == 0
    assert os.path.isdir(tmp_path / "flag-data")


def test_config_file_errors_name_file_and_line(tmp_path):
    data = tmp_path / "never"
    cases = [
        ("listen = 127.0.0.1:0\nbogus-key = 1\n", ":2: unknown key 'bogus-key'"),
        ("\n\nthreads = many\n", ":3: threads: 'many' is not a number in 1..256"),
        ("listen 127.0.0.1:0\n", ":1: expected 'key = value'"),
        ("no-delta = maybe\n", ":1: no-delta: 'maybe' is not true or false"),
        ("threads = 2\nthreads = 3\n", ":2: 'threads' already set on line 1"),
        ("reset-admin-token = true\n", ":1: 'reset-admin-token' is a command-line option only"),
        ("listen = nowhere\n", ":1: listen 'nowhere': expected HOST:PORT"),
        ("trusted-key = /nonexistent/k.pem\n", ":1: trusted-key: /nonexistent/k.pem"),
        ("Data = x\n", ":1: 'Data' is not a key"),
    ]
    for i, (text, msg) in enumerate(cases):
        conf = write_conf(tmp_path / f"bad{i}.conf", text)
        p = run(["--config", conf, "--data", str(data)])
        assert p.returncode == EXIT_CONFIG, (text, p.returncode, p.stderr)
        assert f"{conf}{msg}" in p.stderr, (text, p.stderr)
        assert not data.exists()
    p = run(["--config", str(tmp_path / "absent.conf"), "--data", str(data)])
    assert p.returncode == EXIT_CONFIG and "absent.conf: cannot read" in p.stderr
    # A flag's value is checked like the file's.
    conf = write_conf(tmp_path / "over.conf", "threads = 2\n")
    p = run(["--config", conf, "--data", str(data), "--threads", "0"])
    assert p.returncode == EXIT_CONFIG and "--threads: '0'" in p.stderr
    p = run(["--config", conf, "--bogus"])
    assert p.returncode == EXIT_USAGE


def test_command_line_trusted_keys_replace_the_files(tmp_path, fw):
    """--trusted-key on the command line replaces the file's trusted keys
    (instead of adding to them)."""
    _, other_pub = keypair(tmp_path, "other")
    conf = write_conf(tmp_path / "s.conf", f"trusted-key = {fw.pub}\n")
    s = Server(tmp_path / "d", ["--config", conf, "--trusted-key", other_pub]).start()
    try:
        out = "".join(s.stdout_lines)
        assert f"trusted firmware key: {other_pub}" in out
        assert f"trusted firmware key: {fw.pub}" not in out
        r = s.upload(fw.image("1.0.0"))
        assert r.status == 422 and r.json()["error"]["ota_error"] == "OTA_ERR_IMAGE_UNKNOWN_KEY", r
    finally:
        assert s.stop() == 0


def wait_reload(s):
    while True:
        line = s.proc.stdout.readline().decode()
        assert line, "ota-server closed stdout before reloading"
        s.stdout_lines.append(line)
        if line.startswith("reload"):
            return line


def test_sighup_reloads_trusted_keys_and_log_level(tmp_path, fw):
    old_priv, old_pub = fw.key, fw.pub
    new_priv, new_pub = keypair(tmp_path, "new")
    trusted = tmp_path / "trusted.pub.pem"
    trusted.write_bytes(open(old_pub, "rb").read())
    conf = tmp_path / "s.conf"
    conf.write_text(f"trusted-key = {trusted}\nlog-level = info\n")
    s = Server(tmp_path / "d", ["--config", str(conf)]).start()
    try:
        assert s.upload(fw.image("1.0.0", key=old_priv)).status == 201
        assert s.upload(fw.image("1.0.1", key=new_priv)).status == 422

        # The key file now holds the new key; the file also changes what
        # cannot be reloaded (poll-interval) and the log level.
        trusted.write_bytes(open(new_pub, "rb").read())
        conf.write_text(f"trusted-key = {trusted}\nlog-level = warn\npoll-interval = 99\n")
        s.proc.send_signal(signal.SIGHUP)
        assert wait_reload(s).startswith("reloaded: 1 trusted firmware keys, log level warn")
        assert s.upload(fw.image("1.0.2", key=new_priv)).status == 201
        r = s.upload(fw.image("1.0.3", key=old_priv))
        assert r.status == 422 and r.json()["error"]["ota_error"] == "OTA_ERR_IMAGE_UNKNOWN_KEY"
        log = s.read_log()
        assert 'event=reload_needs_restart option=poll-interval reason="changed; needs restart' in log
        assert "option=log-level" not in log and "option=trusted-key" not in log
        n_info = log.count("level=info")
        s.request("GET", "/healthz")  # an access-log line at info: now filtered
        assert s.read_log().count("level=info") == n_info

        # A broken configuration changes nothing and the server keeps running.
        conf.write_text("trusted-key = /nonexistent.pem\n")
        s.proc.send_signal(signal.SIGHUP)
        assert wait_reload(s).startswith("reload failed")
        assert s.upload(fw.image("1.0.4", key=new_priv)).status == 201
        assert "event=reload_failed" in s.read_log()
    finally:
        assert s.stop() == 0


def test_shipped_example_config_is_valid(tmp_path):
    """etc/server.conf (installed as /etc/ota/server.conf) is accepted as is;
    flags move its data directory and port somewhere harmless."""
    example = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "etc",
                           "server.conf")
    s = Server(tmp_path / "d", ["--config", example]).start()
    try:
        assert s.request("GET", "/healthz").status == 200
        assert f"configuration: {example}" in "".join(s.stdout_lines)
    finally:
        assert s.stop() == 0
