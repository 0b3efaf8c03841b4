# SPDX-License-Identifier: Apache-2.0
"""
test_partial_bundle.py - threat "partial bundle": the device gets only part
of the update -- here the release file on the server's disk is cut short
(a damaged store or an attacker with write access to it), so every download
ends early and the server answers 416 to the range after the last byte. The
device never installs a partial image, counts each short payload as a failed
attempt, and after max_download_attempts reports the failure to the server
(it must not download again and again for ever, unreported).
"""

import os

import attacker as A
import otae2e as E


def test_payload_shorter_than_the_manifest(env, mitm):
    sc = A.Scenario(env, mitm, "partial-1")
    path = os.path.join(sc.server.dir, "artifacts", sc.r2["digest"])
    size = os.path.getsize(path)
    os.truncate(path, size // 2)
    sc.dev.start()
    rep = sc.wait_final(timeout=90)
    gets = sc.artifact_gets()
    print("\npartial bundle: %d downloads of a %d-byte payload cut at %d before the report: %s"
          % (len(gets), size, size // 2, rep["detail"]))
    assert rep["campaign_id"] == sc.campaign["id"], rep
    assert len(gets) <= 2 * 2 + 2, gets  # max_download_attempts = 2, a GET and a resume each
    A.assert_untouched(sc.dev, "1.0.0+0", 1)
    st = sc.server.campaign_status(sc.campaign["id"])
    assert st["counts"]["failure"] == 1, st["counts"]
    E.run([E.SIM, "boot", sc.dev.flash])
    A.assert_untouched(sc.dev, "1.0.0+0", 1)
