# SPDX-License-Identifier: Apache-2.0
"""
tests/tool/test_compat.py - MCUboot compatibility of ota's images.

1. `ota sign` output is byte-identical to a reference model of imgtool's
   output (imgtool_ref.py) for many option combinations; only the ECDSA
   signature (random by design) is taken from ota's file, and it is checked
   separately by an independent verifier.
2. Every ota image verifies with mcuboot_verify.py, a from-scratch
   Python port of MCUboot bootutil's validation logic on python3-cryptography,
   and tampered ones are rejected by it.
3. Real imgtool output (two images made by `imgtool sign -H 64 --pad-header`
   with an RSA-2048 key, kept as hex in data/): ota reproduces their signed
   region (header, header padding, payload, protected TLVs) and their SHA256
   TLV byte for byte, `ota inspect` parses them, and `ota verify` refuses them
   for the right reason (RSA signatures are not supported: no ECDSA TLV).
"""
import hashlib
import os
import struct

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

import imgtool_ref
import mcuboot_verify
from conftest import HERE


def pubkey(path):
    return mcuboot_verify.load_public(path)


def spki(path):
    return mcuboot_verify.spki_der(pubkey(path))


def last_tlv(img):
    """(type, value) of the last entry of the unprotected TLV area."""
    hdr_size, prot, img_size = struct.unpack_from("<HHI", img, 8)
    off = hdr_size + img_size + prot
    magic, tot = struct.unpack_from("<HH", img, off)
    assert magic == 0x6907
    pos, end, last = off + 4, off + tot, None
    while pos < end:
        t, ln = struct.unpack_from("<HH", img, pos)
        last = (t, img[pos + 4:pos + 4 + ln])
        pos += 4 + ln
    return last


CASES = [
    ([], {}),
    (["--version", "0"], {"version": (0, 0, 0, 0)}),
    (["--version", "255.255.65535+4294967295"], {"version": (255, 255, 65535, 4294967295)}),
    (["--header-size", "0x200"], {"header_size": 0x200}),
    (["--header-size", "33"], {"header_size": 33}),
    (["--security-counter", "7"], {"security_counter": 7}),
    (["--security-counter", "auto"], {"security_counter": (1 << 24) + (2 << 16) + 3}),
    (["--hw-id", "acme-gw-rev2"], {"custom_tlvs": [(0xA0, b"acme-gw-rev2")]}),
    (["--hw-id", "0x00ff10"], {"custom_tlvs": [(0xA0, bytes([0, 0xFF, 0x10]))]}),
    (["--security-counter", "9", "--hw-id", "board"],
     {"security_counter": 9, "custom_tlvs": [(0xA0, b"board")]}),
    (["--load-addr", "0x20000000"], {"load_addr": 0x20000000}),
    (["--slot-size", "0x8000"], {}),
    (["--slot-size", "0x8000", "--pad"], {"slot_size": 0x8000, "pad": True}),
    (["--slot-size", "0x8000", "--confirm"], {"slot_size": 0x8000, "confirm": True}),
    (["--slot-size", "0x8000", "--pad", "--erased-val", "0"],
     {"slot_size": 0x8000, "pad": True, "erased_val": 0}),
    (["--slot-size", "0x10000", "--confirm", "--align", "8"],
     {"slot_size": 0x10000, "confirm": True, "align": 8}),
    (["--header-size", "0x100", "--erased-val", "0"], {"header_size": 0x100, "erased_val": 0}),
    (["--slot-size", "0x20000", "--confirm", "--align", "16"],
     {"slot_size": 0x20000, "confirm": True, "align": 16}),
    (["--slot-size", "0x8000", "--confirm", "--max-align", "32"],
     {"slot_size": 0x8000, "confirm": True, "max_align": 32}),
    (["--slot-size", "0x8000", "--confirm", "--overwrite-only"],
     {"slot_size": 0x8000, "confirm": True, "overwrite_only": True}),
    (["--slot-size", "0x8000", "--pad", "--max-sectors", "16", "--align", "4"],
     {"slot_size": 0x8000, "pad": True, "max_sectors": 16, "align": 4}),
    (["--public-key-format", "full", "--security-counter", "1"],
     {"public_key_format": "full", "security_counter": 1}),
]


@pytest.mark.parametrize("args,model", CASES, ids=[" ".join(c[0]) or "default" for c in CASES])
def test_byte_identical_to_imgtool_model(ota, keys, firmware, tmp_path, args, model):
    version = ["--version", "1.2.3+4"] if "--version" not in args else []
    ota("sign", "--key", keys / "a.pem", *version, *args, firmware, "o.img", check=0)
    img = (tmp_path / "o.img").read_bytes()
    payload = firmware.read_bytes()
    params = {"version": (1, 2, 3, 4)}
    params.update(model)
    # the signature is the one TLV imgtool cannot reproduce: take it from ota
    sig_type, sig = None, None
    trimmed = img
    if params.get("pad") or params.get("confirm"):
        # find the image end through the header and TLV info, before the padding
        hdr_size, prot, img_size = struct.unpack_from("<HHI", img, 8)
        off = hdr_size + img_size + prot
        trimmed = img[:off + struct.unpack_from("<HH", img, off)[1]]
    sig_type, sig = last_tlv(trimmed)
    assert sig_type == 0x22
    expect, digest = imgtool_ref.build(payload, spki=spki(keys / "a.pem"), signature=sig,
                                       **params)
    assert len(img) == len(expect)
    if img != expect:
        first = next(i for i in range(len(img)) if img[i] != expect[i])
        pytest.fail("differs from imgtool at offset %d" % first)
    # and an independent MCUboot-logic verifier accepts it, as does the model
    # of `imgtool verify`
    info = mcuboot_verify.verify(img, [pubkey(keys / "a.pub.pem")])
    assert info["digest"] == digest.hex()
    assert imgtool_ref.verify(img, pubkey(keys / "a.pub.pem")) == "OK"
    assert imgtool_ref.verify(img, pubkey(keys / "b.pub.pem")) == "INVALID_SIGNATURE"
    bad = bytearray(img)
    bad[40] ^= 1
    assert imgtool_ref.verify(bytes(bad), pubkey(keys / "a.pub.pem")) == "INVALID_HASH"
    # and ota itself, with both backends
    for backend in ("openssl", "mbedtls"):
        ota("verify", "--key", keys / "a.pub.pem", "--backend", backend, "o.img", check=0)


def test_mcuboot_logic_verifier_rejects_tampering(ota, keys, firmware, tmp_path):
    ota("sign", "--key", keys / "a.pem", "--version", "3.1.4", "--security-counter", "2",
        "--hw-id", "x1", firmware, "o.img", check=0)
    img = (tmp_path / "o.img").read_bytes()
    keys_a = [pubkey(keys / "a.pub.pem")]
    assert mcuboot_verify.verify(img, keys_a)["security_counter"] == 2
    with pytest.raises(mcuboot_verify.Invalid):
        mcuboot_verify.verify(img, [pubkey(keys / "b.pub.pem")])
    for off in (0, 5, 12, 20, 100, len(img) - 150, len(img) - 1):
        bad = bytearray(img)
        bad[off] ^= 0x40
        with pytest.raises(mcuboot_verify.Invalid):
            mcuboot_verify.verify(bytes(bad), keys_a)
        # and ota agrees: refused too
        (tmp_path / "bad.img").write_bytes(bad)
        assert ota("verify", "--key", keys / "a.pub.pem", "bad.img").returncode != 0


def test_mcuboot_verify_cli(keys, ota, firmware, tmp_path):
    import subprocess
    ota("sign", "--key", keys / "a.pem", "--version", "1", firmware, "o.img", check=0)
    script = os.path.join(HERE, "mcuboot_verify.py")
    p = subprocess.run(["/usr/bin/python3", script, "--key", keys / "a.pub.pem",
                        tmp_path / "o.img"], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    p = subprocess.run(["/usr/bin/python3", script, "--key", keys / "b.pub.pem",
                        tmp_path / "o.img"], capture_output=True, text=True)
    assert p.returncode == 1 and "INVALID" in p.stdout


def load_fixture(name):
    with open(os.path.join(HERE, "data", name)) as f:
        return bytes.fromhex("".join(f.read().split()))


@pytest.mark.parametrize("name,version,seccnt", [
    ("imgtool-rsa2048-4.4.6.hex", "4.4.6", None),
    ("imgtool-rsa2048-seccnt42-6.1.2.hex", "6.1.2", 42),
])
def test_real_imgtool_images(ota, keys, tmp_path, name, version, seccnt):
    fix = load_fixture(name)
    hdr_size, prot, img_size = struct.unpack_from("<HHI", fix, 8)
    assert hdr_size == 64 and img_size == 128
    signed = hdr_size + img_size + prot
    (tmp_path / "payload.bin").write_bytes(fix[hdr_size:hdr_size + img_size])
    args = ["--security-counter", str(seccnt)] if seccnt is not None else []
    ota("sign", "--key", keys / "a.pem", "--version", version, "--header-size", "64", *args,
        "payload.bin", "ota.img", check=0)
    mine = (tmp_path / "ota.img").read_bytes()
    # header, erased header padding, payload and protected TLVs: identical
    assert mine[:signed] == fix[:signed]
    # unprotected info magic, then the SHA256 TLV (header + value): identical
    assert mine[signed:signed + 2] == fix[signed:signed + 2]
    assert mine[signed + 4:signed + 40] == fix[signed + 4:signed + 40]
    assert fix[signed + 8:signed + 40] == hashlib.sha256(fix[:signed]).digest()
    # KEYHASH entry header identical (the value is the RSA key's hash)
    assert mine[signed + 40:signed + 44] == fix[signed + 40:signed + 44]
    # ota reads imgtool's image: structure ok, hash matches
    (tmp_path / "imgtool.img").write_bytes(fix)
    t = ota("inspect", "imgtool.img", check=0).stdout
    assert "(match)" in t and "RSA2048" in t and "version:          " + version + "+0" in t
    # ota only accepts ECDSA P-256: an RSA-signed image is refused, and says why
    p = ota("verify", "--key", keys / "a.pem", "imgtool.img", check=7)
    assert "ECDSA signature TLV (0x22)" in p.stderr


def _imgtool_style_key(tmp_path):
    """A key made and saved the way `imgtool keygen -t ecdsa-p256` does
    (python3-cryptography, PKCS#8 PEM, no encryption)."""
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "imgtool-key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    (tmp_path / "imgtool-pub.pem").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return key


@pytest.mark.parametrize("pkfmt", ["hash", "full"])
def test_imgtool_made_images_verify_with_ota(ota, tmp_path, pkfmt):
    """Images laid out as imgtool does, signed the way imgtool signs ECDSA
    P-256 (cryptography's key.sign(payload, ECDSA(SHA256())) over the signed
    region), verify with `ota verify` under both backends."""
    key = _imgtool_style_key(tmp_path)
    spki_der = mcuboot_verify.spki_der(key.public_key())
    payload = bytes(range(256)) * 40
    for i, opts in enumerate([{}, {"security_counter": 12, "header_size": 0x200},
                              {"custom_tlvs": [(0xA0, b"acme")], "slot_size": 0x4000,
                               "confirm": True}]):
        img, _ = imgtool_ref.build(payload, version=(2, 0, 1, 9), spki=spki_der,
                                   sign=lambda b: key.sign(b, ec.ECDSA(hashes.SHA256())),
                                   public_key_format=pkfmt, **opts)
        name = "imgtool-%d.img" % i
        (tmp_path / name).write_bytes(img)
        for backend in ("openssl", "mbedtls"):
            p = ota("verify", "--key", "imgtool-pub.pem", "--backend", backend, name, check=0)
            assert "version 2.0.1+9" in p.stdout
    # an imgtool image is not re-wrapped by mistake
    ota("sign", "--key", "imgtool-key.pem", "--version", "1", "imgtool-0.img", "x", check=2)
    # and ota signs with imgtool's key file
    (tmp_path / "raw.bin").write_bytes(payload)
    ota("sign", "--key", "imgtool-key.pem", "--version", "1", "raw.bin", "x.img", check=0)
    ota("verify", "--key", "imgtool-pub.pem", "x.img", check=0)


def test_imgtool_pad_sig_images_are_refused(ota, tmp_path):
    """imgtool --pad-sig (for MCUboot < 1.5) zero-pads the DER signature to 72
    bytes; ota requires strict DER and says so (exit 9)."""
    key = _imgtool_style_key(tmp_path)
    spki_der = mcuboot_verify.spki_der(key.public_key())

    def padded(b):
        while True:  # ECDSA is randomised: retry until DER is shorter than 72
            sig = key.sign(b, ec.ECDSA(hashes.SHA256()))
            if len(sig) < 72:
                return sig + bytes(72 - len(sig))
    img, _ = imgtool_ref.build(b"\x01" * 1000, spki=spki_der, sign=padded)
    assert len(last_tlv(img)[1]) == 72 and last_tlv(img)[1][-1] == 0
    (tmp_path / "padsig.img").write_bytes(img)
    p = ota("verify", "--key", "imgtool-pub.pem", "padsig.img", check=9)
    assert "signature malformed" in p.stderr and "not strict DER" in p.stderr
