# SPDX-License-Identifier: Apache-2.0
# package.deb: `cpack -G DEB` builds the Debian package; without a container
# it is unpacked into a throwaway root (dpkg -x) and checked there: control
# fields (shlibs Depends, maintainer scripts, conffiles), layout under /usr
# and /etc, `systemd-analyze verify` of the units against that root,
# systemd-sysusers creating the 'ota' user in it, and the packaged
# ota-server started with its unit's ExecStart arguments (on a temporary
# state directory and a free loopback port) answering /healthz.
import os
import re
import shlex
import shutil
import signal
import subprocess
import urllib.request

import pytest

from conftest import BUILD, run


@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    out = tmp_path_factory.mktemp("deb")
    run(["cpack", "-G", "DEB", "--config", str(BUILD / "CPackConfig.cmake"), "-B", str(out)])
    debs = list(out.glob("ota_*.deb"))
    assert len(debs) == 1, debs
    return debs[0]


@pytest.fixture(scope="module")
def root(deb, tmp_path_factory):
    r = tmp_path_factory.mktemp("root")
    run(["dpkg-deb", "-x", str(deb), str(r)])
    return r


def field(deb, name):
    return run(["dpkg-deb", "-f", str(deb), name]).stdout.strip()


def test_control(deb, tmp_path):
    assert field(deb, "Package") == "ota"
    depends = field(deb, "Depends")
    # from dpkg-shlibdeps: the libraries the programs really link
    for lib in ["libc6", "libssl3", "libmicrohttpd12", "libsqlite3-0", "libjansson4",
                "libcurl4"]:
        assert re.search(rf"\b{re.escape(lib)}\b", depends), (lib, depends)
    ctl = tmp_path / "control"
    run(["dpkg-deb", "-e", str(deb), str(ctl)])
    for script in ["postinst", "prerm", "postrm"]:
        path = ctl / script
        assert path.stat().st_mode & 0o111, script
        run(["sh", "-n", str(path)])
    postinst = (ctl / "postinst").read_text()
    assert "systemd-sysusers" in postinst and "enable ota-server.service" in postinst
    conffiles = (ctl / "conffiles").read_text().split()
    assert "/etc/ota/agent.conf" in conffiles and "/etc/ota/server.conf" in conffiles
    # the shared libraries: ldconfig runs after installation
    assert "activate-noawait ldconfig" in (ctl / "triggers").read_text().splitlines()


def test_layout(root):
    for p in ["ota", "ota-server", "ota-agent", "ota-sim", "ota-fleet"]:
        assert (root / "usr/bin" / p).is_file(), p
        assert (root / "usr/share/man/man1" / f"{p}.1").is_file(), p
    assert (root / "usr/lib/systemd/system/ota-server.service").is_file()
    assert (root / "usr/lib/systemd/system/ota-agent.service").is_file()
    assert (root / "usr/lib/sysusers.d/ota.conf").is_file()
    assert (root / "etc/ota/agent.conf").is_file()
    assert (root / "etc/ota/server.conf").is_file()
    assert not (root / "usr/etc").exists()
    assert next(root.glob("usr/lib*/**/pkgconfig/ota-core.pc"))
    assert next(root.glob("usr/lib*/**/cmake/ota/otaConfig.cmake"))
    assert (root / "usr/include/ota/image.h").is_file()
    assert (root / "usr/include/ota/version.h").is_file()


def test_units_verify(root):
    # the base system the package runs on provides kill(1) (ExecReload) and
    # sh(1) (the confirm unit's ExecStopPost)
    (root / "bin").mkdir(exist_ok=True)
    shutil.copy(shutil.which("kill"), root / "bin/kill")
    shutil.copy("/bin/sh", root / "bin/sh")
    for unit in ["ota-server.service", "ota-agent.service", "ota-agent-confirm.service"]:
        path = root / "usr/lib/systemd/system" / unit
        assert "ExecStart=/usr/bin/" in path.read_text()
        # --root: ExecStart and the rest resolve inside the unpacked package
        run(["systemd-analyze", "verify", "--man=no", "--recursive-errors=no",
             f"--root={root}", str(path)])


def test_sysusers_creates_the_user(root):
    run(["systemd-sysusers", f"--root={root}", str(root / "usr/lib/sysusers.d/ota.conf")])
    passwd = (root / "etc/passwd").read_text()
    assert re.search(r"^ota:x:\d+:\d+:[^:]*:/var/lib/ota:", passwd, re.M), passwd


def test_packaged_server_serves_healthz(root, tmp_path):
    unit = (root / "usr/lib/systemd/system/ota-server.service").read_text()
    args = shlex.split(re.search(r"^ExecStart=(.*)$", unit, re.M).group(1))
    assert args[0] == "/usr/bin/ota-server"
    assert args[1:3] == ["--config", "/etc/ota/server.conf"], args
    # the unit's arguments (with the packaged server.conf), its state
    # directory made private and a free port instead of server.conf's
    state = tmp_path / "state"
    state.mkdir()
    args = [str(root / "usr/bin/ota-server"), "--config", str(root / "etc/ota/server.conf")] + [
        a.replace("/var/lib/ota", str(state)) for a in args[3:]] + ["--listen", "127.0.0.1:0"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        port = None
        for line in proc.stdout:
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if m:
                port = int(m.group(1))
                break
        assert port, "ota-server did not start"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
            assert r.status == 200
        assert (state / "admin-token").is_file()
        assert (state / "admin-token").stat().st_mode & 0o077 == 0
        # ExecReload: SIGHUP re-reads the configuration, the server stays up
        assert re.search(r"^ExecReload=/bin/kill -HUP \$MAINPID$", unit, re.M)
        proc.send_signal(signal.SIGHUP)
        reload = ""
        for line in proc.stdout:
            if "reloaded" in line or "reload_failed" in line:
                reload = line
                break
        assert "reloaded" in reload, reload
        assert proc.poll() is None, "ota-server stopped on SIGHUP"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
            assert r.status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, proc.returncode


def test_postinst_creates_user_and_enables_server(deb, tmp_path):
    """postinst configure (first installation) with stand-ins for the
    system tools: it creates the user from the sysusers.d file and enables
    ota-server.service; an upgrade keeps the administrator's choice."""
    ctl = tmp_path / "control"
    run(["dpkg-deb", "-e", str(deb), str(ctl)])
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    log = tmp_path / "calls"
    for tool in ["systemd-sysusers", "deb-systemd-helper", "deb-systemd-invoke", "systemctl"]:
        stub = stubs / tool
        # was-enabled: "no" (exit 1), like a fresh system
        stub.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{log}"\n'
                        '[ "$1" = "--quiet" ] && exit 1\nexit 0\n')
        stub.chmod(0o755)
    env = dict(os.environ, PATH=f"{stubs}:/usr/bin:/bin")
    run(["sh", str(ctl / "postinst"), "configure", ""], env=env)
    calls = log.read_text().splitlines()
    assert "systemd-sysusers ota.conf" in calls, calls
    assert "deb-systemd-helper enable ota-server.service" in calls, calls
    assert not any("ota-agent" in c for c in calls), calls
    log.write_text("")
    run(["sh", str(ctl / "postinst"), "configure", "0.0.9"], env=env)
    calls = log.read_text().splitlines()
    assert "deb-systemd-helper enable ota-server.service" not in calls, calls
    assert "deb-systemd-helper update-state ota-server.service" in calls, calls
