# SPDX-License-Identifier: Apache-2.0
"""
test_smp_update.py - an update of the QEMU board over SMP with `ota smp`,
the way a firmware engineer does it with mcumgr: upload the signed image
into the inactive slot, see it listed, test it, reset, see the new image
run on trial, confirm it, see it confirmed; and an interrupted upload that
`ota smp upload` resumes at the offset the device reports.
"""
import json
import re

from conftest import new_flash, sign
import smp_spec_client as spec


def state(board):
    out = board.ota("state", "--json").stdout
    return {im["slot"]: im for im in json.loads(out)["images"]}


def test_update_test_reset_confirm(port, board_factory):
    a1 = sign(port, "a-1.0.0-smp", "1.0.0", "a1.img")
    b2 = sign(port, "b-2.0.0-smp", "2.0.0", "b2.img")
    board = board_factory(new_flash(port, "update.flash", a1))

    st = state(board)
    assert list(st) == [0], st
    assert st[0]["version"] == "1.0.0" and st[0]["active"] and st[0]["confirmed"], st

    up = board.ota("upload", "--progress", b2)
    assert re.search(r"uploaded \d+ bytes .* B/s; image hash [0-9a-f]{64}", up.stdout), up.stdout
    assert "100%" in up.stderr, up.stderr  # the progress bar reached the end
    st = state(board)
    assert st[1]["version"] == "2.0.0" and st[1]["bootable"], st
    assert not st[1]["pending"] and not st[1]["active"], st
    image_hash = st[1]["hash"]
    assert image_hash in up.stdout

    board.ota("test", image_hash)
    st = state(board)
    assert st[1]["pending"] and not st[1]["confirmed"], st
    assert st[0]["active"] and st[0]["confirmed"], st

    assert board.ota("reset").stdout.strip() == "reset"
    out = board.wait_console("app: SMP server on UART1", count=2)
    assert "boot: slot B version 2.0.0" in out and "on trial" in out, out
    assert "app: running slot B version 2.0.0 (trial" in out, out
    st = state(board)
    assert st[1]["active"] and not st[1]["confirmed"] and not st[1]["pending"], st
    assert st[0]["confirmed"] and not st[0]["active"], st

    board.ota("confirm")
    st = state(board)
    assert st[1]["active"] and st[1]["confirmed"], st
    assert not st[0]["confirmed"], st

    # the next power-on runs B without a trial: the confirm is in flash
    assert board.ota("reset").returncode == 0
    out = board.wait_console("app: SMP server on UART1", count=3)
    last = out[out.rfind("rom: stage 0"):]
    assert "boot: slot B version 2.0.0" in last and "on trial" not in last, last


def test_interrupted_upload_resumes_at_device_offset(port, board_factory):
    a1 = sign(port, "a-1.0.0-smp", "1.0.0", "ra1.img")
    b2 = sign(port, "b-2.0.0-smp", "2.0.0", "rb2.img")
    board = board_factory(new_flash(port, "resume.flash", a1))
    image = open(b2, "rb").read()

    # another client starts the upload and goes away part-way
    c = spec.Client(board.sock)
    a = c.upload(image, chunk=600, stop_after=len(image) // 2)
    c.close()
    assert a.error() is None, a.body
    device_off = a.body["off"]
    assert 0 < device_off < len(image)

    up = board.ota("upload", "--chunk", "700", b2)
    assert f"resuming at offset {device_off} " in up.stderr, up.stderr
    assert f"({len(image) - device_off} sent)" in up.stdout, up.stdout
    st = state(board)
    assert st[1]["version"] == "2.0.0" and st[1]["bootable"], st
    board.ota("test", b2)  # by image file: its SHA-256 TLV
    assert state(board)[1]["pending"]
