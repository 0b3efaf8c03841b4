# SPDX-License-Identifier: Apache-2.0
"""
tests/host/test_programs_cli.py - what every ota program shares (src/host),
checked through the programs a user runs: `--version` prints the project's
version from the one generated header (include/ota/version.h.in); `--help`
goes to stdout with exit 0; the exit codes each program's --help prints are
rows of docs/exit-codes.md with the same meaning, and that page lists every
code of src/host/exit_codes.h once.
"""
import os
import re
import subprocess

import pytest

ROOT = os.environ.get("OTA_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROGRAMS = dict(item.split("=", 1) for item in os.environ.get("OTA_PROGRAMS", "").split(",")
                if item)
# The programs whose --help prints their rows of the shared exit-code table.
WITH_EXIT_TABLE = ["ota", "ota-sim", "ota-agent", "ota-mcu-flash", "ota-fleet"]


def run(prog, *args):
    if prog not in PROGRAMS:
        pytest.fail("%s not built (OTA_PROGRAMS=%r)" % (prog, PROGRAMS))
    return subprocess.run([PROGRAMS[prog]] + list(args), capture_output=True, text=True,
                          timeout=30)


def project_version():
    cmake = open(os.path.join(ROOT, "CMakeLists.txt")).read()
    return re.search(r"project\(\s*ota\s+VERSION\s+([\d.]+)", cmake).group(1)


def documented():
    """{code: (name, meaning, programs)} from docs/exit-codes.md."""
    doc = open(os.path.join(ROOT, "docs", "exit-codes.md")).read()
    rows = {}
    for m in re.finditer(r"^\|\s*(\d+)\s*\|\s*`(OTA_EXIT_\w+)`\s*\|([^|]*)\|([^|]*)\|", doc,
                         re.M):
        code = int(m.group(1))
        assert code not in rows, "code %d listed twice" % code
        rows[code] = (m.group(2), m.group(3).strip(), [p.strip() for p in m.group(4).split(",")])
    return rows


def help_rows(text):
    block = text[text.index("Exit codes:"):]
    block = block.split("\n\n")[0]
    return {int(m.group(1)): m.group(2).strip()
            for m in re.finditer(r"^\s+(\d+)\s+(\S.*)$", block, re.M)}


@pytest.mark.parametrize("prog", ["ota", "ota-sim", "ota-agent", "ota-mcu-flash", "ota-server",
                                  "ota-fleet"])
def test_version(prog):
    for flag in ("--version", "-V") if prog != "ota-server" else ("--version",):
        p = run(prog, flag)
        assert p.returncode == 0, (prog, flag, p.stderr)
        first, _, rest = p.stdout.partition("\n")
        assert first == "%s %s" % (prog, project_version()), (prog, flag)
        if prog == "ota-server":  # also names its database schema versions
            assert re.fullmatch(r"database schema: sqlite \d+, postgresql \d+\n", rest), rest
        else:
            assert rest == "", (prog, flag, p.stdout)


@pytest.mark.parametrize("prog", ["ota", "ota-sim", "ota-agent", "ota-mcu-flash", "ota-server",
                                  "ota-fleet"])
def test_help_on_stdout_exit_0(prog):
    p = run(prog, "--help")
    assert p.returncode == 0 and "usage" in p.stdout.lower() and p.stderr == "", (prog, p.stderr)


def test_docs_list_every_code_of_the_header():
    header = open(os.path.join(ROOT, "src", "host", "exit_codes.h")).read()
    enum = header[header.index("enum ota_exit"):]
    enum = enum[:enum.index("};")]
    codes = {m.group(1): int(m.group(2))
             for m in re.finditer(r"(OTA_EXIT_\w+)\s*=\s*(\d+)", enum)}
    doc = documented()
    assert {name: code for code, (name, _, _) in doc.items()} == codes


@pytest.mark.parametrize("prog", WITH_EXIT_TABLE)
def test_help_exit_codes_are_the_documented_ones(prog):
    rows = help_rows(run(prog, "--help").stdout)
    assert rows, prog
    doc = documented()
    for code, meaning in rows.items():
        name, doc_meaning, programs = doc[code]
        assert doc_meaning.startswith(meaning), (prog, code, meaning, doc_meaning)
        assert programs == ["all"] or prog in programs, (prog, code, programs)
    # and every row the page gives this program is in its --help
    mine = {c for c, (_, _, progs) in doc.items() if progs == ["all"] or prog in progs}
    assert mine == set(rows), (prog, sorted(mine ^ set(rows)))


def test_ota_sim_help_of_every_command_prints_the_same_table():
    main_rows = help_rows(run("ota-sim", "--help").stdout)
    for cmd in ("create", "install", "boot", "confirm", "status", "run"):
        p = run("ota-sim", cmd, "--help")
        assert p.returncode == 0, cmd
        assert help_rows(p.stdout) == main_rows, cmd


def test_mcu_flash_exit_codes_and_hw_id(tmp_path):
    # a file error is 3 (OTA_EXIT_FILE) as in every program, not 4
    p = run("ota-mcu-flash", "create", str(tmp_path / "f.flash"), "--bootloader",
            str(tmp_path / "boot.bin"), "--key", str(tmp_path / "missing.pem"))
    assert p.returncode == 3, (p.returncode, p.stderr)
    p = run("ota-mcu-flash", "status", str(tmp_path / "missing.flash"))
    assert p.returncode == 3, (p.returncode, p.stderr)
    # hardware ids follow the rule of `ota sign --hw-id`
    p = run("ota-mcu-flash", "create", str(tmp_path / "f.flash"), "--bootloader",
            str(tmp_path / "boot.bin"), "--key", str(tmp_path / "k.pem"), "--hw-id", "a b")
    assert p.returncode == 2 and "printable ASCII" in p.stderr, (p.returncode, p.stderr)
    p = run("ota-mcu-flash", "frobnicate")
    assert p.returncode == 2 and "unknown command" in p.stderr
