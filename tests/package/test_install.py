# SPDX-License-Identifier: Apache-2.0
# package.install: `cmake --install` lays out the programs, man pages,
# systemd units, sysusers entry, example configuration, public headers,
# libraries, CMake package and pkg-config files (docs/install.md), and
# what it installs works from there.
import os
import re
import subprocess
from pathlib import Path

from conftest import run

PROGRAMS = ["ota", "ota-server", "ota-agent", "ota-sim", "ota-fleet"]


def libdir(prefix):
    found = list(prefix.glob("lib*/**/libota-core.a"))
    assert len(found) == 1, found
    return found[0].parent


def test_layout(prefix):
    for p in PROGRAMS:
        exe = prefix / "bin" / p
        assert exe.is_file() and os.access(exe, os.X_OK), exe
        assert (prefix / "share/man/man1" / f"{p}.1").is_file(), p
    for unit in ["ota-server.service", "ota-agent.service", "ota-agent-confirm.service"]:
        assert (prefix / "lib/systemd/system" / unit).is_file(), unit
    for f in ["grub.cfg", "boot.cmd", "ota-agent-linux.conf"]:
        assert (prefix / "share/ota/linux" / f).is_file(), f
    assert (prefix / "lib/sysusers.d/ota.conf").is_file()
    assert (prefix / "etc/ota/agent.conf").is_file()
    assert (prefix / "etc/ota/server.conf").is_file()
    for h in ["boot.h", "crypto.h", "delta.h", "error.h", "flash.h", "image.h", "io.h",
              "manifest.h", "update.h", "version.h"]:
        assert (prefix / "include/ota" / h).is_file(), h
    lib = libdir(prefix)
    for name in ["ota-core", "ota-crypto-openssl", "ota-crypto-mbedtls"]:
        assert (lib / f"lib{name}.a").is_file(), name
        assert (lib / f"lib{name}.so").is_symlink(), name
        assert (lib / f"lib{name}.so.0").exists(), name
        assert (lib / "pkgconfig" / f"{name}.pc").is_file(), name
    assert (lib / "cmake/ota/otaConfig.cmake").is_file()
    assert (lib / "cmake/ota/otaConfigVersion.cmake").is_file()


def test_headers_are_self_contained(prefix, tmp_path):
    """Each installed header compiles on its own against the install."""
    from conftest import CC
    for h in sorted((prefix / "include/ota").glob("*.h")):
        src = tmp_path / "h.c"
        src.write_text(f"#include <ota/{h.name}>\nint main(void) {{ return 0; }}\n")
        run([CC, "-std=c11", "-Wall", "-Werror", "-I", str(prefix / "include"), "-c",
             str(src), "-o", str(tmp_path / "h.o")])


def test_units_name_the_installed_binaries(prefix):
    for unit, prog in [("ota-server.service", "ota-server"), ("ota-agent.service", "ota-agent"),
                       ("ota-agent-confirm.service", "ota-agent")]:
        text = (prefix / "lib/systemd/system" / unit).read_text()
        m = re.search(r"^ExecStart=(\S+)", text, re.M)
        assert m and m.group(1) == str(prefix / "bin" / prog), (unit, m and m.group(1))
        assert not re.search(r"@[A-Z]+@", text), text
        conf = re.search(r"--config (\S+)", text)
        assert conf and conf.group(1) == str(prefix / "etc/ota" / ("server.conf" if prog == "ota-server" else "agent.conf")), conf
        assert (prefix / "etc/ota" / Path(conf.group(1)).name).is_file()


def test_server_unit_is_hardened(prefix):
    text = (prefix / "lib/systemd/system/ota-server.service").read_text()
    for line in ["User=ota", "StateDirectory=ota", "NoNewPrivileges=yes",
                 "ExecReload=/bin/kill -HUP $MAINPID",
                 "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
                 "CapabilityBoundingSet=", "WantedBy=multi-user.target"]:
        assert re.search(rf"^{re.escape(line)}$", text, re.M), line
    assert "u ota " in (prefix / "lib/sysusers.d/ota.conf").read_text()


def test_installed_programs_run(prefix):
    for p in PROGRAMS:
        r = subprocess.run([str(prefix / "bin" / p), "--help"], capture_output=True, text=True)
        assert r.returncode == 0 and "sage" in (r.stdout + r.stderr), (p, r)


def test_pkg_config_files_resolve_into_the_prefix(prefix):
    env = dict(os.environ, PKG_CONFIG_PATH=str(libdir(prefix) / "pkgconfig"))
    cflags = run(["pkg-config", "--cflags", "ota-core"], env=env).stdout.split()
    libs = run(["pkg-config", "--libs", "ota-crypto-openssl"], env=env).stdout.split()
    inc = [f[2:] for f in cflags if f.startswith("-I")]
    assert inc and os.path.samefile(inc[0], prefix / "include"), cflags
    libdirs = [f[2:] for f in libs if f.startswith("-L")]
    assert libdirs and os.path.samefile(libdirs[0], libdir(prefix)), libs
    assert "-lota-crypto-openssl" in libs and "-lota-core" in libs, libs
    version = run(["pkg-config", "--modversion", "ota-core"], env=env).stdout.strip()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), version


def test_reinstall_keeps_edited_configuration(prefix):
    conf = prefix / "etc/ota/agent.conf"
    conf.write_text("# edited by the administrator\n")
    from conftest import BUILD
    run(["cmake", "--install", str(BUILD), "--prefix", str(prefix)])
    assert conf.read_text() == "# edited by the administrator\n"


def test_man_finds_the_installed_pages(prefix):
    """`man ota` works with the prefix's man directory on MANPATH."""
    env = dict(os.environ, MANPATH=str(prefix / "share/man"), MANPAGER="cat", MANWIDTH="80")
    for p in PROGRAMS:
        r = subprocess.run(["man", p], capture_output=True, text=True, env=env)
        assert r.returncode == 0 and r.stdout.startswith(p.upper() + "(1)"), (p, r)
