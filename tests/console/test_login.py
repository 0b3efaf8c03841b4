# SPDX-License-Identifier: Apache-2.0
"""console.login: log in with a token through the login page, see the
fleet overview's numbers equal the API's aggregates (and the devices
registered), a viewer sees no operator controls, log out; a wrong token is
refused on the page. Every page load is checked for browser errors and for
requests to anything but the server (conftest.py)."""
import time


def seed(server):
    toks = {}
    for i in range(9):
        d = f"unit-{i}"
        toks[d] = server.add_device(d, hw_id="hub-a" if i < 6 else "hub-b",
                                    tags=["eu"] if i % 2 else ["us", "beta"])
    for i, d in enumerate(sorted(toks)[:6]):
        r = server.checkin(d, toks[d], {"current_version": "1.0.0" if i < 4 else "1.1.0"})
        assert r.status == 200, r
    deadline = time.time() + 10
    while time.time() < deadline:
        s = server.admin("GET", "/v1/fleet/summary").json()
        if s["online"] == 6:
            return s
        time.sleep(0.2)
    raise AssertionError("inventory not flushed")


def test_login_overview_matches_api_logout(server, browser):
    s = seed(server)
    browser.open()
    browser.el("#login-token").send_keys("otaa_" + "0" * 64)
    browser.el("#login-submit").click()
    browser.wait_text("#login-error", lambda t: "Unknown or revoked token" in t)
    browser.allowed_errors.append("/v1/session - Failed to load resource: the server "
                                  "responded with a status of 401")

    browser.login(server.admin_token)
    assert browser.text("#who") == "admin (admin)"
    assert browser.text("#ov-devices") == "9" == str(s["devices"])
    assert browser.text("#ov-online") == "6" == str(s["online"])
    assert browser.text("#ov-silent") == "0" == str(s["silent"])
    assert browser.text("#ov-never") == "3" == str(s["never_seen"])
    by_version = browser.text("#ov-by-version")
    assert "1.0.0" in by_version and "1.1.0" in by_version
    tags = browser.text("#ov-by-tag")
    assert "beta" in tags and "eu" in tags
    # The audit log's newest entries: this login, and the refused one.
    activity = browser.text("#ov-activity")
    assert "admin (admin) POST /v1/session 200" in activity, activity
    # The cookie is HttpOnly: the page's script cannot read it.
    assert "ota_session" not in browser.driver.execute_script("return document.cookie")
    assert [c for c in browser.driver.get_cookies() if c["name"] == "ota_session"][0]["httpOnly"]

    # A click on a version lists exactly those devices (server-side filter).
    browser.go("#/devices?version=1.1.0")
    browser.wait_text("#device-total", lambda t: t.startswith("2 matching"))
    rows = browser.els("#device-table tbody tr")
    assert [r.text.split()[0] for r in rows] == ["unit-4", "unit-5"]

    browser.el("#logout").click()
    browser.el("#login-token")
    assert not [c for c in browser.driver.get_cookies() if c["name"] == "ota_session"]
    browser.open("/overview")  # a reload stays logged out
    browser.el("#login-token")


def test_viewer_sees_no_operator_controls(server, browser):
    seed(server)
    r = server.admin("POST", "/v1/tokens", {"name": "watcher", "role": "viewer"})
    assert r.status == 201, r
    browser.login(r.json()["token"])
    assert browser.text("#who") == "watcher (viewer)"
    assert browser.text("#ov-devices") == "9"
    assert not browser.el('#nav a[data-page="tokens"]').is_displayed()
    browser.go("#/releases")
    browser.el("#release-table")
    assert not browser.els("#dropzone")
    browser.go("#/campaigns")
    browser.el("#campaign-table")
    assert not browser.els("#campaign-new")
