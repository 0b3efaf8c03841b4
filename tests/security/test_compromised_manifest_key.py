# SPDX-License-Identifier: Apache-2.0
"""
test_compromised_manifest_key.py - threat "compromised online manifest key":
the attacker holds the server's manifest signing key (and the network). What
it CAN do: make a device install any release the vendor signed for this
hardware at or above the device's anti-rollback counter -- even one that was
never published on the server. What it CANNOT do: make the device run code
the vendor did not sign, or go below the OTP counter; those attempts are
refused after download, before the slot is pending, and reported.
docs/security.md has the full account and how to rotate the key.
"""

import attacker as A
import otae2e as E


def test_can_install_any_vendor_signed_release(env, mitm):
    sc = A.Scenario(env, mitm, "stolen-can")
    unpublished = A.read(env.image("1.5.0", 1))  # vendor-signed, never uploaded
    A.forge_offers(sc.mitm, A.stolen_manifest_key(sc.server), unpublished)
    sc.dev.start()
    E.wait_for(lambda: sc.dev.confirmed_version() == "1.5.0+0", 60, "1.5.0 confirmed")
    E.wait_for(lambda: "success" in sc.dev.report_states(), 20, "success report")
    sc.dev.stop()
    assert sc.dev.version() == "1.5.0+0"
    assert [r["version"] for r in sc.server.api("GET", "/v1/releases")["releases"]] == \
        ["1.0.0+0", "2.0.0+0"]  # not a release the server knows


def test_can_go_back_within_the_counter_with_the_signed_flag(env, mitm):
    """An older vendor release at the same counter: refused as a downgrade
    while the offer does not say so; the key holder signs the DOWNGRADE flag
    and the device installs it (the counter is the only hard floor)."""
    sc = A.Scenario(env, mitm, "stolen-down", base=("2.1.0", 2), target=("3.0.0", 3))
    key = A.stolen_manifest_key(sc.server)
    older = A.read(env.image("2.0.0", 2))  # vendor-signed, never published
    A.forge_offers(sc.mitm, key, older, manifest_changes={"flags": 0})
    sc.refused(A.STALE_OFFER, "OTA_ERR_MANIFEST_DOWNGRADE", "2.1.0+0", 2)
    A.forge_offers(sc.mitm, key, older, manifest_changes={"flags": A.FLAG_DOWNGRADE})
    sc.dev.start()
    E.wait_for(lambda: sc.dev.confirmed_version() == "2.0.0+0", 60, "2.0.0 confirmed")
    E.wait_for(lambda: "success" in sc.dev.report_states(), 20, "success report")
    sc.dev.stop()
    assert sc.dev.version() == "2.0.0+0" and sc.dev.status()["otp"]["counter"] == 2


def test_cannot_run_unsigned_code_nor_go_below_the_counter(env, mitm):
    """One device, one attacker with the key: first it installs a vendor
    release of its choice (allowed: counter 3), then tries an unsigned build of
    it and a vendor-signed release below the counter it just raised. (Each try
    rides on a fresh real campaign, so the device has a real offer to replace
    and its report lands on a campaign that made it an offer.)"""
    sc = A.Scenario(env, mitm, "stolen-cannot")
    key = A.stolen_manifest_key(sc.server)
    v3 = A.read(env.image("3.0.0", 3))
    A.forge_offers(sc.mitm, key, v3)
    sc.dev.start()
    E.wait_for(lambda: sc.dev.confirmed_version() == "3.0.0+0" and
               sc.dev.status()["otp"]["counter"] == 3, 60, "3.0.0 confirmed, OTP 3")
    E.wait_for(lambda: "success" in sc.dev.report_states(), 20, "success report")
    sc.dev.stop()

    for name, forged, err, changes in [
            ("unsigned 3.1.0", A.strip_signature(A.read(env.image("3.1.0", 3))),
             "OTA_ERR_IMAGE_TLV_MISSING", {}),
            ("2.0.0 below the counter, manifest claiming 3", A.read(sc.v2),
             "OTA_ERR_IMAGE_ROLLBACK", {"target_security_counter": 3,
                                        "flags": A.FLAG_DOWNGRADE})]:
        before = len(sc.dev.report_states())
        c = sc.server.campaign(sc.r1["id"], [{"percent": 100}])
        A.forge_offers(sc.mitm, key, forged, manifest_changes=changes)
        sc.dev.start()
        E.wait_for(lambda: "failure" in sc.dev.report_states()[before:], 60,
                   "failure report for " + name)
        sc.dev.stop()
        rep = A.final_report(sc.server, sc.dev.name)
        assert rep["campaign_id"] == c["id"], rep
        assert "image refused after download" in rep["detail"], (name, rep)
        assert err in rep["detail"], (name, rep)
        A.assert_untouched(sc.dev, "3.0.0+0", 3)
