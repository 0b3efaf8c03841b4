# SPDX-License-Identifier: Apache-2.0
# package.manpages: the generated man pages agree with the programs' --help.
# Every long option a program's --help (and each of its commands' --help)
# prints appears in its man page, and every long option the man page
# documents is one the help mentions (agent configuration keys count: any
# key is also a --flag). Every agent configuration key and every exit code
# a program's help lists is in its page. `man -l` renders every page.
import os
import re
import subprocess

import pytest

from conftest import BUILD

PROGRAMS = {
    "ota": BUILD / "src/tool/ota",
    "ota-server": BUILD / "src/server/ota-server",
    "ota-agent": BUILD / "src/agent/ota-agent",
    "ota-sim": BUILD / "src/sim/ota-sim",
    "ota-fleet": BUILD / "src/fleet/ota-fleet",
}
LONG_OPT = re.compile(r"(?<![\w-])--([a-z][a-z0-9_-]*[a-z0-9])")


def help_text(exe, *args):
    r = subprocess.run([str(exe), *args, "--help"], capture_output=True, text=True)
    return r.stdout + r.stderr


def commands(text):
    """The command names listed under 'Commands:' in a help text."""
    m = re.search(r"^Commands:\n((?:  \S.*\n)+)", text, re.M)
    return [line.split()[0] for line in m.group(1).splitlines()] if m else []


def all_help(name):
    exe = PROGRAMS[name]
    text = help_text(exe)
    for cmd in commands(text):
        text += "\n" + help_text(exe, cmd)
    return text


def man_text(name):
    """The generated roff, with font escapes and escaped hyphens removed."""
    roff = (BUILD / "man" / f"{name}.1").read_text()
    roff = re.sub(r"\\f[BIRP]", "", roff)
    return roff.replace("\\-", "-").replace("\\(aq", "'")


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_help_options_are_documented(name):
    man = man_text(name)
    helped = set(LONG_OPT.findall(all_help(name)))
    assert helped, f"no long options found in {name} --help"
    missing = sorted(o for o in helped if not re.search(rf"(?<![\w-])--{re.escape(o)}\b", man))
    assert not missing, f"{name}.1 does not document: " + ", ".join("--" + o for o in missing)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_documented_options_exist(name):
    text = all_help(name)
    known = set(LONG_OPT.findall(text))
    # ota-agent: every configuration key is also a flag (with _ or -)
    keys = set(re.findall(r"^  ([a-z][a-z0-9_]+)\s", text, re.M))
    known |= keys | {k.replace("_", "-") for k in keys}
    # examples (no-fill blocks) may show other programs' options
    prose = re.sub(r"^\.nf$.*?^\.fi$", "", man_text(name), flags=re.M | re.S)
    documented = set(LONG_OPT.findall(prose))
    stale = sorted(o for o in documented if o not in known)
    assert not stale, f"{name}.1 documents options --help does not know: " + \
        ", ".join("--" + o for o in stale)


def test_agent_configuration_keys_are_documented():
    text = help_text(PROGRAMS["ota-agent"])
    keys = re.findall(r"^  ([a-z][a-z0-9_]+)\s", text.split("Configuration keys", 1)[1], re.M)
    assert len(keys) > 10, keys
    man = man_text("ota-agent")
    missing = [k for k in keys if not re.search(rf"^{re.escape(k)}$", man, re.M)]
    assert not missing, "ota-agent.1 does not document keys: " + ", ".join(missing)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_exit_codes_are_documented(name):
    """The exit codes a program's help lists are in its EXIT STATUS section."""
    text = help_text(PROGRAMS[name])
    m = re.search(r"^Exit (?:codes|status):\n((?:\s+\d+\s.*\n)+)", text, re.M)
    if not m:
        return  # this program's help lists no exit codes
    codes = set(re.findall(r"^\s+(\d+)\s", m.group(1), re.M))
    man = man_text(name)
    assert "EXIT STATUS" in man, name
    section = man.split("EXIT STATUS", 1)[1].split(".SH", 1)[0]
    documented = set(re.findall(r"^(\d+)$", section, re.M))
    missing = sorted(codes - documented, key=int)
    assert not missing, f"{name}.1 EXIT STATUS lacks: {missing}"


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_man_renders(name):
    r = subprocess.run(["man", "-l", str(BUILD / "man" / f"{name}.1")], capture_output=True,
                       text=True, env=dict(os.environ, MANPAGER="cat", MANWIDTH="80"))
    assert r.returncode == 0 and r.stdout.startswith(name.upper() + "(1)"), r
