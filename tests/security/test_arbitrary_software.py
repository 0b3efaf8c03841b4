# SPDX-License-Identifier: Apache-2.0
"""
test_arbitrary_software.py - threat "arbitrary software": an attacker tries
to make a device install code the vendor did not sign -- an unsigned image,
one signed by the attacker's own key, or a tampered one -- by uploading it to
the server, by changing bytes in transit, by forging an offer with its own
manifest key, and even with the server's stolen manifest key. Every path ends
in a refusal, a failure report to the server, and a device still running and
confirmed on its old image.
"""

import pytest

import attacker as A
import otae2e as E


def forgeries(env, v2):
    """name -> bytes: an unsigned image, one signed by the attacker's key, and
    the genuine v2 with one byte of its firmware changed (hash no longer matches)."""
    mine = E.Keys(env.work, "attacker-fw")
    foreign = E.build_image(env.work, mine, "9.0.0", 9)
    genuine = A.read(v2)
    return {
        "unsigned": A.strip_signature(genuine),
        "untrusted-key": A.read(foreign),
        "tampered": A.flip_byte(genuine, 4096),
    }


EXPECTED_UPLOAD = {"unsigned": "OTA_ERR_IMAGE_TLV_MISSING",
                   "untrusted-key": "OTA_ERR_IMAGE_UNKNOWN_KEY",
                   "tampered": "OTA_ERR_IMAGE_HASH_MISMATCH"}


def test_server_refuses_to_publish_them(env):
    s = env.start_server("--no-delta")
    v2 = env.image("2.0.0", 2)
    for name, data in forgeries(env, v2).items():
        r = s.api("POST", "/v1/releases", raw=data, ok=(422,))
        assert r["error"]["code"] == "image_refused", (name, r)
        assert r["error"]["ota_error"] == EXPECTED_UPLOAD[name], (name, r)
    assert s.api("GET", "/v1/releases")["releases"] == []


def test_payload_tampered_in_transit(env, mitm):
    """No key at all: the MITM flips one byte of the genuine payload on every
    download. The payload digest in the signed manifest catches it; after
    max_download_attempts the device reports the failure."""
    sc = A.Scenario(env, mitm, "tamper-net")
    good = A.read(sc.v2)
    sc.mitm.artifacts[A.artifact_path(good)] = A.Artifact(A.flip_byte(good, 30000))
    sc.refused(A.PAYLOAD_VERIFY, "OTA_ERR_UPDATE_PAYLOAD_HASH")
    assert len(sc.artifact_gets()) >= 2  # downloaded, refused, tried again
    st = sc.server.campaign_status(sc.campaign["id"])
    assert st["counts"]["failure"] == 1, st["counts"]


def test_manifest_forged_with_attackers_key(env, mitm):
    """The attacker signs its own offer with its own manifest key: refused
    before a single payload byte is fetched."""
    sc = A.Scenario(env, mitm, "forged-key")
    key = A.new_key(env.work + "/attacker-manifest.pem")
    A.forge_offers(sc.mitm, key, forgeries(env, sc.v2)["untrusted-key"])
    sc.refused(A.BEFORE_DOWNLOAD, "OTA_ERR_MANIFEST_SIG_INVALID")


@pytest.mark.parametrize("kind", ["unsigned", "untrusted-key", "tampered"])
def test_stolen_manifest_key_cannot_install_unsigned_code(env, mitm, kind):
    """Worst case for this threat: the attacker holds the server's online
    manifest key, so its offer verifies and the device downloads the payload.
    The image's own signature (offline vendor key) is checked before the slot
    is marked pending: refused, reported, nothing pending, old image runs."""
    sc = A.Scenario(env, mitm, "stolen-" + kind)
    A.forge_offers(sc.mitm, A.stolen_manifest_key(sc.server), forgeries(env, sc.v2)[kind])
    sc.refused(A.AFTER_DOWNLOAD, EXPECTED_UPLOAD[kind])
    # and the bootloader, at the next power-on, still boots only the old image
    out = E.run([E.SIM, "boot", sc.dev.flash]).stdout
    assert "version 1.0.0+0" in out and "trial" not in out, out
