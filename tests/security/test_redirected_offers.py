# SPDX-License-Identifier: Apache-2.0
"""
test_redirected_offers.py - threat "redirected offers": the check-in answer's
payload.url is unsigned JSON, so a network attacker points it at a host it
runs (absolute URL, or "@host/..." glued after the server URL) to collect
the device's bearer token. The agent sends its token only to the server's
own origin (or a configured artifact_origin): the offer is refused and
reported, and not one request reaches the attacker's host.
"""

import pytest

import attacker as A


@pytest.mark.parametrize("form", ["absolute", "at-host"])
def test_payload_url_on_a_foreign_origin(env, mitm, form):
    sc = A.Scenario(env, mitm, "redirect-" + form)
    thief = mitm()  # the attacker's host, recording whatever arrives
    path = A.artifact_path(A.read(sc.v2))
    url = {"absolute": thief.url + path,
           "at-host": "@127.0.0.1:%d%s" % (thief.port, path)}[form]

    def redirect(device_id, answer):
        if answer.get("action") == "update":
            answer["payload"]["url"] = url
        return answer
    sc.mitm.on_checkin = redirect
    sc.refused(A.BEFORE_DOWNLOAD, "OTA_ERR_UNTRUSTED_ORIGIN")
    assert thief.requests == [], thief.requests
    assert "127.0.0.1:%d" % thief.port in sc.dev.log_text()  # the device log names it
