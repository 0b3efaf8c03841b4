# SPDX-License-Identifier: Apache-2.0
"""
test_replayed_offers.py - threat "replayed / redirected / revoked offers":
a network attacker replays genuine, server-signed offers where and when they
were not meant: another device's offer (the manifest names its device), an
old offer after the device moved on, an aborted campaign's offer. Each is
refused before download, reported, and leaves the device as it was.
"""

import attacker as A
import otae2e as E


def test_offer_made_to_another_device(env, mitm):
    sc = A.Scenario(env, mitm, "replay-victim")
    other = env.device("replay-other", sc.v1)  # registered, never started

    def give_others_offer(device_id, answer):
        if answer.get("action") != "update":
            return answer
        theirs = sc.server.api("POST", "/v1/devices/%s/checkin" % other.name,
                               {"hw_id": E.HW, "current_version": "1.0.0"}, token=other.token)
        assert theirs["action"] == "update", theirs
        assert A.manifest_of(theirs).device_id == other.name
        return theirs
    sc.mitm.on_checkin = give_others_offer
    sc.refused(A.BEFORE_DOWNLOAD, "OTA_ERR_MANIFEST_WRONG_DEVICE")
