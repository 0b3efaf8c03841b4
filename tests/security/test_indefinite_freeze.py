# SPDX-License-Identifier: Apache-2.0
"""
test_indefinite_freeze.py - threat "indefinite freeze": keep a device on an
old state by feeding it offers that are no longer current. Every manifest
carries an expiry signed by the server (--offer-ttl, default a day): a
captured offer replayed after it has expired is refused before download,
even though its signature is genuine. (What a freeze by silence -- a network
attacker answering "nothing to do" forever -- can and cannot do is in
docs/security.md.)
"""

import time

import attacker as A


def test_expired_offer_refused(env, mitm):
    """The MITM replays the device's genuine offer as the server signed it two
    days earlier (issued_at and expires_at in the past; the server's own key,
    as a capture from back then would carry)."""
    sc = A.Scenario(env, mitm, "freeze-expired", server_args=("--no-delta", "--offer-ttl", "3600"))
    key = A.stolen_manifest_key(sc.server)
    then = int(time.time()) - 2 * 86400

    def replay_expired(device_id, answer):
        if answer.get("action") != "update":
            return answer
        m = A.manifest_of(answer)
        assert m.expires_at - m.issued_at == 3600  # the server's offers do expire
        return A.answer_with(answer, m.copy(issued_at=then, expires_at=then + 3600).sign(key))
    sc.mitm.on_checkin = replay_expired
    sc.refused(A.STALE_OFFER, "OTA_ERR_MANIFEST_EXPIRED")
