# SPDX-License-Identifier: Apache-2.0
"""
tests/tool/test_link_slot.py - per-slot builds through the `ota` CLI:
`ota sign --link-slot A|B` writes the protected LINK_SLOT TLV (0xa1, one
byte) exactly as docs/image-format.md says, `ota inspect` shows the link
slot and the ROM_FIXED address, `ota verify` and an independent model of
MCUboot's validation accept the images unchanged, and a LINK_SLOT TLV that
breaks the rules (unsigned, twice, bad value or length) is refused.
"""
import json
import struct

import pytest

import mcuboot_verify

PROT_MAGIC, UNPROT_MAGIC, LINK_SLOT = 0x6908, 0x6907, 0xA1


def areas(img):
    """(header fields, protected entries, unprotected entries) of an image:
    entries are (type, value bytes) in file order."""
    _, _, hdr, prot, size = struct.unpack_from("<IIHHI", img, 0)
    off = hdr + size

    def walk(off, magic):
        m, tot = struct.unpack_from("<HH", img, off)
        assert m == magic
        out, pos = [], off + 4
        while pos < off + tot:
            t, ln = struct.unpack_from("<HH", img, pos)
            out.append((t, img[pos + 4:pos + 4 + ln]))
            pos += 4 + ln
        return out, off + tot

    p, off = walk(off, PROT_MAGIC) if prot else ([], off)
    u, _ = walk(off, UNPROT_MAGIC)
    return (hdr, prot, size), p, u


def build(hdr_size, body, prot, unprot):
    """An image from its parts (no re-signing: only the structure matters)."""
    def area(magic, entries):
        raw = b"".join(struct.pack("<HH", t, len(v)) + v for t, v in entries)
        return struct.pack("<HH", magic, len(raw) + 4) + raw
    p = area(PROT_MAGIC, prot) if prot else b""
    head = bytearray(body[:hdr_size])
    struct.pack_into("<H", head, 10, len(p))
    return bytes(head) + body[hdr_size:] + p + area(UNPROT_MAGIC, unprot)


@pytest.mark.parametrize("slot,value", [("A", 0), ("B", 1), ("b", 1)])
def test_sign_writes_the_link_slot_tlv_byte_for_byte(ota, keys, firmware, slot, value):
    out = ota("sign", "-k", keys / "a.pem", "-v", "2.1.0", "-s", "7", "--hw-id", "board",
              "--link-slot", slot, firmware, "fw.img", check=0)
    assert "linked for slot %s" % slot.upper() in out.stdout
    img = (ota.cwd / "fw.img").read_bytes()
    (_, prot_size, _), prot, unprot = areas(img)
    # SEC_CNT, HW_ID, then LINK_SLOT: type a1 00, length 01 00, the value
    assert [t for t, _ in prot] == [0x50, 0xA0, LINK_SLOT]
    assert prot[2][1] == bytes([value])
    assert prot_size == 4 + (4 + 4) + (4 + 5) + (4 + 1)
    assert bytes([0xA1, 0x00, 0x01, 0x00, value]) in img
    # signed: the independent MCUboot model and `ota verify` accept it
    info = mcuboot_verify.verify(img, [mcuboot_verify.load_public(keys / "a.pub.pem")])
    assert info["security_counter"] == 7
    ota("verify", "--key", keys / "a.pub.pem", "--hw-id", "board", "fw.img", check=0)


def test_inspect_shows_link_slot_and_rom_fixed(ota, keys, firmware):
    ota("sign", "-k", keys / "a.pem", "-v", "1.0.0", "--link-slot", "B", "--rom-fixed",
        "0x21080000", firmware, "b.img", check=0)
    text = ota("inspect", "b.img", check=0).stdout
    assert "link slot:        B" in text
    assert "ROM_FIXED:        0x21080000" in text
    assert "LINK_SLOT (ota) len 1   slot B" in text
    j = json.loads(ota("inspect", "--json", "b.img", check=0).stdout)
    assert j["link_slot"] == "B" and j["rom_fixed"] == 0x21080000
    assert j["header"]["flag_names"] == ["ROM_FIXED"]
    tlv = [t for t in j["protected_tlvs"]["tlvs"] if t["type"] == LINK_SLOT]
    assert tlv == [{"offset": tlv[0]["offset"], "type": LINK_SLOT, "name": "LINK_SLOT (ota)",
                    "length": 1, "value": "01", "link_slot": "B"}]


def test_image_without_link_slot_runs_from_any_slot(ota, keys, firmware):
    ota("sign", "-k", keys / "a.pem", "-v", "1.0.0", firmware, "any.img", check=0)
    j = json.loads(ota("inspect", "--json", "any.img", check=0).stdout)
    assert j["link_slot"] == "any" and "rom_fixed" not in j
    assert "link slot:        any" in ota("inspect", "any.img", check=0).stdout


@pytest.mark.parametrize("bad", ["C", "", "AB", "0"])
def test_bad_link_slot_is_a_usage_error(ota, keys, firmware, bad):
    p = ota("sign", "-k", keys / "a.pem", "-v", "1.0.0", "--link-slot", bad, firmware, "x.img")
    assert p.returncode == 2 and "--link-slot" in p.stderr and "A or B" in p.stderr
    assert not (ota.cwd / "x.img").exists()


@pytest.mark.parametrize("case,message", [
    ("unprotected", "UNPROTECTED"),
    ("twice", "DUPLICATE"),
    ("value", "MALFORMED"),
    ("length", "MALFORMED"),
])
def test_inspect_refuses_a_link_slot_tlv_against_the_rules(ota, keys, firmware, case, message):
    ota("sign", "-k", keys / "a.pem", "-v", "1.0.0", "--link-slot", "A", firmware, "a.img",
        check=0)
    img = (ota.cwd / "a.img").read_bytes()
    (hdr, _, size), prot, unprot = areas(img)
    body = img[:hdr + size]
    ls = [(t, v) for t, v in prot if t == LINK_SLOT]
    rest = [(t, v) for t, v in prot if t != LINK_SLOT]
    if case == "unprotected":
        bad = build(hdr, body, rest, unprot + ls)
    elif case == "twice":
        bad = build(hdr, body, prot + ls, unprot)
    elif case == "value":
        bad = build(hdr, body, rest + [(LINK_SLOT, b"\x02")], unprot)
    else:
        bad = build(hdr, body, rest + [(LINK_SLOT, b"\x00\x00")], unprot)
    (ota.cwd / "bad.img").write_bytes(bad)
    p = ota("inspect", "bad.img")
    assert p.returncode == 5, (p.stdout, p.stderr)  # malformed (docs/exit-codes.md)
    assert message in p.stderr and "link slot TLV" in p.stderr
    assert "structure:        INVALID" in p.stdout
