# SPDX-License-Identifier: Apache-2.0
"""
test_wrong_hardware.py - threat "wrong hardware": a genuine, vendor-signed
image built for another board is pushed to a device, which could brick it.
The server never offers a release to other hardware (a campaign's filter is
forced to the release's hardware id); with the server's stolen manifest key
the attacker can sign an offer anyway: naming the other board, it is refused
before download; naming the device's board over the other board's image,
the image's signed hardware id is checked after download. Both reported.
"""

import attacker as A
import otae2e as E

OTHER = "other-board"


def test_server_never_offers_another_boards_release(env, mitm):
    sc = A.Scenario(env, mitm, "hw-srv", campaign=False)
    other = sc.server.upload(env.image("5.0.0", 5, hw=OTHER))
    assert other["hw_id"] == OTHER
    c = sc.server.campaign(other["id"], [{"percent": 100}])
    assert c["filter"]["hw_id"] == OTHER, c
    sc.dev.start()
    E.wait_for(lambda: len(sc.mitm.checkins.get(sc.dev.name, [])) >= 5, 30, "5 check-ins")
    sc.dev.stop()
    assert all(a["action"] == "none" for a in sc.mitm.checkins[sc.dev.name])
    assert sc.server.campaign_status(c["id"])["counts"]["offered"] == 0
    A.assert_untouched(sc.dev, "1.0.0+0", 1)


def test_stolen_key_offer_naming_the_other_board(env, mitm):
    sc = A.Scenario(env, mitm, "hw-named")
    img = A.read(env.image("5.0.0", 5, hw=OTHER))
    A.forge_offers(sc.mitm, A.stolen_manifest_key(sc.server), img,
                   manifest_changes={"hw_id": OTHER.encode()})
    sc.refused(A.BEFORE_DOWNLOAD, "OTA_ERR_IMAGE_HW_MISMATCH")


def test_stolen_key_offer_hiding_the_other_board(env, mitm):
    """The manifest claims the device's own board; the vendor-signed image
    says otherwise: refused after download, before the slot is pending."""
    sc = A.Scenario(env, mitm, "hw-hidden")
    img = A.read(env.image("5.0.0", 5, hw=OTHER))
    A.forge_offers(sc.mitm, A.stolen_manifest_key(sc.server), img)  # hw_id kept: sim-board
    sc.refused(A.AFTER_DOWNLOAD, "OTA_ERR_IMAGE_HW_MISMATCH")
