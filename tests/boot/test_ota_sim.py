# SPDX-License-Identifier: Apache-2.0
"""
tests/boot/test_ota_sim.py - the ota-sim walk-through, through the real
binaries a user runs: `ota` signs images, `ota-sim` creates a device,
installs, boots, confirms; `status --json` is checked at every step.

Covers: install -> trial -> confirm; install -> failed trial -> revert;
refusals (lower security counter, tampered image, foreign key), power cuts
during install, exit codes, --help on every command.
"""
import json
import os
import subprocess

import pytest

OTA = os.environ.get("OTA_BIN", "ota")
SIM = os.environ.get("OTA_SIM_BIN", "ota-sim")
HW = "sim-board-1"


def run(*args, expect=0):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=60)
    assert p.returncode == expect, (args, p.returncode, p.stdout, p.stderr)
    return p


def status(flash):
    return json.loads(run(SIM, "status", flash, "--json").stdout)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("img")
    key, pub = d / "key.pem", d / "pub.pem"
    run(OTA, "keygen", "-o", key)
    run(OTA, "pubkey", key, "-o", pub)
    other = d / "other.pem"
    run(OTA, "keygen", "-o", other)
    out = {"key": key, "pub": pub}
    for name, ver, ctr, k in [("v1", "1.0.0", 1, key), ("v2", "2.0.0", 2, key),
                              ("v3", "3.0.0", 3, key), ("low", "2.5.0", 1, key),
                              ("foreign", "9.0.0", 9, other)]:
        raw = d / (name + ".bin")
        raw.write_bytes(os.urandom(12000))
        img = d / (name + ".img")
        run(OTA, "sign", "--key", k, "--version", ver, "--security-counter", ctr,
            "--hw-id", HW, raw, img)
        out[name] = img
    tampered = d / "tampered.img"
    data = bytearray(out["v3"].read_bytes())
    data[2000] ^= 1
    tampered.write_bytes(bytes(data))
    out["tampered"] = tampered
    return out


def slot(st, name):
    return next(s for s in st["slots"] if s["name"] == name)


def test_walkthrough(tmp_path, images):
    flash = tmp_path / "dev.flash"
    run(SIM, "create", flash, "--key", images["pub"], "--hw-id", HW)
    st = status(flash)
    assert st["stage0"] == "OTA_OK"
    assert st["running"] is None and st["otp"]["counter"] == 0
    assert st["state"]["confirmed"] is None and st["state"]["pending"] is None
    assert not slot(st, "A")["valid"] and slot(st, "A")["version"] is None

    # nothing installed: recovery, exit 3, with the reason
    p = run(SIM, "boot", flash, expect=40)  # OTA_EXIT_SIM_RECOVERY
    assert "recovery" in p.stdout and "no valid slot" in p.stdout

    # --- install -> trial -> confirm (first image, into A) ---
    p = run(SIM, "install", flash, images["v1"])
    assert "slot A" in p.stdout
    st = status(flash)
    assert st["state"]["pending"] == "A" and st["state"]["attempts_left"] == 3
    assert slot(st, "A")["valid"] and slot(st, "A")["version"] == "1.0.0+0"
    p = run(SIM, "boot", flash)
    assert "booted slot A" in p.stdout and "on trial" in p.stdout
    st = status(flash)
    assert st["running"] == "A" and st["state"]["attempts_left"] == 2
    run(SIM, "confirm", flash)
    st = status(flash)
    assert st["state"]["confirmed"] == "A" and st["state"]["pending"] is None
    assert st["otp"]["counter"] == 1

    # --- install -> trial -> confirm (v2 into B, raises OTP to 2) ---
    run(SIM, "install", flash, images["v2"])
    st = status(flash)
    assert st["state"]["pending"] == "B" and slot(st, "B")["version"] == "2.0.0+0"
    b = json.loads(run(SIM, "boot", flash, "--json").stdout)
    assert b["running"] == "B" and b["trial"] and b["attempts_left"] == 2
    p = run(SIM, "confirm", flash)
    assert "raised from 1" in p.stdout
    st = status(flash)
    assert st["state"]["confirmed"] == "B" and st["otp"]["counter"] == 2
    # v1 in A is now below the anti-rollback counter
    assert not slot(st, "A")["valid"] and slot(st, "A")["error"] == "OTA_ERR_IMAGE_ROLLBACK"

    # --- install -> failed trial (never confirmed) -> revert ---
    run(SIM, "install", flash, images["v3"])
    assert status(flash)["state"]["pending"] == "A"
    for left in (2, 1, 0):
        b = json.loads(run(SIM, "boot", flash, "--json").stdout)
        assert b["running"] == "A" and b["trial"] and b["attempts_left"] == left
        assert status(flash)["state"]["attempts_left"] == left
    b = json.loads(run(SIM, "boot", flash, "--json").stdout)
    assert b["running"] == "B" and b["reverted"] and not b["trial"]
    st = status(flash)
    assert st["running"] == "B" and st["state"]["confirmed"] == "B"
    assert st["state"]["pending"] is None and st["state"]["rejected"] == "A"
    assert st["otp"]["counter"] == 2  # the failed image never raised it
    assert slot(st, "A")["role"] == "rejected"
    # the reverted slot is not confirmable
    run(SIM, "boot", flash)
    p = run(SIM, "confirm", flash)  # B is confirmed already: no-op
    assert "counter 2" in p.stdout

    # --- refusals: nothing marked, device unchanged ---
    # exit codes as `ota verify`'s (docs/exit-codes.md)
    for name, err, code in [("low", "OTA_ERR_IMAGE_ROLLBACK", 12),
                            ("tampered", "OTA_ERR_IMAGE_HASH_MISMATCH", 8),
                            ("foreign", "OTA_ERR_IMAGE_UNKNOWN_KEY", 10)]:
        p = run(SIM, "install", flash, images[name], expect=code)
        assert err in p.stderr and str(images[name]) in p.stderr
        st = status(flash)
        assert st["state"]["pending"] is None and st["state"]["confirmed"] == "B"
        assert json.loads(run(SIM, "boot", flash, "--json").stdout)["running"] == "B"

    # wear and flash accounting are reported
    st = status(flash)
    assert st["wear"]["slot_a"]["erases"] > 0 and st["flash_ops"]["nor_violations"] == 0


def test_power_cut_during_install(tmp_path, images):
    flash = tmp_path / "dev.flash"
    run(SIM, "create", flash, "--key", images["pub"], "--hw-id", HW, "--geometry", "stm32f4")
    run(SIM, "install", flash, images["v1"], "--permanent")
    run(SIM, "boot", flash)
    for n, torn in [(0, False), (3, True), (7, False), (12, True)]:
        args = [SIM, "install", flash, images["v2"], "--power-cut", n] + (["--torn"] if torn else [])
        p = run(*args, expect=1)
        assert "power cut" in p.stderr
        st = status(flash)
        assert st["running"] is None  # power was lost
        b = json.loads(run(SIM, "boot", flash, "--json").stdout)
        assert b["running"] == "A" and b["version"] == "1.0.0+0" and not b["trial"]
    # and then it completes
    run(SIM, "install", flash, images["v2"])
    b = json.loads(run(SIM, "boot", flash, "--json").stdout)
    assert b["running"] == "B" and b["trial"]


def test_power_cut_during_boot_and_confirm(tmp_path, images):
    flash = tmp_path / "dev.flash"
    run(SIM, "create", flash, "--key", images["pub"], "--hw-id", HW)
    run(SIM, "install", flash, images["v1"], "--permanent")
    run(SIM, "boot", flash)
    run(SIM, "install", flash, images["v2"])
    assert status(flash)["state"]["attempts_left"] == 3
    # the trial boot's attempt record never gets written: nothing runs, count unchanged
    p = run(SIM, "boot", flash, "--power-cut", "0", expect=1)
    assert "power cut before flash operation 0" in p.stderr and "nothing runs" in p.stderr
    st = status(flash)
    assert st["running"] is None and st["state"]["attempts_left"] == 3
    b = json.loads(run(SIM, "boot", flash, "--json").stdout)
    assert b["running"] == "B" and b["trial"] and b["attempts_left"] == 2
    # the confirmation record is torn: still on trial, OTP untouched
    p = run(SIM, "confirm", flash, "--power-cut", "0", "--torn", "--seed", "7", expect=1)
    assert "in the middle of flash operation 0" in p.stderr
    st = status(flash)
    assert st["state"]["pending"] == "B" and st["otp"]["counter"] == 1 and st["running"] is None
    assert st["state"]["bad_records"] >= 1
    run(SIM, "confirm", flash, expect=1)  # not running: boot first
    b = json.loads(run(SIM, "boot", flash, "--json").stdout)
    assert b["running"] == "B" and b["trial"] and b["attempts_left"] == 1
    run(SIM, "confirm", flash)
    st = status(flash)
    assert st["state"]["confirmed"] == "B" and st["otp"]["counter"] == 2
    # a cut the command never reaches is reported, not silently ignored
    p = run(SIM, "boot", flash, "--power-cut", "5")
    assert "no power cut happened" in p.stderr
    run(SIM, "boot", flash, "--torn", expect=2)


def test_cli_errors_and_help(tmp_path, images):
    flash = tmp_path / "dev.flash"
    for cmd in ("create", "install", "boot", "confirm", "status"):
        p = run(SIM, cmd, "--help")
        assert "Usage: ota-sim " + cmd in p.stdout and "Exit codes" in p.stdout
    assert "Commands:" in run(SIM, "--help").stdout
    run(SIM, expect=2)
    run(SIM, "frobnicate", expect=2)
    run(SIM, "create", flash, expect=2)  # --key missing
    p = run(SIM, "create", flash, "--key", images["pub"], "--geometry", "nope", expect=2)
    assert "unknown geometry" in p.stderr
    p = run(SIM, "create", flash, "--key", tmp_path / "missing.pem", expect=3)
    assert "missing.pem" in p.stderr
    run(SIM, "create", flash, "--key", images["pub"])
    p = run(SIM, "create", flash, "--key", images["pub"], expect=1)
    assert "--force" in p.stderr
    run(SIM, "create", flash, "--key", images["pub"], "--force")
    p = run(SIM, "confirm", flash, expect=1)
    assert "boot the device first" in p.stderr
    p = run(SIM, "status", tmp_path / "nope.flash", expect=3)
    assert "nope.flash" in p.stderr
    junk = tmp_path / "junk.flash"
    junk.write_bytes(b"x" * 4096)
    p = run(SIM, "boot", junk, expect=3)
    assert "not an ota-sim flash file" in p.stderr
    p = run(SIM, "install", flash, tmp_path / "nope.img", expect=3)
    assert "nope.img" in p.stderr
    # hw id enforced
    other = tmp_path / "other.flash"
    run(SIM, "create", other, "--key", images["pub"], "--hw-id", "another-board")
    p = run(SIM, "install", other, images["v1"], expect=11)
    assert "OTA_ERR_IMAGE_HW_MISMATCH" in p.stderr


def test_binary_hw_id_matches_ota_sign(tmp_path, images):
    """`--hw-id 0x...` means the same bytes for ota-sim create as for ota sign
    (it used to be taken as the text "0x0102ff" by ota-sim)."""
    raw = tmp_path / "app.bin"
    raw.write_bytes(os.urandom(5000))
    img = tmp_path / "app.img"
    run(OTA, "sign", "--key", images["key"], "--version", "1.0.0", "--security-counter", 1,
        "--hw-id", "0x0102ff", raw, img)
    flash = tmp_path / "dev.flash"
    p = run(SIM, "create", flash, "--key", images["pub"], "--hw-id", "0x0102ff")
    assert "hw id 0x0102ff" in p.stdout
    run(SIM, "install", flash, img)
    other = tmp_path / "other.flash"
    run(SIM, "create", other, "--key", images["pub"], "--hw-id", "0x0102fe")
    p = run(SIM, "install", other, img, expect=11)
    # the one diag rendering of every program: field, offset, values in decimal and hex
    assert "OTA_ERR_IMAGE_HW_MISMATCH" in p.stderr and "at offset 0 (0x0)" in p.stderr


@pytest.mark.parametrize("bad", ["a b", "0xABCD", "x" * 33, "0x1"])
def test_hw_id_forbidden_by_the_docs_is_refused(tmp_path, images, bad):
    flash = tmp_path / "dev.flash"
    p = run(SIM, "create", flash, "--key", images["pub"], "--hw-id", bad, expect=2)
    assert "--hw-id" in p.stderr and "printable ASCII" in p.stderr
    assert not flash.exists()


def test_version_and_recovery_exit_code(tmp_path, images):
    assert run(SIM, "--version").stdout.startswith("ota-sim ")
    flash = tmp_path / "dev.flash"
    run(SIM, "create", flash, "--key", images["pub"])
    p = run(SIM, "boot", flash, expect=40)  # OTA_EXIT_SIM_RECOVERY, as in docs/exit-codes.md
    assert "recovery:" in p.stdout
