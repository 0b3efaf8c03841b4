# SPDX-License-Identifier: Apache-2.0
"""
test_smp_ota.py - ota's own SMP group (64, docs/smp.md "The ota group") on
the QEMU board: a server-signed manifest (built here from docs/manifest.md
with python3-cryptography, not by ota's C code) bound to this device is
offered with `ota smp offer`, the payload goes through the device's update
engine, the target ends verified and pending, boots on trial and is
confirmed; then a delta offer from that image to the next. The identity
block is written with `ota-mcu-flash identity` and checked byte by byte
against the documented layout. Offers for
another device, or signed by a key the device does not trust, are refused
before any payload byte, with the ota error named, and leave nothing
pending.
"""
import hashlib
import json
import struct

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import MCU_FLASH, OTA, new_flash, sh, sign
import smp_spec_client as spec

IDENTITY_OFF = 0xfe000  # board.h BOARD_IDENTITY_OFF
DEVICE = "board-7"
HW_ID = b"mps2-an385"


def spki_der(pem_path):
    key = serialization.load_pem_private_key(open(pem_path, "rb").read(), None)
    return key, key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def write_identity(flash, device_id, key_pem, spki):
    """`ota-mcu-flash identity`, checked against docs/smp.md's layout: OTAI,
    format 1, id length, 2 reserved, id[64], SPKI[91], pad, CRC-16/XMODEM
    (big-endian) of the 164 bytes before it."""
    sh(MCU_FLASH, "identity", flash, "--device-id", device_id, "--server-key", key_pem)
    blk = b"OTAI" + bytes([1, len(device_id), 0, 0]) + device_id.encode().ljust(64, b"\0")
    blk += spki + b"\0"
    assert len(blk) == 164
    blk += struct.pack(">H", spec.crc16(blk))
    with open(flash, "rb") as f:
        f.seek(IDENTITY_OFF)
        assert f.read(len(blk)) == blk


def version_of(image):
    return image[20:28]  # major u8, minor u8, revision u16, build u32 (LE)


def manifest(key, spki, device_id, target, payload, base=None, seq=1):
    """Format 2 manifest (docs/manifest.md), little-endian, signed ECDSA P-256."""
    delta = base is not None
    sec_cnt = 1
    body = b"OTAM" + bytes([2, 1 if delta else 0, len(device_id), len(HW_ID)])
    body += hashlib.sha256(spki).digest()[:8]
    body += struct.pack("<QQQ", 42, 1_700_000_000, 4_000_000_000)
    body += hashlib.sha256(target).digest() + struct.pack("<I", len(target))
    body += version_of(target) + struct.pack("<I", sec_cnt)
    body += hashlib.sha256(payload).digest() + struct.pack("<I", len(payload))
    body += hashlib.sha256(base).digest() if delta else b"\0" * 32
    body += struct.pack("<QI", seq, 0)
    assert len(body) == 168
    body += device_id.encode() + HW_ID
    sig = key.sign(body, ec.ECDSA(hashes.SHA256()))
    return body + bytes([len(sig)]) + sig


def state(board):
    return {im["slot"]: im for im in json.loads(board.ota("state", "--json").stdout)["images"]}


def test_ota_group_full_and_delta_offers(port, board_factory):
    srv_pem = port["work"] + "/server.pem"
    other_pem = port["work"] + "/other-server.pem"
    sh(OTA, "keygen", "-o", srv_pem)
    sh(OTA, "keygen", "-o", other_pem)
    key, spki = spki_der(srv_pem)
    other_key, other_spki = spki_der(other_pem)
    a1p = sign(port, "a-1.0.0-smp", "1.0.0", "oa1.img")
    b2p = sign(port, "b-2.0.0-smp", "2.0.0", "ob2.img")
    a3p = sign(port, "a-3.0.0-smp", "3.0.0", "oa3.img")
    a1, b2, a3 = (open(p, "rb").read() for p in (a1p, b2p, a3p))
    flash = new_flash(port, "ota.flash", a1p)
    write_identity(flash, DEVICE, srv_pem, spki)
    board = board_factory(flash)
    w = port["work"] + "/"

    st = board.ota("status").stdout
    assert f"device_id: {DEVICE}\n" in st and "phase: idle" in st, st

    # refused before any payload byte: another device, another server key
    for name, m, why in (
            ("wrong-dev.m", manifest(key, spki, "board-8", b2, b2), "OTA_ERR_MANIFEST_WRONG_DEVICE"),
            ("wrong-key.m", manifest(other_key, other_spki, DEVICE, b2, b2),
             "OTA_ERR_MANIFEST_SIG_INVALID")):
        open(w + name, "wb").write(m)
        r = board.ota("offer", w + name, b2p, check=False)
        assert r.returncode == 1 and why in r.stderr and "group 64 error" in r.stderr, r.stderr
        assert not any(im["pending"] for im in state(board).values())

    # a full offer: verified, written through the engine, pending
    open(w + "full.m", "wb").write(manifest(key, spki, DEVICE, b2, b2))
    r = board.ota("offer", "--progress", w + "full.m", b2p)
    assert "target verified and pending" in r.stdout, r.stdout + r.stderr
    st = state(board)
    assert st[1]["pending"] and st[1]["version"] == "2.0.0", st
    board.ota("reset")
    out = board.wait_console("app: SMP server on UART1", count=2)
    assert "app: running slot B version 2.0.0 (trial" in out, out
    board.ota("confirm")
    assert state(board)[1]["confirmed"]

    # a delta offer B 2.0.0 -> A 3.0.0, the patch made by `ota delta create`
    sh(OTA, "delta", "create", b2p, a3p, "-o", w + "b2-a3.patch")
    patch = open(w + "b2-a3.patch", "rb").read()
    assert len(patch) < len(a3)
    open(w + "delta.m", "wb").write(manifest(key, spki, DEVICE, a3, patch, base=b2, seq=2))
    r = board.ota("offer", w + "delta.m", w + "b2-a3.patch")
    assert "target verified and pending" in r.stdout, r.stdout + r.stderr
    st = state(board)
    assert st[0]["pending"] and st[0]["version"] == "3.0.0", st
    board.ota("reset")
    out = board.wait_console("app: SMP server on UART1", count=3)
    assert "app: running slot A version 3.0.0 (trial" in out, out
    board.ota("confirm")
    st = state(board)
    assert st[0]["active"] and st[0]["confirmed"] and st[0]["hash"] == \
        hashlib.sha256(a3[:struct.unpack_from("<H", a3, 8)[0] + struct.unpack_from("<I", a3, 12)[0]
                          + struct.unpack_from("<H", a3, 10)[0]]).hexdigest(), st
