# SPDX-License-Identifier: Apache-2.0
"""
test_mix_and_match.py - threats "mix-and-match" and "extraneous
dependencies": the attacker combines genuine, vendor-signed pieces that were
never meant to go together -- the signed offer for one release with the
payload of another release, or a delta made for a base image the device does
not run (obtained by lying about the device's current image in its check-in).
Each piece verifies on its own; the manifest binds them (payload digest, base
digest, target digest), so the combination is refused and reported.
"""

import hashlib

import attacker as A


def test_offer_for_one_release_with_the_payload_of_another(env, mitm):
    sc = A.Scenario(env, mitm, "mix-payload")
    # genuine and vendor-signed, and exactly as long as 2.0.0 (the DER
    # signature's length varies by a byte or two: sign until it matches)
    want = len(A.read(sc.v2))
    for _ in range(40):
        v3 = env.image("3.0.0", 3)
        if len(A.read(v3)) == want:
            break
    assert len(A.read(v3)) == want
    r3 = sc.server.upload(v3)

    def swap_payload(device_id, answer):
        if answer.get("action") == "update":
            answer["payload"]["url"] = r3["url"]
        return answer
    sc.mitm.on_checkin = swap_payload
    sc.refused(A.PAYLOAD_VERIFY, "OTA_ERR_UPDATE_PAYLOAD_HASH")
    assert r3["url"] in sc.artifact_gets()


def test_delta_for_a_base_the_device_does_not_run(env, mitm):
    """The MITM tells the server the device runs 0.9.0: the server signs a
    genuine delta offer from 0.9.0. The device's own image is the base it
    checks: refused before the patch is downloaded."""
    sc = A.Scenario(env, mitm, "mix-base", server_args=())
    v09 = env.image("0.9.0", 1)
    sc.server.upload(v09)
    fake = hashlib.sha256(A.read(v09)).hexdigest()

    def lie(device_id, body):
        return dict(body, current_version="0.9.0", current_digest=fake)
    sc.mitm.on_checkin_request = lie
    sc.refused(A.BEFORE_DOWNLOAD, "OTA_ERR_DELTA_BASE_MISMATCH")
    offer = sc.mitm.first_offer(sc.dev.name)
    assert offer["payload"]["kind"] == "delta", offer
    assert offer["payload"]["base_digest"] == fake, offer
