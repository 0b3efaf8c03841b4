# SPDX-License-Identifier: Apache-2.0
"""
tests/tool/test_enc.py - encrypted images through the programs a user runs
(`ota keygen/sign --encrypt/inspect/verify --enc-key/delta create
--enc-key`, `ota-sim create --enc-key/install/boot`) and their
interoperability, byte for byte, with an independent model of MCUboot's
encryption (mcuboot_enc_ref.py, python3-cryptography, no code shared with
ota) in both directions:
  * `ota sign --encrypt` output opens with the model's key unwrap and
    decrypts to exactly the padded firmware; the decrypted image verifies
    with the independent MCUboot verifier (mcuboot_verify.py);
  * an image the model encrypts verifies in `ota verify --enc-key` and
    installs and boots on a simulated device;
  * a tampered key TLV, another device's key, no key: refused (exit 16),
    and the simulated device has nothing pending.
"""
import json
import os
import struct
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization

import mcuboot_enc_ref as ref
import mcuboot_verify
from conftest import ROOT

SIM = os.environ.get("OTA_SIM_BIN") or os.path.join(os.path.dirname(os.environ.get(
    "OTA_BIN", os.path.join(ROOT, "build/src/tool/ota"))), "..", "sim", "ota-sim")


def sim(*args, check=None):
    p = subprocess.run([SIM] + [str(a) for a in args], capture_output=True, text=True,
                       timeout=60)
    if check is not None:
        assert p.returncode == check, (args, p.returncode, p.stdout, p.stderr)
    return p


def private(path):
    return serialization.load_pem_private_key(open(path, "rb").read(), password=None)


@pytest.fixture(scope="module")
def devkeys(ota_bin, tmp_path_factory):
    d = tmp_path_factory.mktemp("enc")
    for name in ("dev", "other"):
        subprocess.run([ota_bin, "keygen", "-o", d / (name + ".pem"), "--pub",
                        d / (name + ".pub.pem")], check=True, capture_output=True)
    return d


@pytest.mark.parametrize("bits", [128, 256])
def test_ota_encrypts_model_decrypts(ota, keys, devkeys, firmware, tmp_path, bits):
    p = ota("sign", "--key", keys / "a.pem", "--version", "1.2.3", "--security-counter", "4",
            "--encrypt", devkeys / "dev.pub.pem", "--aes", bits, firmware, "enc.img", check=0)
    assert "encrypted (AES-%d)" % bits in p.stdout
    img = (tmp_path / "enc.img").read_bytes()
    fw = firmware.read_bytes()
    padded = fw + bytes(-len(fw) % 16)
    hdr_size, prot, img_size, flags = struct.unpack_from("<HHII", img, 8)
    assert flags == (0x04 if bits == 128 else 0x08)
    assert img_size == len(padded)
    # the body is ciphertext; the key TLV is last, after the signature (imgtool order)
    assert img[hdr_size:hdr_size + 64] != padded[:64]
    types = [t for t, _, _ in ref.tlvs(img)]
    assert types == [0x50, 0x10, 0x01, 0x22, 0x32]
    plain = ref.decrypt(img, private(devkeys / "dev.pem"))
    assert plain[hdr_size:hdr_size + img_size] == padded  # byte for byte
    assert plain[:hdr_size] == img[:hdr_size] and plain[hdr_size + img_size:] == img[hdr_size + img_size:]
    info = mcuboot_verify.verify(plain, [mcuboot_verify.load_public(keys / "a.pub.pem")])
    assert info["security_counter"] == 4 and info["flags"] == flags
    with pytest.raises(mcuboot_verify.Invalid):  # the ciphertext does not verify
        mcuboot_verify.verify(img, [mcuboot_verify.load_public(keys / "a.pub.pem")])
    with pytest.raises(ValueError):
        ref.decrypt(img, private(devkeys / "other.pem"))
    # ota itself: verify decrypts in memory; inspect shows the encryption
    p = ota("verify", "--key", keys / "a.pub.pem", "--enc-key", devkeys / "dev.pem", "enc.img",
            check=0)
    assert "decrypted (AES-%d)" % bits in p.stdout
    for backend in ("mbedtls", "openssl"):
        ota("verify", "--key", keys / "a.pub.pem", "--enc-key", devkeys / "dev.pem",
            "--backend", backend, "enc.img", check=0)
    j = json.loads(ota("inspect", "--json", "enc.img", check=0).stdout)
    assert j["encryption"]["cipher"] == "AES-%d-CTR" % bits
    assert j["sha256"]["covers"] == "plaintext" and j["structure"]["ok"]
    t = ota("inspect", "enc.img", check=0).stdout
    assert "encryption:       AES-%d-CTR" % bits in t and "ENCRYPTED_AES%d" % bits in t


def test_model_encrypts_ota_installs(ota, ota_bin, keys, devkeys, firmware, tmp_path):
    enc, plain = ref.sign_encrypted(firmware.read_bytes(), private(keys / "a.pem"),
                                    private(devkeys / "dev.pem").public_key(), aes_bits=256,
                                    version=(2, 0, 0, 0), security_counter=2)
    (tmp_path / "model.img").write_bytes(enc)
    ota("verify", "--key", keys / "a.pub.pem", "--enc-key", devkeys / "dev.pem", "model.img",
        check=0)
    # a simulated device with the decryption key installs it: the slot
    # holds exactly the model's plaintext image, and it boots
    flash = tmp_path / "dev.flash"
    sim("create", flash, "--key", keys / "a.pub.pem", "--enc-key", devkeys / "dev.pem",
        check=0)
    assert oct(os.stat(str(flash) + ".enc-key.pem").st_mode & 0o777) == "0o600"
    sim("install", flash, tmp_path / "model.img", check=0)
    st = json.loads(sim("status", flash, "--json", check=0).stdout)
    assert st["state"]["pending"] == "A"
    raw = flash.read_bytes()
    assert plain in raw and enc[32:32 + 256] not in raw  # plaintext in the slot, no ciphertext
    b = json.loads(sim("boot", flash, "--json", check=0).stdout)
    assert b["running"] == "A"


def test_refusals(ota, keys, devkeys, firmware, tmp_path):
    ota("sign", "--key", keys / "a.pem", "--version", "1", "--encrypt", devkeys / "dev.pub.pem",
        firmware, "enc.img", check=0)
    img = bytearray((tmp_path / "enc.img").read_bytes())
    # no key, another device's key: exit 16
    p = ota("verify", "--key", keys / "a.pub.pem", "enc.img", check=16)
    assert "--enc-key" in p.stderr
    p = ota("verify", "--key", keys / "a.pub.pem", "--enc-key", devkeys / "other.pem",
            "enc.img", check=16)
    assert "OTA_ERR_IMAGE_ENC_KEY" in p.stderr
    ota("verify", "--key", keys / "a.pub.pem", "--enc-key", devkeys / "dev.pub.pem", "enc.img",
        check=4)  # a public key cannot decrypt
    # tampered key TLV (the encrypted AES key)
    enc_off = [o for t, o, _ in ref.tlvs(bytes(img)) if t == 0x32][0]
    img[enc_off + 100] ^= 1
    (tmp_path / "tampered.img").write_bytes(bytes(img))
    ota("verify", "--key", keys / "a.pub.pem", "--enc-key", devkeys / "dev.pem", "tampered.img",
        check=16)
    # the simulated device refuses all of them; nothing is pending afterwards
    for name, keyopt in (("tampered.img", ["--enc-key", devkeys / "dev.pem"]),
                         ("enc.img", ["--enc-key", devkeys / "other.pem"]),
                         ("enc.img", [])):
        flash = tmp_path / ("d-%s-%d.flash" % (name, len(keyopt)))
        sim("create", flash, "--key", keys / "a.pub.pem", *keyopt, check=0)
        p = sim("install", flash, tmp_path / name, check=1)
        assert "OTA_ERR_IMAGE_ENC" in p.stderr
        st = json.loads(sim("status", flash, "--json", check=0).stdout)
        assert st["state"]["pending"] is None
    # a clear device re-created over an encrypted one loses the key
    flash = tmp_path / "re.flash"
    sim("create", flash, "--key", keys / "a.pub.pem", "--enc-key", devkeys / "dev.pem", check=0)
    sim("create", flash, "--key", keys / "a.pub.pem", "--force", check=0)
    assert not os.path.exists(str(flash) + ".enc-key.pem")
    # usage
    ota("sign", "--key", keys / "a.pem", "--version", "1", "--aes", "256", firmware, "x.img",
        check=2)
    ota("sign", "--key", keys / "a.pem", "--version", "1", "--encrypt", devkeys / "dev.pub.pem",
        "--aes", "192", firmware, "x.img", check=2)


def test_delta_between_encrypted_releases(ota, keys, devkeys, firmware, tmp_path):
    fw = firmware.read_bytes()
    (tmp_path / "fw2.bin").write_bytes(fw[:5000] + b"new code" + fw[5000:])
    for v, src in (("1", firmware), ("2", tmp_path / "fw2.bin")):
        ota("sign", "--key", keys / "a.pem", "--version", v, "--encrypt",
            devkeys / "dev.pub.pem", src, "v%s.img" % v, check=0)
    p = ota("delta", "create", "v1.img", "v2.img", "-o", "p.patch", "--enc-key",
            devkeys / "dev.pem", check=0)
    assert "sealed for the device key" in p.stdout
    patch = (tmp_path / "p.patch").read_bytes()
    assert patch[:4] == b"OTAE" and patch[5] == 16
    assert len(patch) < 2000  # a diff of plaintexts, not of ciphertexts
    # without the private key there is nothing to diff
    ota("delta", "create", "v1.img", "v2.img", "-o", "q.patch", "--enc-key",
        devkeys / "dev.pub.pem", check=4)
    ota("delta", "create", "v1.img", "v2.img", "-o", "q.patch", "--enc-key",
        devkeys / "other.pem", check=16)
