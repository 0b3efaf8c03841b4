# SPDX-License-Identifier: Apache-2.0
"""console.tokens: an admin creates a named token on the tokens page (shown
once), that token logs in with its role, the admin revokes it and it no
longer logs in."""


def test_create_login_revoke(server, browser):
    browser.login(server.admin_token)
    browser.go("#/tokens")
    browser.el("#t-name").send_keys("alice")
    browser.el("#t-role").send_keys("operator")
    browser.click("#t-create")
    token = browser.wait_text("#token-value", lambda t: len(t) > 20)
    table = browser.wait_text("#token-table", lambda t: "alice" in t)
    assert token not in table and "operator" in table
    listed = server.admin("GET", "/v1/tokens").json()["tokens"]
    assert [(t["name"], t["role"]) for t in listed] == [("alice", "operator")]

    browser.click("#logout")
    browser.login(token)
    assert browser.text("#who") == "alice (operator)"
    assert not browser.el('#nav a[data-page="tokens"]').is_displayed()
    browser.click("#logout")

    browser.login(server.admin_token)
    browser.go("#/tokens")
    browser.click(f'#token-table tr[data-token="{listed[0]["id"]}"] button')
    browser.driver.switch_to.alert.accept()
    browser.wait(lambda: "alice" not in browser.text("#token-table"), what="the revoked row")
    assert server.admin("GET", "/v1/tokens").json()["tokens"] == []
    assert server.request("POST", "/v1/session", {"token": token}).status == 401
