# SPDX-License-Identifier: Apache-2.0
"""
test_boot_qemu.py - ota's bootloader running on an emulated Cortex-M3.

Cross-builds the port (src/boot/cortex-m/build.sh: boot ROM, bootloader,
test apps; the portable core and the mbedTLS subset compiled for ARM), signs
the apps with the host `ota` tool, provisions flash files with
`ota-mcu-flash`, and boots them in qemu-system-arm (mps2-an385) with the
flash file as the board's persistent memory. Each QEMU run is one power-on;
an app built to crash resets the system itself (a watchdog reset), so a run
can hold several boots.

Environment (set by ctest): OTA_BIN, OTA_MCU_FLASH_BIN, OTA_BOOT_QEMU_BUILD.
The test fails, never skips, when the toolchain or QEMU is missing.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile

import pytest

from mcu_port import (IMAGE_HDR, MCU_FLASH, OTA, PORT, ROOT, SLOT_A_OFF, built_port, install,
                      new_flash, sh, sign)

ARM_BUILD = os.environ.get("OTA_BOOT_QEMU_BUILD") or os.path.join(
    tempfile.gettempdir(), "ota-boot-qemu-arm")


def error_names():
    """{code: name} of include/ota/error.h: the bootloader prints "ota_err N"
    (it does not link the core's name table, to stay under 16 KiB)."""
    with open(os.path.join(ROOT, "include", "ota", "error.h")) as f:
        return {int(m.group(2)): m.group(1)
                for m in re.finditer(r"^\s*(OTA_(?:OK|ERR_\w+))\s*=\s*(\d+)", f.read(), re.M)}


ERROR_NAMES = error_names()


def decode_errors(out):
    """The console with every "ota_err N" replaced by the code's name."""
    return re.sub(r"ota_err (\d+)", lambda m: ERROR_NAMES[int(m.group(1))], out)


@pytest.fixture(scope="session")
def port():
    """The cross-built port and a signing key (built once per session)."""
    yield from built_port(ARM_BUILD, "ota-boot-qemu-")


def status(flash):
    out = sh(MCU_FLASH, "status", flash).stdout
    return dict(line.split(": ", 1) for line in out.splitlines())


def qemu(port, flash, cmdline=None):
    """One power-on (src/boot/cortex-m/run.sh): (exit status, console output).
    cmdline: e.g. "cut=1 torn" to lose power in flash operation 1."""
    env = dict(os.environ)
    env.pop("OTA_PORT_CMDLINE", None)
    if cmdline:
        env["OTA_PORT_CMDLINE"] = cmdline
    p = subprocess.run([os.path.join(PORT, "run.sh"), port["build"], flash],
                       capture_output=True, text=True, timeout=60, env=env)
    out = decode_errors(p.stdout.replace("\r", ""))
    assert p.returncode in (0, 1), f"QEMU exited {p.returncode} (124: timeout)\n{out}\n{p.stderr}"
    assert "FAULT" not in out, out
    return p.returncode, out


def flip_byte(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x01]))


def test_good_image_in_slot_a_boots(port):
    flash = new_flash(port, "good.bin")
    install(flash, sign(port, "a-1.0.0-confirm", "1.0.0", "a1.img", counter=1), permanent=True)
    rc, out = qemu(port, flash)
    assert rc == 0, out
    assert "rom: bootloader region matches the OTP hash" in out
    assert "boot: slot A version 1.0.0, security counter 1" in out
    assert "app: running slot A version 1.0.0\n" in out
    assert "app: already confirmed" in out
    # The boot that found the image above the OTP counter raised it.
    st = status(flash)
    assert st["otp.counter"] == "1" and st["state.confirmed"] == "A", st


def test_tampered_image_is_refused_recovery(port):
    flash = new_flash(port, "tampered.bin")
    install(flash, sign(port, "a-1.0.0-confirm", "1.0.0", "a1t.img", counter=1), permanent=True)
    flip_byte(flash, SLOT_A_OFF + IMAGE_HDR + 100)  # one bit of the payload
    rc, out = qemu(port, flash)
    assert rc == 1, out
    assert "boot: slot A refused: OTA_ERR_IMAGE_HASH_MISMATCH" in out
    assert "boot: RECOVERY, nothing to run: OTA_ERR_BOOT_NO_VALID_SLOT" in out
    assert "app:" not in out


def test_tampered_image_falls_back_to_other_slot(port):
    flash = new_flash(port, "fallback.bin")
    install(flash, sign(port, "a-1.0.0-confirm", "1.0.0", "fa1.img", counter=1), permanent=True)
    install(flash, sign(port, "b-2.0.0-confirm", "2.0.0", "fb2.img", counter=1), permanent=True)
    # Back to A (the installer writes the slot that is not confirmed): B stays
    # a valid, inactive image.
    install(flash, sign(port, "a-1.0.0-confirm", "1.0.1", "fa101.img", counter=1), permanent=True)
    assert status(flash)["state.confirmed"] == "A"
    flip_byte(flash, SLOT_A_OFF + IMAGE_HDR + 4)  # the app's reset vector
    rc, out = qemu(port, flash)
    assert rc == 0, out
    assert "boot: slot A refused: OTA_ERR_IMAGE_HASH_MISMATCH" in out
    assert "fell back from the preferred slot" in out
    assert "app: running slot B version 2.0.0\n" in out
    assert status(flash)["state.confirmed"] == "B"


def test_untrusted_key_is_refused(port):
    other = os.path.join(port["work"], "other.pem")
    sh(OTA, "keygen", "-o", other)
    flash = new_flash(port, "untrusted.bin")
    good = sign(port, "a-1.0.0-confirm", "1.0.0", "ua1.img", counter=1)
    install(flash, good, permanent=True)
    # Same firmware, same layout, signed by a key the bootloader does not trust,
    # written over slot A behind the installer's back.
    bad = sign(port, "a-1.0.0-confirm", "1.0.0", "ua1-other.img", counter=1, key=other)
    with open(bad, "rb") as f:
        data = f.read()
    with open(flash, "r+b") as f:
        f.seek(SLOT_A_OFF)
        f.write(data)
    rc, out = qemu(port, flash)
    assert rc == 1, out
    assert "boot: slot A refused: OTA_ERR_IMAGE_UNKNOWN_KEY" in out
    assert "RECOVERY" in out and "app:" not in out


def test_forged_signature_is_refused(port):
    """One bit of the signature's s changed (still strict DER): the ECDSA
    verification itself (p256-m on the MCU) must say no."""
    flash = new_flash(port, "forged.bin")
    img = sign(port, "a-1.0.0-confirm", "1.0.0", "fga1.img", counter=1)
    install(flash, img, permanent=True)
    info = json.loads(sh(OTA, "inspect", "--json", img).stdout)
    sig = [t for t in info["tlvs"]["tlvs"] if t["name"] == "ECDSA256"][0]
    flip_byte(flash, SLOT_A_OFF + sig["offset"] + 4 + sig["length"] - 1)  # last byte of s
    rc, out = qemu(port, flash)
    assert rc == 1, out
    assert "boot: slot A refused: OTA_ERR_IMAGE_SIG_INVALID" in out
    assert "RECOVERY" in out and "app:" not in out


def test_mcu_crypto_backend_passes_the_core_crypto_tests(port):
    """The port's backend (crypto_p256m.c: mbedTLS 3.6 SHA-256 + p256-m, from
    the tree the ARM build fetched) compiled for the host with
    tests/core/test_crypto.c unchanged, in place of the host's mbedTLS 2.28
    backend: NIST SHA-256, the Wycheproof ECDSA subset, invalid keys."""
    mbed = os.path.join(port["build"], "mbedtls-3.6-src")
    exe = os.path.join(port["work"], "test_crypto_p256m")
    core = [os.path.join(ROOT, "src", "core", f)
            for f in sorted(os.listdir(os.path.join(ROOT, "src", "core"))) if f.endswith(".c")]
    sh("cc", "-std=c11", "-O1", "-ffunction-sections", "-Wl,--gc-sections",
       "-I" + os.path.join(ROOT, "include"), "-I" + os.path.join(ROOT, "tests"), "-I" + PORT,
       "-I" + os.path.join(mbed, "include"), "-I" + os.path.join(mbed, "3rdparty", "p256-m", "p256-m"),
       '-DMBEDTLS_CONFIG_FILE="ota_mbedtls_config.h"',
       '-DOTA_TEST_DATA="%s"' % os.path.join(ROOT, "tests", "core", "data"),
       os.path.join(ROOT, "tests", "core", "test_crypto.c"), os.path.join(PORT, "crypto_p256m.c"),
       os.path.join(ROOT, "src", "crypto", "crypto_openssl.c"), *core,
       os.path.join(mbed, "library", "sha256.c"), os.path.join(mbed, "library", "platform_util.c"),
       os.path.join(mbed, "3rdparty", "p256-m", "p256-m", "p256-m.c"), "-lcrypto", "-o", exe)
    out = sh(exe).stdout
    m = re.search(r"wycheproof: (\d+) cases", out)
    assert m and int(m.group(1)) > 0 and re.search(r"\b0 failed", out), out


def test_modified_bootloader_is_refused_by_stage0(port):
    flash = new_flash(port, "rom.bin")
    install(flash, sign(port, "a-1.0.0-confirm", "1.0.0", "ra1.img", counter=1), permanent=True)
    flip_byte(flash, 0x100 + 0x800)  # inside the bootloader's code
    rc, out = qemu(port, flash)
    assert rc == 1, out
    assert "rom: bootloader refused, nothing runs: OTA_ERR_BOOT_ROM_HASH" in out
    assert "boot:" not in out and "app:" not in out


def pending_b_over_confirmed_a(port, name, app_b):
    flash = new_flash(port, name)
    install(flash, sign(port, "a-1.0.0-confirm", "1.0.0", name + ".a1.img", counter=1), permanent=True)
    rc, out = qemu(port, flash)  # first boot: A runs, OTP counter 1
    assert rc == 0 and "app: running slot A version 1.0.0" in out, out
    install(flash, sign(port, app_b, "2.0.0", name + ".b2.img", counter=2))
    st = status(flash)
    assert st["state.pending"] == "B" and st["state.attempts"] == "3", st
    return flash


def test_pending_image_in_slot_b_trial_boot_and_confirm(port):
    flash = pending_b_over_confirmed_a(port, "trial.bin", "b-2.0.0-confirm")
    rc, out = qemu(port, flash)
    assert rc == 0, out
    assert "boot: slot B version 2.0.0, security counter 2, OTP counter 1, on trial, " \
           "2 attempts left" in out
    assert "app: running slot B version 2.0.0 (trial, 2 attempts left)" in out
    assert "app: confirmed slot B, OTP counter 2" in out
    st = status(flash)
    assert (st["state.confirmed"], st["state.pending"], st["otp.counter"]) == ("B", "-", "2"), st
    # Next power-on: confirmed, no trial.
    rc, out = qemu(port, flash)
    assert rc == 0 and "app: running slot B version 2.0.0\n" in out, out
    assert "trial" not in out


def test_crash_looping_trial_reverts_across_resets(port):
    flash = pending_b_over_confirmed_a(port, "crash.bin", "b-2.0.0-reset")
    rc, out = qemu(port, flash)  # B resets itself each time: one run, five boots
    assert rc == 0, out
    trials = re.findall(r"app: running slot B version 2\.0\.0 \(trial, (\d) attempts left\)", out)
    assert trials == ["2", "1", "0"], out
    assert out.count("rom: stage 0") == 4, out
    assert "boot: trial ended without confirmation (or the image failed): reverted" in out
    assert out.rstrip().endswith("app: already confirmed"), out
    assert "app: running slot A version 1.0.0\n" in out.split("reverted")[1]
    st = status(flash)
    assert (st["state.confirmed"], st["state.rejected"], st["otp.counter"]) == ("A", "B", "1"), st


def test_hanging_trial_is_reset_by_the_watchdog_and_reverted(port):
    flash = pending_b_over_confirmed_a(port, "hang.bin", "b-2.0.0-hang")
    rc, out = qemu(port, flash)  # B hangs; the watchdog the bootloader started resets
    assert rc == 0, out
    assert out.count("boot: starting slot B at 0x21080200 under the watchdog") == 3, out
    assert out.count("app: hang: no confirm, no watchdog kick") == 3, out
    assert "reverted" in out and out.rstrip().endswith("app: already confirmed"), out
    assert "boot: starting slot A at 0x21010200\n" in out  # confirmed: no watchdog
    st = status(flash)
    assert (st["state.confirmed"], st["state.rejected"]) == ("A", "B"), st


def test_unconfirmed_trial_reverts_across_power_cycles(port):
    flash = pending_b_over_confirmed_a(port, "noconfirm.bin", "b-2.0.0-noconfirm")
    for left in ("2", "1", "0"):
        rc, out = qemu(port, flash)
        assert rc == 0, out
        assert f"app: running slot B version 2.0.0 (trial, {left} attempts left)" in out, out
        assert "app: stopping without confirming" in out
    rc, out = qemu(port, flash)
    assert "reverted" in out and "app: running slot A version 1.0.0\n" in out, out
    assert status(flash)["state.rejected"] == "B"


def test_image_linked_for_the_other_slot_is_not_started(port):
    # A valid, signed image built for slot A installed into slot B: the core
    # verifies it, the port sees its vector table points outside slot B, does
    # not jump, and resets; the counted trial attempts run out and A returns.
    flash = new_flash(port, "misplaced.bin")
    install(flash, sign(port, "a-1.0.0-confirm", "1.0.0", "ma1.img", counter=1), permanent=True)
    install(flash, sign(port, "a-1.0.0-confirm", "1.1.0", "ma11.img", counter=1))
    assert status(flash)["state.pending"] == "B"
    rc, out = qemu(port, flash)
    assert rc == 0, out
    assert out.count("boot: slot B cannot be started here") == 3, out
    assert "app: running slot B" not in out
    assert "reverted" in out and "app: running slot A version 1.0.0\n" in out


def test_rom_fixed_address_is_enforced(port):
    # Signed with the address of slot A (MCUboot's ROM_FIXED flag): runs from
    # A; the same image installed into B is verified but never started there.
    fixed = ("--rom-fixed", hex(0x21000000 + SLOT_A_OFF))
    flash = new_flash(port, "romfixed.bin")
    install(flash, sign(port, "a-1.0.0-confirm", "1.0.0", "rf1.img", counter=1, extra=fixed),
            permanent=True)
    rc, out = qemu(port, flash)
    assert rc == 0 and "app: running slot A version 1.0.0\n" in out, out
    install(flash, sign(port, "a-1.0.0-confirm", "1.2.0", "rf12.img", counter=1, extra=fixed))
    rc, out = qemu(port, flash)
    assert rc == 0, out
    assert out.count("boot: slot B cannot be started here: image is linked for another "
                     "address (ROM_FIXED)") == 3, out
    assert "reverted" in out and "app: running slot A version 1.0.0\n" in out


def test_power_cut_at_every_flash_operation_of_trial_and_confirm(port):
    # The ARM build itself losing power (the simulator proves the core; this
    # proves the compiled port): a trial boot + confirm writes the attempt
    # record (bootloader), then the confirm record and the OTP burn (app).
    # Cut before / inside each, power on again until settled: every boot runs
    # a verified image, the OTP counter never goes down, and the update ends
    # confirmed exactly as without the cut.
    base = pending_b_over_confirmed_a(port, "cut-base.bin", "b-2.0.0-confirm")
    ref = os.path.join(port["work"], "cut-ref.bin")
    shutil.copyfile(base, ref)
    rc, out = qemu(port, ref)
    m = re.search(r"app: confirmed slot B, OTP counter 2, flash operations since reset (\d+)",
                  out)
    assert rc == 0 and m, out
    n_ops = int(m.group(1))
    assert n_ops == 3, out  # attempt record, confirm record, OTP record
    final = status(ref)
    cuts = 0
    for at in range(n_ops):
        for torn in (False, True):
            flash = os.path.join(port["work"], f"cut-{at}-{int(torn)}.bin")
            shutil.copyfile(base, flash)
            rc, out = qemu(port, flash, f"cut={at}" + (" torn" if torn else ""))
            assert f"POWER CUT at flash operation {at}" in out, out
            cuts += 1
            otp = int(status(flash)["otp.counter"])
            assert otp >= 1
            for _ in range(4):
                rc, out = qemu(port, flash)
                assert rc == 0 and "RECOVERY" not in out, (at, torn, out)
                assert re.search(r"app: running slot (A version 1\.0\.0|B version 2\.0\.0)",
                                 out), (at, torn, out)
                now = int(status(flash)["otp.counter"])
                assert now >= otp, (at, torn, out)
                otp = now
                if "app: running slot B version 2.0.0\napp: already confirmed" in out:
                    break
            else:
                raise AssertionError(f"cut {at} torn={torn}: did not settle\n{out}")
            st = status(flash)
            for k in ("state.confirmed", "state.pending", "state.rejected", "otp.counter"):
                assert st[k] == final[k], (at, torn, k, st, final)
    assert cuts == 2 * n_ops


def test_bootloader_links_no_allocator(port):
    syms = sh("arm-none-eabi-nm", os.path.join(port["build"], "boot.elf")).stdout
    names = {line.split()[-1] for line in syms.splitlines() if line.strip()}
    for forbidden in ("malloc", "calloc", "realloc", "free", "_sbrk", "printf", "exit"):
        assert forbidden not in names, f"bootloader links {forbidden}"
    assert "p256_ecdsa_verify" in names and "mbedtls_sha256_update" in names
    assert not any(n.startswith("mbedtls_memory_buffer") for n in names)
    assert "ota_boot" in names and "ota_image_verify" in names


# Issue 12: ROM check + A/B + ECDSA P-256 + anti-rollback in at most 16 KiB
# of code (arm-none-eabi-size's text: vectors, code, read-only data). Reached
# with mbedTLS 3.6's SHA-256 + p256-m and no error-name table (docs/boot-port.md
# section 5); ctest boot.qemu_footprint runs this test alone.
BOOT_TEXT_BUDGET = 16 * 1024


def test_footprint_bootloader_text_within_budget(port):
    elf = os.path.join(port["build"], "boot.elf")
    head, row = sh("arm-none-eabi-size", elf).stdout.splitlines()[:2]
    assert head.split()[0] == "text", head
    text = int(row.split()[0])
    if text > BOOT_TEXT_BUDGET:
        import sys
        sys.path.insert(0, PORT)
        import measure  # the per-file table of docs/benchmarks.md, for the message
        table = "\n".join(measure.table_sizes(measure.map_sizes(
            os.path.join(port["build"], "boot.map"))))
        raise AssertionError(f"boot.elf has {text} B of text, budget {BOOT_TEXT_BUDGET} B "
                             f"(over by {text - BOOT_TEXT_BUDGET}):\n{table}")
