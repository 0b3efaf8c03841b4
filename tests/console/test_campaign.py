# SPDX-License-Identifier: Apache-2.0
"""console.campaign: create a staged campaign with the stage editor, its
live preview showing per-stage device counts equal to the dry-run API's and
a warning for a stage that can never meet its min_finished; then on the
campaign's page: the warning, pause, edit the stages not started yet,
advance (confirmed in the dialog), resume; and a campaign halted by
failures shows its halt reason and its failure ratio over time."""
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait


def set_value(el, v):
    el.clear()
    el.send_keys(str(v))


def stage_rows(browser):
    return [r for r in browser.els("#stage-table tbody tr") if "warn-row" not in
            (r.get_attribute("class") or "")]


def fill_stages(browser, stages):
    rows = stage_rows(browser)
    while len(rows) > len(stages):
        rows[-1].find_element(By.XPATH, ".//button[text()='Remove']").click()
        rows = stage_rows(browser)
    while len(rows) < len(stages):
        browser.click("#stage-add")
        rows = stage_rows(browser)
    for row, st in zip(rows, stages):
        for k, v in st.items():
            set_value(row.find_element(By.NAME, k), v)


def confirm_dialog(browser):
    WebDriverWait(browser.driver, 10).until(EC.alert_is_present())
    browser.driver.switch_to.alert.accept()


def test_create_with_preview_pause_edit_advance(server, fw, browser):
    rel = server.upload(fw.image("2.0.0")).json()
    for i in range(12):
        server.add_device(f"fleet-{i:02d}", tags=["eu"])
    server.add_device("other", tags=["us"])
    browser.login(server.admin_token)
    browser.go("#/campaigns/new")
    browser.el("#c-name").send_keys("spring")
    browser.el("#c-tags").send_keys("eu")
    stages = [{"percent": 25, "soak_seconds": 0, "min_finished": 20, "max_failure_ratio": 0.5},
              {"percent": 100, "soak_seconds": 60, "min_finished": 0}]
    fill_stages(browser, stages)

    want = server.admin("POST", "/v1/campaigns?dry_run=1",
                        {"name": "spring", "release_id": rel["id"], "filter": {"tags": ["eu"]},
                         "stages": stages}).json()
    assert want["matching_devices"] == 12
    assert [s["expected_devices"] for s in want["stages"]] == [3, 12]
    browser.wait_text("#preview-summary", lambda t: t.startswith("12 matching devices"))
    browser.wait(lambda: [r.find_element(By.CSS_SELECTOR, ".expected").text
                          for r in stage_rows(browser)] == ["3", "12"], what="preview counts")
    warn = browser.wait_text("#stage-table .warning", lambda t: "min_finished 20" in t)
    assert "stage 0 places 3 matching device(s)" in warn
    assert browser.el("#stage-table input[name=max_failure_ratio]").get_attribute("value") == "0.5"
    assert stage_rows(browser)[1].find_element(By.NAME, "max_failure_ratio") \
        .get_attribute("placeholder") == "inherit (0.5)"

    browser.click("#c-create")
    browser.wait(lambda: "#/campaigns/1" in browser.driver.current_url, what="the campaign page")
    c = server.status(1)
    assert c["name"] == "spring" and c["filter"]["tags"] == ["eu"]
    assert [s["max_failure_ratio"] for s in c["stages"]] == [0.5, 0.5]  # inherited
    assert c["warnings"] and c["warnings"][0]["stage"] == 0
    assert c["warnings"][0]["message"] in browser.text("#campaign-warnings")
    assert browser.text("#campaign-state") == "active"

    browser.click("#c-pause")
    browser.wait_text("#campaign-state", lambda t: t == "paused")
    assert server.status(1)["state"] == "paused"

    # Edit the stage not started yet (stage 1): its soak 60 -> 5, ratio 0.1.
    browser.click("#c-edit")
    rows = [r for r in browser.els("#stage-edit #stage-table tbody tr")
            if "warn-row" not in (r.get_attribute("class") or "")]
    assert rows[0].find_element(By.NAME, "percent").get_attribute("disabled") is not None
    set_value(rows[1].find_element(By.NAME, "soak_seconds"), 5)
    set_value(rows[1].find_element(By.NAME, "max_failure_ratio"), 0.1)
    browser.click("#c-save-stages")
    browser.wait(lambda: server.status(1)["stages"][1]["soak_seconds"] == 5, what="PATCH")
    assert server.status(1)["stages"][1]["max_failure_ratio"] == 0.1

    browser.click("#c-advance")
    confirm_dialog(browser)
    browser.wait_text("#campaign-stage", lambda t: t.startswith("1 (2 of 2"))
    st = server.status(1)
    assert st["stage"] == 1 and st["state"] == "paused"
    browser.click("#c-resume")
    browser.wait_text("#campaign-state", lambda t: t == "active")
    assert server.status(1)["state"] == "active"
    browser.go("#/campaigns")
    assert "spring" in browser.text("#campaign-table")


def test_halted_campaign_shows_reason_and_ratio_chart(server, fw, browser):
    rel = server.upload(fw.image("2.0.0")).json()
    toks = {f"d{i}": server.add_device(f"d{i}") for i in range(4)}
    c = server.campaign(rel["id"], stages=[{"percent": 100, "min_finished": 2,
                                            "max_failure_ratio": 0.25}])
    for d, t in toks.items():
        assert server.checkin(d, t, {"current_version": "1.0.0"}).json()["action"] == "update"
    assert server.report("d0", toks["d0"], c["id"], "success").status == 201
    server.advance(600)
    assert server.report("d1", toks["d1"], c["id"], "failure", 156, "boom").status == 201
    assert server.report("d2", toks["d2"], c["id"], "rolled-back").status == 201
    st = server.status(c["id"])
    assert st["state"] == "halted" and st["halt_reason"], st

    browser.login(server.admin_token)
    browser.go(f"#/campaigns/{c['id']}")
    assert browser.text("#halt-reason") == "Halted: " + st["halt_reason"]
    assert browser.text("#campaign-state") == "halted"
    assert "66.7%" in browser.text("#campaign-ratio")
    # The chart: a line for the ratio and the stage's limit.
    assert browser.els("#campaign-chart svg path.line")
    assert "limit 25%" in browser.text("#campaign-chart")
    # Halted: no pause, resume or advance; abort stays.
    assert not browser.els("#c-pause") and not browser.els("#c-advance")
    assert browser.els("#c-abort")
    # A device page of this campaign: inventory, report timeline, no offer.
    browser.go("#/devices/d1")
    assert "boom" in browser.text("#device-reports")
    assert "failure" in browser.text("#device-campaigns")
    assert "No active campaign" in browser.text("#device-offer")
    # The overview lists it among the campaigns to look at, with its ratio.
    browser.go("#/overview")
    row = browser.wait_text("#ov-campaigns", lambda t: "halted" in t)
    assert "66.7%" in row
