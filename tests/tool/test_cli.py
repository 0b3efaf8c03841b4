# SPDX-License-Identifier: Apache-2.0
"""
tests/tool/test_cli.py - drives the real `ota` binary the way users do and
checks exit codes, outputs and error messages: help and version, keygen,
pubkey formats (cross-checked with the openssl CLI and a C compiler), sign
options, verify (good, tampered, truncated, wrong key, policy, missing file),
inspect (text, JSON, damaged and padded images), hardware ids (the rule of
docs/api.md, both ids shown on a mismatch), --version from the project's
version, and that the exit-code table printed by `ota --help` is the one
documented in docs/exit-codes.md.
"""
import hashlib
import json
import os
import re
import shutil
import stat
import struct
import subprocess

import pytest

from conftest import ROOT

COMMANDS = ["keygen", "pubkey", "sign", "verify", "inspect"]


def sign(ota, keys, fw, out, *extra, key="a.pem"):
    return ota("sign", "--key", keys / key, "--version", "1.2.3+4", *extra, fw, out, check=0)


# ---------------------------------------------------------------- help, version

def test_help_and_version(ota):
    p = ota("--help", check=0)
    assert "Usage: ota <command>" in p.stdout
    for c in COMMANDS:
        assert c in p.stdout
    assert "Exit codes:" in p.stdout
    assert re.match(r"ota \d+\.\d+\.\d+\n", ota("--version", check=0).stdout)
    for c in COMMANDS:
        h = ota(c, "--help", check=0)
        assert h.stdout.startswith("Usage: ota " + c), c
        assert ota("help", c, check=0).stdout == h.stdout
    assert ota(check=2).stderr.startswith("Usage")
    p = ota("frobnicate", check=2)
    assert "unknown command 'frobnicate'" in p.stderr


def exit_code_rows(helptext):
    """{code: meaning} from the "Exit codes:" block of a --help text."""
    block = helptext[helptext.index("Exit codes:"):]
    block = block[:block.index("\n\n")] if "\n\n" in block else block
    return {int(m.group(1)): m.group(2).strip()
            for m in re.finditer(r"^\s+(\d+)\s+(.*)$", block, re.M)}


def documented_exit_codes():
    """{code: (meaning, programs)} from docs/exit-codes.md."""
    doc = open(os.path.join(ROOT, "docs", "exit-codes.md")).read()
    return {int(m.group(1)): (m.group(2).strip(), m.group(3).strip())
            for m in re.finditer(r"^\|\s*(\d+)\s*\|\s*`OTA_EXIT_\w+`\s*\|([^|]*)\|([^|]*)\|",
                                 doc, re.M)}


def test_exit_codes_documented(ota):
    rows = exit_code_rows(ota("--help", check=0).stdout)
    assert set(rows) == set(range(0, 15)) | {16}
    documented = documented_exit_codes()
    for code, meaning in rows.items():
        doc_meaning, programs = documented[code]
        assert doc_meaning.startswith(meaning), (code, meaning, doc_meaning)
        assert programs == "all" or "ota," in programs + ",", (code, programs)
    # the tool's page links to the one table instead of repeating it
    assert "exit-codes.md" in open(os.path.join(ROOT, "docs", "tool.md")).read()


def test_version_is_the_project_version(ota):
    cmake = open(os.path.join(ROOT, "CMakeLists.txt")).read()
    version = re.search(r"project\(\s*ota\s+VERSION\s+([\d.]+)", cmake).group(1)
    assert ota("--version", check=0).stdout == "ota %s\n" % version
    assert ota("-V", check=0).stdout == "ota %s\n" % version


@pytest.mark.parametrize("cmd", COMMANDS)
def test_unknown_option_is_usage_error(ota, cmd):
    p = ota(cmd, "--no-such-option", check=2)
    assert "unknown option --no-such-option" in p.stderr


# ---------------------------------------------------------------- keygen

def test_keygen_modes_and_overwrite(ota, tmp_path):
    p = ota("keygen", "-o", "k.pem", "--pub", "k.pub", check=0)
    assert "wrote k.pem" in p.stderr
    assert re.search(r"key hash [0-9a-f]{64}\)", p.stderr)
    assert stat.S_IMODE(os.stat(tmp_path / "k.pem").st_mode) == 0o600
    assert (tmp_path / "k.pem").read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert (tmp_path / "k.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    before = (tmp_path / "k.pem").read_bytes()
    p = ota("keygen", "-o", "k.pem", check=3)
    assert "k.pem already exists" in p.stderr
    assert (tmp_path / "k.pem").read_bytes() == before
    ota("keygen", "-o", "k.pem", "--force", check=0)
    assert (tmp_path / "k.pem").read_bytes() != before
    assert "missing -o" in ota("keygen", check=2).stderr
    # openssl reads it as a P-256 key
    out = subprocess.run(["openssl", "pkey", "-in", tmp_path / "k.pem", "-noout", "-text"],
                         capture_output=True, text=True, check=True).stdout
    assert "prime256v1" in out


# ---------------------------------------------------------------- pubkey

def _openssl_spki(path):
    return subprocess.run(["openssl", "pkey", "-in", path, "-pubout", "-outform", "DER"],
                          capture_output=True, check=True).stdout


def test_pubkey_formats(ota, keys, tmp_path):
    spki = _openssl_spki(keys / "a.pem")
    assert len(spki) == 91
    pem = ota("pubkey", keys / "a.pem", check=0).stdout
    assert pem == (keys / "a.pub.pem").read_text()
    assert ota("pubkey", keys / "a.pub.pem", "--format", "pem", check=0).stdout == pem
    assert ota("pubkey", keys / "a.pem", "--format", "hash", check=0).stdout.strip() == \
        hashlib.sha256(spki).hexdigest()
    ota("pubkey", keys / "a.pem", "--format", "der", "-o", "k.der", check=0)
    assert (tmp_path / "k.der").read_bytes() == spki
    c = ota("pubkey", keys / "a.pem", "--format", "c", check=0).stdout
    # imgtool getpub layout: 8 bytes a line, names ecdsa_pub_key / _len
    assert "const unsigned char ecdsa_pub_key[] = {\n    0x30, 0x59, 0x30, 0x13," in c
    assert c.rstrip().endswith("const unsigned int ecdsa_pub_key_len = 91;")
    body = [l for l in c.splitlines() if l.startswith("    0x")]
    assert len(body) == 12 and all(len(l.split()) == 8 for l in body[:-1])
    ch = ota("pubkey", keys / "a.pem", "--format", "c-hash", check=0).stdout
    assert "ecdsa_pub_key_hash_len = 32;" in ch
    assert ota("pubkey", keys / "a.pem", "--format", "xml", check=2).stderr
    p = ota("pubkey", "nope.pem", check=3)
    assert "nope.pem" in p.stderr and "No such file" in p.stderr


def test_pubkey_c_array_compiles_to_the_spki(ota, keys, tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        pytest.fail("no C compiler (scripts/setup.sh installs build-essential)")
    spki = _openssl_spki(keys / "a.pem")
    ota("pubkey", keys / "a.pem", "--format", "c", "-o", "key.c", check=0)
    (tmp_path / "main.c").write_text(
        '#include <stdio.h>\nextern const unsigned char ecdsa_pub_key[];\n'
        'extern const unsigned int ecdsa_pub_key_len;\n'
        'int main(void){for(unsigned i=0;i<ecdsa_pub_key_len;i++)printf("%02x",ecdsa_pub_key[i]);'
        'return 0;}\n')
    subprocess.run([cc, "-o", tmp_path / "k", tmp_path / "main.c", tmp_path / "key.c"],
                   check=True)
    out = subprocess.run([tmp_path / "k"], capture_output=True, text=True, check=True).stdout
    assert bytes.fromhex(out) == spki


# ---------------------------------------------------------------- sign + verify

def test_sign_verify_roundtrip_both_backends(ota, keys, firmware):
    p = sign(ota, keys, firmware, "fw.img", "--security-counter", "3", "--hw-id", "gw-2")
    assert "fw.img: signed" in p.stdout and "1.2.3+4" in p.stdout
    for backend in ("openssl", "mbedtls"):
        v = ota("verify", "--key", keys / "a.pub.pem", "--backend", backend, "--hw-id", "gw-2",
                "--min-security-counter", "3", "fw.img", check=0)
        assert "fw.img: OK: version 1.2.3+4, security counter 3, hw id gw-2" in v.stdout
        assert backend + " backend" in v.stdout
    # the private key works as a trusted key too, and several keys may be given
    ota("verify", "--key", keys / "b.pub.pem", "--key", keys / "a.pem", "fw.img", check=0)
    assert ota("verify", "-q", "--key", keys / "a.pem", "fw.img", check=0).stdout == ""


def test_verify_refusals(ota, keys, firmware, tmp_path):
    sign(ota, keys, firmware, "fw.img", "--security-counter", "3", "--hw-id", "gw-2")
    good = (tmp_path / "fw.img").read_bytes()
    pub = keys / "a.pub.pem"

    def variant(name, data):
        (tmp_path / name).write_bytes(data)
        return name

    # payload byte flipped: hash mismatch, names file and field
    bad = bytearray(good)
    bad[5000] ^= 1
    p = ota("verify", "--key", pub, variant("payload.img", bad), check=8)
    assert "payload.img: image hash mismatch (OTA_ERR_IMAGE_HASH_MISMATCH)" in p.stderr
    # header magic: names the field, offset, expected and found
    bad = bytearray(good)
    bad[0] = 0
    p = ota("verify", "--key", pub, variant("magic.img", bad), check=5)
    assert "ih_magic at offset 0" in p.stderr
    assert "expected 2532554813 (0x96f3b83d), found 2532554752 (0x96f3b800)" in p.stderr
    # truncated: every region boundary refuses with 6
    hdr_size, prot, img_size = struct.unpack_from("<HHI", good, 8)
    for cut in (0, 16, 32, 32 + img_size, 32 + img_size + prot, len(good) - 1):
        p = ota("verify", "--key", pub, variant("cut%d.img" % cut, good[:cut]), check=6)
        assert "image truncated" in p.stderr
    # signed by another key
    p = ota("verify", "--key", keys / "b.pub.pem", "fw.img", check=10)
    assert "unknown key" in p.stderr
    assert hashlib.sha256(_openssl_spki(keys / "a.pem")).hexdigest() in p.stderr
    # policy
    p = ota("verify", "--key", pub, "--hw-id", "gw-3", "fw.img", check=11)
    assert "hardware id" in p.stderr
    p = ota("verify", "--key", pub, "--min-security-counter", "4", "fw.img", check=12)
    assert "expected 4 (0x4), found 3 (0x3)" in p.stderr
    ota("verify", "--key", pub, "--slot-size", str(len(good) - 1), "fw.img", check=13)
    ota("verify", "--key", pub, "--slot-size", str(len(good)), "fw.img", check=0)
    # signature byte (last byte of s): invalid signature
    bad = bytearray(good)
    bad[-1] ^= 1
    ota("verify", "--key", pub, variant("sig.img", bad), check=9)
    # JSON verdicts, same exit codes
    j = json.loads(ota("verify", "--json", "--key", pub, "payload.img", check=8).stdout)
    assert j["valid"] is False and j["exit_code"] == 8
    assert j["error"] == "OTA_ERR_IMAGE_HASH_MISMATCH" and j["file"] == "payload.img"
    j = json.loads(ota("verify", "--json", "--key", pub, "magic.img", check=5).stdout)
    assert (j["field"], j["offset"], j["expected"], j["found"]) == \
        ("ih_magic", 0, 0x96F3B83D, 0x96F3B800)
    j = json.loads(ota("verify", "--json", "--key", keys / "b.pub.pem", "--key", pub,
                       "--backend", "mbedtls", "fw.img", check=0).stdout)
    assert j["valid"] is True and j["key"] == str(pub) and j["backend"] == "mbedtls"
    assert j["security_counter"] == 3 and j["hw_id"] == "gw-2" and j["version"] == "1.2.3+4"
    assert j["sha256"] == hashlib.sha256(good[:32 + 20000 + prot]).hexdigest()
    assert j["image_size"] == len(good)
    # missing files
    p = ota("verify", "--key", pub, "nope.img", check=3)
    assert "nope.img: cannot open: No such file or directory" in p.stderr
    p = ota("verify", "--key", "nokey.pem", "fw.img", check=3)
    assert "nokey.pem" in p.stderr
    # usage
    assert "missing --key" in ota("verify", "fw.img", check=2).stderr
    ota("verify", "--key", pub, "--backend", "gnutls", "fw.img", check=2)
    # not a key
    p = ota("verify", "--key", firmware, "fw.img", check=4)
    assert "fw.bin" in p.stderr


def test_verify_fails_on_garbage_without_crashing(ota, keys, tmp_path):
    import random
    rnd = random.Random(7)
    for i in range(20):
        data = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 400)))
        if i % 2:
            data = struct.pack("<I", 0x96F3B83D) + data
        (tmp_path / "g.img").write_bytes(data)
        p = ota("verify", "--key", keys / "a.pub.pem", "g.img")
        assert p.returncode in (5, 6, 7, 14), (p.returncode, p.stderr)
        p = ota("inspect", "g.img")
        assert p.returncode in (0, 5, 6, 14), (p.returncode, p.stderr)
        assert "Sanitizer" not in p.stderr


def test_sign_stdin_stdout(ota_bin, keys, firmware, tmp_path):
    data = firmware.read_bytes()
    p = subprocess.run([ota_bin, "sign", "--key", keys / "a.pem", "--version", "5", "-", "-"],
                       input=data, capture_output=True, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    (tmp_path / "piped.img").write_bytes(p.stdout)
    assert p.stdout[32:32 + len(data)] == data
    subprocess.run([ota_bin, "verify", "--key", keys / "a.pub.pem", "piped.img"], check=True,
                   cwd=tmp_path, capture_output=True)


# ---------------------------------------------------------------- hardware ids

# docs/api.md "Ids": 1..32 printable ASCII characters other than space, '"'
# and '\', or 0x followed by 2..64 lowercase hex digits.
FORBIDDEN_HW_IDS = ["a b", 'a"b', "a\\b", "x" * 33, "", "tab\there", "caf\u00e9",
                    "0xABCD", "0x012", "0x", "0xzz", "0x" + "00" * 33]


@pytest.mark.parametrize("bad", FORBIDDEN_HW_IDS)
def test_hw_id_forbidden_by_the_docs_is_refused(ota, keys, firmware, tmp_path, bad):
    p = ota("sign", "--key", keys / "a.pem", "--version", "1", "--hw-id", bad, firmware,
            "out.img", check=2)
    assert "--hw-id" in p.stderr and "printable ASCII" in p.stderr
    assert not (tmp_path / "out.img").exists()
    sign(ota, keys, firmware, "fw.img")
    p = ota("verify", "--key", keys / "a.pub.pem", "--hw-id", bad, "fw.img", check=2)
    assert "--hw-id" in p.stderr and "printable ASCII" in p.stderr


@pytest.mark.parametrize("good", ["a", "x" * 32, "gw-2:rev.B_7", "0x00", "0x" + "ab" * 32])
def test_hw_id_allowed_by_the_docs_round_trips(ota, keys, firmware, good):
    sign(ota, keys, firmware, "fw.img", "--hw-id", good)
    ota("verify", "--key", keys / "a.pub.pem", "--hw-id", good, "fw.img", check=0)
    assert json.loads(ota("inspect", "--json", "fw.img", check=0).stdout)["hw_id"] == good


def test_hw_id_mismatch_names_both_ids(ota, keys, firmware):
    pub = keys / "a.pub.pem"
    sign(ota, keys, firmware, "text.img", "--hw-id", "gw-2")
    p = ota("verify", "--key", pub, "--hw-id", "gw-3", "text.img", check=11)
    assert ("text.img: image hardware id mismatch (OTA_ERR_IMAGE_HW_MISMATCH): the image is "
            "for hardware id gw-2; --hw-id asked for gw-3") in p.stderr
    # the same length: lengths alone would not tell them apart
    sign(ota, keys, firmware, "bin.img", "--hw-id", "0x0102ff")
    p = ota("verify", "--key", pub, "--hw-id", "0x0102fe", "bin.img", check=11)
    assert "hardware id 0x0102ff; --hw-id asked for 0x0102fe" in p.stderr
    sign(ota, keys, firmware, "none.img")
    p = ota("verify", "--key", pub, "--hw-id", "gw-3", "none.img", check=11)
    assert "carries no hardware id" in p.stderr and "gw-3" in p.stderr
    j = json.loads(ota("verify", "--json", "--key", pub, "--hw-id", "gw-3", "text.img",
                       check=11).stdout)
    assert j["hw_id"] == "gw-2" and j["expected_hw_id"] == "gw-3"
    assert j["error"] == "OTA_ERR_IMAGE_HW_MISMATCH"


def test_sign_errors(ota, keys, firmware, tmp_path):
    p = ota("sign", "--key", keys / "a.pem", "--version", "1.2.3.4", firmware, "o", check=2)
    assert "--version" in p.stderr
    ota("sign", "--key", keys / "a.pem", "--version", "256.0.0", firmware, "o", check=2)
    p = ota("sign", "--key", keys / "a.pub.pem", "--version", "1", firmware, "o", check=4)
    assert "public key" in p.stderr
    p = ota("sign", "--key", keys / "a.pem", "--version", "1", "missing.bin", "o", check=3)
    assert "missing.bin: cannot read input: No such file or directory" in p.stderr
    p = ota("sign", "--version", "1", firmware, "o", check=2)
    assert "missing --key" in p.stderr
    ota("sign", "--key", keys / "a.pem", firmware, "o", check=2)
    ota("sign", "--key", keys / "a.pem", "--version", "1", firmware, check=2)
    ota("sign", "--key", keys / "a.pem", "--version", "1", "--pad", firmware, "o", check=2)
    ota("sign", "--key", keys / "a.pem", "--version", "1", "--hw-id", "x" * 33, firmware, "o",
        check=2)
    ota("sign", "--key", keys / "a.pem", "--version", "1", "--header-size", "16", firmware, "o",
        check=2)
    ota("sign", "--key", keys / "a.pem", "--version", "1", "--align", "3", firmware, "o", check=2)
    p = ota("sign", "--key", keys / "a.pem", "--version", "1", "--slot-size", "20000", "--pad",
            firmware, "o", check=13)
    assert "exceeds the slot size" in p.stderr
    assert not (tmp_path / "o").exists()
    # re-signing a signed image is refused
    sign(ota, keys, firmware, "fw.img")
    p = ota("sign", "--key", keys / "a.pem", "--version", "1", "fw.img", "fw2.img", check=2)
    assert "already a signed image" in p.stderr
    ota("sign", "--key", keys / "a.pem", "--version", "1", firmware, firmware, check=2)


def test_foreign_key_files(ota, firmware, tmp_path):
    """Keys made by openssl in every common encoding sign; other keys are refused."""
    def openssl(*a):
        subprocess.run(["openssl"] + list(a), check=True, capture_output=True, cwd=tmp_path)
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "sec1.pem")
    openssl("pkey", "-in", "sec1.pem", "-outform", "DER", "-out", "key.der")
    openssl("pkey", "-in", "sec1.pem", "-pubout", "-out", "pub.pem")
    openssl("pkey", "-in", "sec1.pem", "-pubout", "-outform", "DER", "-out", "pub.der")
    assert (tmp_path / "sec1.pem").read_text().startswith("-----BEGIN EC PRIVATE KEY-----")
    for k in ("sec1.pem", "key.der"):
        ota("sign", "--key", k, "--version", "2", firmware, k + ".img", check=0)
        for pub in ("pub.pem", "pub.der", k):
            ota("verify", "--key", pub, k + ".img", check=0)
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", "rsa.pem")
    p = ota("sign", "--key", "rsa.pem", "--version", "1", firmware, "o", check=4)
    assert "rsa.pem: key is RSA, expected ECDSA P-256" in p.stderr
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", "p384.pem")
    ota("sign", "--key", "p384.pem", "--version", "1", firmware, "o", check=4)
    openssl("pkey", "-in", "sec1.pem", "-aes128", "-passout", "pass:x", "-out", "enc.pem")
    p = ota("sign", "--key", "enc.pem", "--version", "1", firmware, "o", check=4)
    assert "encrypted" in p.stderr


# ---------------------------------------------------------------- inspect

def test_inspect_text_and_json(ota, keys, firmware, tmp_path):
    sign(ota, keys, firmware, "fw.img", "--security-counter", "auto", "--hw-id", "0x0102ff",
         "--header-size", "0x200", "--load-addr", "0x20001000")
    t = ota("inspect", "fw.img", check=0).stdout
    assert "version:          1.2.3+4" in t
    assert "header size:      512" in t
    assert "RAM_LOAD" in t
    assert "security counter: 16908291" in t  # (1 << 24) + (2 << 16) + 3
    assert "hardware id:      0x0102ff" in t
    assert "(match)" in t and "structure:        ok" in t
    j = json.loads(ota("inspect", "--json", "fw.img", check=0).stdout)
    assert j["header"]["hdr_size"] == 512
    assert j["header"]["load_addr"] == 0x20001000
    assert j["header"]["version"] == "1.2.3+4"
    assert j["security_counter"] == 0x01020003
    assert j["hw_id"] == "0x0102ff"
    assert [t["name"] for t in j["tlvs"]["tlvs"]] == ["SHA256", "KEYHASH", "ECDSA256"]
    assert [t["type"] for t in j["protected_tlvs"]["tlvs"]] == [0x50, 0xA0]
    assert j["sha256"]["match"] is True
    assert j["key_hash"] == hashlib.sha256(_openssl_spki(keys / "a.pem")).hexdigest()
    assert j["sizes"]["payload"] == 20000
    assert j["sizes"]["image"] == j["file_size"]
    assert j["structure"]["ok"] is True
    assert "trailer" not in j


def test_inspect_padded_and_damaged(ota, keys, firmware, tmp_path):
    sign(ota, keys, firmware, "pad.img", "--slot-size", "64K", "--pad")
    sign(ota, keys, firmware, "conf.img", "--slot-size", "65536", "--confirm")
    assert os.path.getsize(tmp_path / "pad.img") == 65536
    j = json.loads(ota("inspect", "--json", "pad.img", check=0).stdout)
    assert j["trailer"]["magic"] == "good" and j["trailer"]["image_ok"] == "unset"
    j = json.loads(ota("inspect", "--json", "conf.img", check=0).stdout)
    assert j["trailer"]["image_ok"] == "set"
    assert "image_ok set" in ota("inspect", "conf.img", check=0).stdout
    ota("verify", "--key", keys / "a.pem", "conf.img", "--slot-size", "65536", check=0)
    # altered payload: inspect still describes it, says MISMATCH, exits 0
    data = bytearray((tmp_path / "pad.img").read_bytes())
    data[100] ^= 0xFF
    (tmp_path / "bad.img").write_bytes(data)
    t = ota("inspect", "bad.img", check=0).stdout
    assert "MISMATCH" in t
    # broken TLV length: structural error, its exit code, and the field named
    sign(ota, keys, firmware, "fw.img")
    data = bytearray((tmp_path / "fw.img").read_bytes())
    off = 32 + 20000 + 4  # first unprotected TLV (SHA256)
    struct.pack_into("<H", data, off + 2, 0xFFFF)
    (tmp_path / "tlv.img").write_bytes(data)
    p = ota("inspect", "tlv.img", check=5)
    assert "TLV area malformed" in p.stderr and "offset %d" % (off + 2) in p.stderr
    p = ota("inspect", "--json", "tlv.img", check=5)
    j = json.loads(p.stdout)
    assert j["structure"]["error"] == "OTA_ERR_IMAGE_TLV_MALFORMED"
    assert j["structure"]["offset"] == off + 2
    p = ota("inspect", firmware, check=5)
    assert "NOT an ota/MCUboot image" in p.stdout
    (tmp_path / "short.img").write_bytes(b"\x3d\xb8\xf3\x96")
    ota("inspect", "short.img", check=6)
    ota("inspect", "none.img", check=3)
