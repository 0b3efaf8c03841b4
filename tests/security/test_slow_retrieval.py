# SPDX-License-Identifier: Apache-2.0
"""
test_slow_retrieval.py - threat "slow retrieval": the attacker trickles the
payload just fast enough never to trip a stall timer, to keep the device
busy on one download for hours and away from the server (so it never hears
that the offer was withdrawn). Every download attempt has a deadline from
the remaining size and min_rate_bps; an attempt cut at it keeps its bytes,
the agent checks in again before going on, and after max_download_attempts
it reports the failure. Nothing partial is installed.
"""

import re

import attacker as A

RATE = 1000  # bytes per second the attacker lets through
MIN_RATE = 10000  # the device's min_rate_bps: 10x what it gets


def test_trickled_payload(env, mitm):
    sc = A.Scenario(env, mitm, "slow-1", extra_conf={"min_rate_bps": str(MIN_RATE)})
    good = A.read(sc.v2)
    path = A.artifact_path(good)
    sc.mitm.artifacts[path] = A.Artifact(good, bps=RATE)
    rep = sc.refused(A.SLOW_RETRIEVAL, "OTA_ERR_NET")
    got = sc.mitm.bytes_sent.get(path, 0)
    # the agent checked in again between the cut attempts
    order = [("checkin" if p.endswith("/checkin") else "get") for (m, p, _) in sc.mitm.requests
             if p.endswith("/checkin") or p == path]
    first_get = order.index("get")
    assert "checkin" in order[first_get:], order
    assert len([o for o in order if o == "get"]) == 2, order  # max_download_attempts = 2
    assert got < len(good), (got, len(good))
    deadlines = re.findall(r"deadline (\d+)s", sc.dev.log_text())
    print("\nslow retrieval at %d B/s (min_rate_bps %d): %d of %d bytes fetched in %d attempts "
          "(deadlines %s s), check-ins between them; reported: %s"
          % (RATE, MIN_RATE, got, len(good), order.count("get"), ", ".join(deadlines),
             rep["detail"]))
