# SPDX-License-Identifier: Apache-2.0
# Fixtures of the package tests (ctest package.*): the build directory under
# test, an install of it into a throwaway prefix, and a signed test image.
import os
import subprocess
from pathlib import Path

import pytest

BUILD = Path(os.environ.get("OTA_BUILD_DIR", "build")).resolve()
HERE = Path(__file__).resolve().parent
# The build's compiler and sanitizer flags: consumers of an ASan build's
# libraries must be instrumented the same way.
CC = os.environ.get("OTA_C_COMPILER", "cc")
EXTRA_FLAGS = os.environ.get("OTA_CONSUMER_FLAGS", "")


def run(cmd, **kw):
    """Run cmd, fail the test with its output if it fails."""
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert p.returncode == 0, f"{cmd} -> {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    """`cmake --install` of the build into a fresh prefix."""
    dest = tmp_path_factory.mktemp("prefix")
    run(["cmake", "--install", str(BUILD), "--prefix", str(dest)])
    return dest


@pytest.fixture(scope="module")
def signed(prefix, tmp_path_factory):
    """A key (DER public part) and an image signed with the installed `ota`."""
    d = tmp_path_factory.mktemp("img")
    ota = str(prefix / "bin" / "ota")
    run([ota, "keygen", "-o", str(d / "key.pem")])
    run([ota, "pubkey", str(d / "key.pem"), "--format", "der", "-o", str(d / "key.der")])
    (d / "app.bin").write_bytes(bytes(range(256)) * 64)
    run([ota, "sign", "--key", str(d / "key.pem"), "--version", "1.2.3+4",
         str(d / "app.bin"), str(d / "app.img")])
    raw = bytearray((d / "app.img").read_bytes())
    raw[100] ^= 1  # in the payload: the hash no longer matches
    (d / "bad.img").write_bytes(bytes(raw))
    run([ota, "keygen", "-o", str(d / "other.pem")])
    run([ota, "pubkey", str(d / "other.pem"), "--format", "der", "-o", str(d / "other.der")])
    return d


def check_verifier(exe, signed, env=None):
    """exe (the consumer program) accepts the image and refuses a tampered
    image and an untrusted key, naming the error."""
    ok = subprocess.run([str(exe), str(signed / "key.der"), str(signed / "app.img")],
                        capture_output=True, text=True, env=env)
    assert ok.returncode == 0 and ok.stdout.strip() == "valid", ok
    bad = subprocess.run([str(exe), str(signed / "key.der"), str(signed / "bad.img")],
                         capture_output=True, text=True, env=env)
    assert bad.returncode == 1 and bad.stdout.strip() == "OTA_ERR_IMAGE_HASH_MISMATCH", bad
    other = subprocess.run([str(exe), str(signed / "other.der"), str(signed / "app.img")],
                           capture_output=True, text=True, env=env)
    assert other.returncode == 1 and other.stdout.strip() == "OTA_ERR_IMAGE_UNKNOWN_KEY", other
