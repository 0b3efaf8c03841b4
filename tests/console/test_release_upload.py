# SPDX-License-Identifier: Apache-2.0
"""console.release_upload: an operator drops a signed image on the releases
page (a real drop event carrying the file, as a browser makes it), the
release appears with its version and in the API; a file that is not a
signed image is refused with the server's reason on the page; the
release's page lists the devices running it."""
import base64
import hashlib
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


PICK = """
const [b64, name, sel] = arguments;
const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
const dt = new DataTransfer();
dt.items.add(new File([bytes], name, {type: 'application/octet-stream'}));
const input = document.querySelector(sel);
input.files = dt.files;
input.dispatchEvent(new Event('change', {bubbles: true}));
"""


def test_per_slot_release_page(server, fw, browser):
    """A per-slot release: the list says which slots it has, its page lists
    each image; the operator adds the other slot's build there (a mismatch
    is refused with the server's reason), and a device's page says which
    slot it runs from and which build it would get."""
    r = server.admin("POST", "/v1/tokens", {"name": "ops", "role": "operator"})
    browser.login(r.json()["token"])
    rel = server.upload(fw.image("4.0.0", link_slot="A")).json()
    browser.go(f"#/releases/{rel['id']}")
    browser.wait_text("#release-images", lambda t: "slot A" in t)
    assert len(browser.els("#release-images tbody tr")) == 1
    # the wrong build (another version) is refused on the page
    browser.allowed_errors.append(f"/v1/releases/{rel['id']}/images - Failed to load "
                                  "resource: the server responded with a status of 422")
    bad = fw.image("4.0.1", link_slot="B")
    browser.driver.execute_script(PICK, base64.b64encode(bad).decode(), "b.img",
                                  "#slot-upload-file")
    status = browser.wait_text("#slot-upload-status", lambda t: "refused" in t)
    assert "version" in status and "4.0.1+0" in status
    good = fw.image("4.0.0", link_slot="B")
    browser.driver.execute_script(PICK, base64.b64encode(good).decode(), "b.img",
                                  "#slot-upload-file")
    browser.wait(lambda: len(browser.els("#release-images tbody tr")) == 2, what="two images")
    text = browser.text("#release-images")
    assert "slot A" in text and "slot B" in text and hashlib.sha256(good).hexdigest() in text
    assert not browser.els("#slot-upload")  # both slots have their build
    browser.go("#/releases")
    browser.wait(lambda: "A + B" in browser.text("#release-table"), what="the slots column")

    tok = server.add_device("mcu-1")
    server.campaign(rel["id"])
    assert server.checkin("mcu-1", tok, {"running_slot": "A"}).status == 200
    deadline = time.time() + 10
    while time.time() < deadline and not server.admin("GET", "/v1/devices/mcu-1").json()[
            "running_slot"]:
        time.sleep(0.2)
    browser.go("#/devices/mcu-1")
    browser.wait_text("#device-inventory", lambda t: "running slot" in t and "A" in t)
    browser.wait_text("#device-offer", lambda t: "linked for slot B" in t)
