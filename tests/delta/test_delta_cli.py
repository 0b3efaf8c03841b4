# SPDX-License-Identifier: Apache-2.0
"""
tests/delta/test_delta_cli.py - `ota delta create|apply|info` driven through
the real binary, the way a release engineer uses it: round trips (with both
crypto backends and tiny feeding chunks), the documented exit codes for a
wrong base, a corrupt, truncated or foreign patch, and that a refused apply
leaves no output file behind.
"""
import os
import random
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.environ.get("OTA_CORPUS_DIR", os.path.join(ROOT, "..", "shared", "corpus", "firmware"))


def ota_bin():
    env = os.environ.get("OTA_BIN")
    if env:
        return env
    for cand in ("build/src/tool/ota", "build-delta/src/tool/ota"):
        p = os.path.join(ROOT, cand)
        if os.path.exists(p):
            return p
    pytest.fail("ota binary not found: set OTA_BIN")


def run(*args):
    return subprocess.run([ota_bin()] + [str(a) for a in args], capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def images(tmp_path):
    rnd = random.Random(7)
    old = bytearray(rnd.getrandbits(8) for _ in range(40000))
    new = bytearray(old[:15000]) + b"new code here" * 20 + old[15500:]
    for i in range(0, len(new), 997):
        new[i] ^= 0x21
    po, pn = tmp_path / "old.bin", tmp_path / "new.bin"
    po.write_bytes(bytes(old))
    pn.write_bytes(bytes(new))
    return po, pn


def test_create_apply_roundtrip(images, tmp_path):
    po, pn = images
    patch = tmp_path / "p.otad"
    r = run("delta", "create", po, pn, "-o", patch, "-v")
    assert r.returncode == 0, r.stderr
    assert "bytes" in r.stdout and "commands" in r.stdout
    assert patch.stat().st_size < pn.stat().st_size // 4
    for backend, chunk in (("openssl", "4096"), ("mbedtls", "1"), ("mbedtls", "333")):
        out = tmp_path / f"out-{backend}-{chunk}.bin"
        r = run("delta", "apply", po, patch, "-o", out, "--backend", backend, "--chunk", chunk)
        assert r.returncode == 0, r.stderr
        assert out.read_bytes() == pn.read_bytes()


def test_info(images, tmp_path):
    po, pn = images
    patch = tmp_path / "p.otad"
    assert run("delta", "create", po, pn, "-o", patch).returncode == 0
    r = run("delta", "info", patch)
    assert r.returncode == 0, r.stderr
    assert f"old size    {po.stat().st_size}" in r.stdout
    assert f"new size    {pn.stat().st_size}" in r.stdout
    import hashlib
    assert hashlib.sha256(po.read_bytes()).hexdigest() in r.stdout
    assert hashlib.sha256(pn.read_bytes()).hexdigest() in r.stdout


def test_wrong_base_refused(images, tmp_path):
    po, pn = images
    patch = tmp_path / "p.otad"
    assert run("delta", "create", po, pn, "-o", patch).returncode == 0
    other = tmp_path / "other.bin"
    data = bytearray(po.read_bytes())
    data[123] ^= 1
    other.write_bytes(bytes(data))
    out = tmp_path / "out.bin"
    r = run("delta", "apply", other, patch, "-o", out)
    assert r.returncode == 8
    assert "OTA_ERR_DELTA_BASE_MISMATCH" in r.stderr
    assert "not the image this patch was made from" in r.stderr
    assert not out.exists()


@pytest.mark.parametrize("kind,code,name", [
    ("truncate", 6, "OTA_ERR_DELTA_TRUNCATED"),
    ("magic", 5, "OTA_ERR_DELTA_BAD_MAGIC"),
    ("version", 5, "OTA_ERR_DELTA_VERSION"),
    ("trailing", 5, "OTA_ERR_DELTA_CORRUPT"),
    ("result", 8, "OTA_ERR_DELTA_RESULT_MISMATCH"),
])
def test_bad_patch_refused(images, tmp_path, kind, code, name):
    po, pn = images
    patch = tmp_path / "p.otad"
    assert run("delta", "create", po, pn, "-o", patch).returncode == 0
    p = bytearray(patch.read_bytes())
    if kind == "truncate":
        p = p[:len(p) - 10]
    elif kind == "magic":
        p[0] = ord("X")
    elif kind == "version":
        p[4] = 9
    elif kind == "trailing":
        p += b"\0"
    elif kind == "result":
        p[60] ^= 0xFF
    patch.write_bytes(bytes(p))
    out = tmp_path / "out.bin"
    r = run("delta", "apply", po, patch, "-o", out)
    assert r.returncode == code, (r.stdout, r.stderr)
    assert name in r.stderr
    assert not out.exists()


def test_usage_errors(images, tmp_path):
    po, pn = images
    assert run("delta").returncode == 2
    assert run("delta", "create", po, pn).returncode == 2          # no -o
    assert run("delta", "frobnicate").returncode == 2
    assert run("delta", "apply", po, tmp_path / "missing", "-o", tmp_path / "x").returncode == 3
    r = run("delta", "--help")
    assert r.returncode == 0 and "ota delta create" in r.stdout


def test_corpus_pair(tmp_path):
    po = os.path.join(CORPUS, "pybricks-cityhub-7.27.0.bin")
    pn = os.path.join(CORPUS, "pybricks-cityhub-7.28.0.bin")
    if not (os.path.exists(po) and os.path.exists(pn)):
        pytest.skip("pybricks corpus not present (../shared/corpus/firmware)")
    patch, out = tmp_path / "p.otad", tmp_path / "out.bin"
    r = run("delta", "create", po, pn, "-o", patch)
    assert r.returncode == 0, r.stderr
    r = run("delta", "apply", po, patch, "-o", out, "--backend", "mbedtls", "--chunk", "512")
    assert r.returncode == 0, r.stderr
    with open(pn, "rb") as f:
        assert out.read_bytes() == f.read()


def _tar_of_gzips(files):
    """An uncompressed tar of gzip'd files (Python's gzip is zlib), like a
    package's data or a root filesystem of man pages."""
    import gzip
    import io
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data, level in files:
            z = gzip.compress(data, compresslevel=level, mtime=0)
            info = tarfile.TarInfo(name + ".gz")
            info.size = len(z)
            info.mtime = 0
            t.addfile(info, io.BytesIO(z))
    return buf.getvalue()


def test_deflate_mode(tmp_path):
    """--deflate: a version 2 patch between the decompressed members, much
    smaller than version 1, applied byte for byte; without --deflate the
    patch stays version 1."""
    rnd = random.Random(11)
    words = [bytes(rnd.choice(b"abcdefghijklmnop") for _ in range(rnd.randint(2, 8)))
             for _ in range(300)]
    texts = [b" ".join(rnd.choice(words) for _ in range(6000)) for _ in range(5)]
    old_files = [(f"usr/share/man/man1/t{i}.1", t, (1, 6, 9)[i % 3]) for i, t in enumerate(texts)]
    new_files = [(n, t.replace(b"abc", b"ABC", 3) + b"\n.SH NEW\n", lv) for n, t, lv in old_files]
    po, pn = tmp_path / "old.tar", tmp_path / "new.tar"
    po.write_bytes(_tar_of_gzips(old_files))
    pn.write_bytes(_tar_of_gzips(new_files))
    p1, p2 = tmp_path / "p1.otad", tmp_path / "p2.otad"
    r = run("delta", "create", po, pn, "-o", p1)
    assert r.returncode == 0, r.stderr
    r = run("delta", "create", po, pn, "-o", p2, "--deflate", "-v")
    assert r.returncode == 0, r.stderr
    assert "re-compressed: old 5, new 5; not reproducible 0" in r.stdout
    assert p2.stat().st_size * 5 < p1.stat().st_size
    r = run("delta", "info", p2)
    assert r.returncode == 0, r.stderr
    assert "version 2" in r.stdout and "5 old, 5 new streams" in r.stdout
    assert "version 1" in run("delta", "info", p1).stdout
    for backend, chunk in (("openssl", "4096"), ("mbedtls", "7")):
        out = tmp_path / f"out-{backend}.tar"
        r = run("delta", "apply", po, p2, "-o", out, "--backend", backend, "--chunk", chunk)
        assert r.returncode == 0, r.stderr
        assert out.read_bytes() == pn.read_bytes()
    # a truncated version 2 patch: exit 6, no output
    cut = tmp_path / "cut.otad"
    cut.write_bytes(p2.read_bytes()[:100])
    out = tmp_path / "never.tar"
    r = run("delta", "apply", po, cut, "-o", out)
    assert r.returncode == 6, (r.returncode, r.stderr)
    assert not out.exists()


def test_token_form_applied_streamed(tmp_path):
    """A version 3 patch (GNU gzip members zlib does not reproduce: the token
    form) applied by the streamed `ota delta apply` (which gives it the
    zlib port as for version 2): the exact new file."""
    rnd = random.Random(5)
    words = [bytes(rnd.choice(b"qrstuvwxyz0123") for _ in range(rnd.randint(2, 9)))
             for _ in range(500)]
    # text and binary stretches in turn: GNU gzip splits its blocks where
    # zlib would not (checked below: the patch must be version 3)
    text = b"".join(b" ".join(rnd.choice(words) for _ in range(4000)) +
                    bytes(rnd.getrandbits(8) & rnd.getrandbits(8) for _ in range(16384))
                    for _ in range(24))
    edited = text[:5000] + b"CHANGED" + text[5007:]
    files = {}
    for name, data in (("old", text), ("new", edited)):
        raw = tmp_path / name
        raw.write_bytes(data)
        subprocess.run(["gzip", "-9", "-n", "-f", str(raw)], check=True)
        files[name] = tmp_path / (name + ".gz")
    p = tmp_path / "p.otad"
    r = run("delta", "create", files["old"], files["new"], "-o", p, "--deflate")
    assert r.returncode == 0, r.stderr
    assert "version 3" in run("delta", "info", p).stdout
    out = tmp_path / "out.gz"
    r = run("delta", "apply", files["old"], p, "-o", out)
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == files["new"].read_bytes()
