# SPDX-License-Identifier: Apache-2.0
"""console.release_upload: an operator drops a signed image on the releases
page (a real drop event carrying the file, as a browser makes it), the
release appears with its version and in the API; a file that is not a
signed image is refused with the server's reason on the page; the
release's page lists the devices running it."""
import base64
import time

DROP = """
const [b64, name, sel] = arguments;
const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
const dt = new DataTransfer();
dt.items.add(new File([bytes], name, {type: 'application/octet-stream'}));
const zone = document.querySelector(sel);
for (const type of ['dragenter', 'dragover', 'drop'])
  zone.dispatchEvent(new DragEvent(type, {dataTransfer: dt, bubbles: true, cancelable: true}));
"""


def drop(browser, data, name):
    browser.driver.execute_script(DROP, base64.b64encode(data).decode(), name, "#dropzone")


def test_drop_upload_and_refusal(server, fw, browser):
    r = server.admin("POST", "/v1/tokens", {"name": "ops", "role": "operator"})
    assert r.status == 201, r
    browser.login(r.json()["token"])
    browser.go("#/releases")
    browser.el("#dropzone")
    assert server.admin("GET", "/v1/releases").json()["releases"] == []

    img = fw.image("3.1.4", hw_id="hub-a")
    browser.el("#upload-name").send_keys("spring")
    drop(browser, img, "app-3.1.4.img")
    status = browser.wait_text("#upload-status", lambda t: t.startswith("Uploaded"))
    rels = server.admin("GET", "/v1/releases").json()["releases"]
    assert len(rels) == 1 and rels[0]["version"] == "3.1.4+0" and rels[0]["name"] == "spring"
    assert f"release {rels[0]['id']}, version 3.1.4+0 for hub-a" in status
    browser.wait(lambda: "3.1.4+0" in browser.text("#release-table"), what="the new row")

    # Not a signed image: the server's refusal is shown, nothing stored.
    browser.allowed_errors.append("/v1/releases?name=spring - Failed to load resource: the "
                                  "server responded with a status of 422")
    drop(browser, b"not an image at all" * 10, "junk.bin")
    status = browser.wait_text("#upload-status", lambda t: "refused" in t)
    assert "junk.bin" in status and "image refused" in status
    assert len(server.admin("GET", "/v1/releases").json()["releases"]) == 1

    # The release's page: a device reporting its digest is counted as running it.
    tok = server.add_device("d-1")
    assert server.checkin("d-1", tok, {"current_digest": rels[0]["digest"]}).status == 200
    deadline = time.time() + 10
    while time.time() < deadline and not server.admin("GET", "/v1/fleet/summary").json()[
            "by_release"]:
        time.sleep(0.2)
    browser.go(f"#/releases/{rels[0]['id']}")
    facts = browser.wait_text("#release-facts", lambda t: "devices running it" in t)
    assert rels[0]["digest"] in facts
    browser.el('#release-facts a[href="#/devices?release=%d"]' % rels[0]["id"]).click()
    browser.wait_text("#device-total", lambda t: t.startswith("1 matching"))
    assert browser.text("#device-table tbody tr").split()[0] == "d-1"
