# SPDX-License-Identifier: Apache-2.0
"""
test_rollback.py - threat "rollback": make a device go back to an older,
vulnerable release whose security counter is below the device's OTP
anti-rollback counter. Offered by the real server (an admin error or a
compromised admin token), it is refused before download; offered with the
server's stolen manifest key by a manifest that lies about the counter, the
image's own signed counter is checked after download. Either way: a failure
report, nothing pending, the counter unchanged.
"""

import attacker as A
import otae2e as E


def test_older_release_offered_by_the_server(env, mitm):
    sc = A.Scenario(env, mitm, "rollback-srv", base=("3.0.0", 3), target=("1.0.0", 1))
    sc.refused(A.BEFORE_DOWNLOAD, "OTA_ERR_IMAGE_ROLLBACK", "3.0.0+0", 3)


def test_stolen_manifest_key_lies_about_the_counter(env, mitm):
    """The forged manifest says counter 3 (so it passes the manifest check)
    and carries the signed DOWNGRADE flag (3.0.0 -> 1.0.0 is one);
    the vendor-signed image says 1: refused after download, before pending."""
    sc = A.Scenario(env, mitm, "rollback-lie", base=("3.0.0", 3), target=("1.0.0", 1))
    old = A.read(sc.v2)
    A.forge_offers(sc.mitm, A.stolen_manifest_key(sc.server), old,
                   manifest_changes={"target_security_counter": 3,
                                     "flags": A.FLAG_DOWNGRADE})
    sc.refused(A.AFTER_DOWNLOAD, "OTA_ERR_IMAGE_ROLLBACK", "3.0.0+0", 3)
    out = E.run([E.SIM, "boot", sc.dev.flash]).stdout
    assert "version 3.0.0+0" in out and "trial" not in out, out
