# SPDX-License-Identifier: Apache-2.0
"""console.device: the devices list pages through the fleet on the server
(50 a page, total counted by the server, filters by tag and by silence),
and a device's page shows its inventory, the offer its next check-in would
get, its campaigns and its report timeline."""
import time


def test_device_list_paging_filters_and_device_page(server, fw, browser):
    rel = server.upload(fw.image("2.0.0")).json()
    toks = {}
    for i in range(61):
        d = f"node-{i:03d}"
        toks[d] = server.add_device(d, tags=["lab"] if i % 10 == 0 else [])
    for d in ("node-001", "node-002", "node-010"):
        assert server.checkin(d, toks[d], {"current_version": "1.0.0",
                                           "slot_state": "confirmed"}).status == 200
    c = server.campaign(rel["id"], filt={"tags": ["lab"]},
                        stages=[{"percent": 100, "max_failure_ratio": 1}])
    r = server.checkin("node-010", toks["node-010"], {"current_version": "1.0.0",
                                                       "slot_state": "confirmed"})
    assert r.json()["action"] == "update"
    assert server.report("node-010", toks["node-010"], c["id"], "downloading", 0,
                         "47% (28160 of 60250 bytes)").status == 201
    deadline = time.time() + 10
    while time.time() < deadline and \
            server.admin("GET", "/v1/fleet/summary").json()["online"] < 3:
        time.sleep(0.2)

    browser.login(server.admin_token)
    browser.go("#/devices")
    browser.wait_text("#device-total", lambda t: t.startswith("61 matching devices · page 1 of 2"))
    rows = browser.els("#device-table tbody tr")
    assert len(rows) == 50 and rows[0].text.startswith("node-000")
    browser.click("#page-next")
    browser.wait_text("#device-total", lambda t: "page 2 of 2" in t)
    assert [r.text.split()[0] for r in browser.els("#device-table tbody tr")] == \
        [f"node-{i:03d}" for i in range(50, 61)]
    assert not browser.els("#page-next")
    browser.click("#page-prev")
    browser.wait_text("#device-total", lambda t: "page 1 of 2" in t)

    browser.el("#device-filters input[name=tag]").send_keys("lab")
    browser.click("#device-filters button[type=submit]")
    browser.wait_text("#device-total", lambda t: t.startswith("7 matching"))
    browser.go("#/devices?seen=online")
    browser.wait_text("#device-total", lambda t: t.startswith("3 matching"))

    browser.go("#/devices/node-010")
    browser.wait_text("h1", lambda t: t == "Device node-010")
    inv = browser.text("#device-inventory")
    assert "1.0.0" in inv and "lab" in inv and "confirmed" in inv
    offer = browser.text("#device-offer")
    assert rel["version"] in offer and "offered now" in offer
    assert "downloading" in browser.text("#device-campaigns")
    assert "47% (28160 of 60250 bytes)" in browser.text("#device-reports")

    browser.go("#/devices/node-001")  # not in the campaign's filter
    browser.wait_text("h1", lambda t: t == "Device node-001")
    assert "No active campaign" in browser.text("#device-offer")
    assert "No reports yet" in browser.text("#device-reports")
