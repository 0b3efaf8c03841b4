# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the console's browser tests (ctest console.*): the real
ota-server (the server tests' fixtures, tests/server/conftest.py, reused)
and Debian's headless Chromium driven by python3-selenium + chromium-driver.

Every test fails on any error in the browser's console (JS exceptions,
CSP violations, failed loads other than the 4xx answers a test provokes)
and on any request the page makes to an address other than the server
(read from Chromium's performance log)."""
import importlib.util
import json
import os
import time
import urllib.parse

import pytest

_spec = importlib.util.spec_from_file_location(
    "server_conftest", os.path.join(os.path.dirname(__file__), "../server/conftest.py"))
srv = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(srv)

# The server tests' fixtures, under the same names.
fw = srv.fw
server_factory = srv.server_factory
server = srv.server

CHROMIUM = os.environ.get("OTA_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("OTA_CHROMEDRIVER", "/usr/bin/chromedriver")
WAIT = 15


class Browser:
    """One headless Chromium on the console of one server."""

    def __init__(self, server):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        o = webdriver.ChromeOptions()
        o.binary_location = CHROMIUM
        for a in ("--headless=new", "--disable-gpu", "--disable-dev-shm-usage",
                  "--window-size=1400,1000", "--no-first-run", "--disable-extensions",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-default-apps", "--no-default-browser-check"):
            o.add_argument(a)
        if os.geteuid() == 0:
            o.add_argument("--no-sandbox")  # Chromium refuses to run as root otherwise
        o.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        self.server = server
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=o)
        self.driver.set_page_load_timeout(30)
        self.requests = []     # every URL the page asked for
        self.errors = []       # SEVERE console entries
        # Substrings of errors a test provokes on purpose; the first: every
        # fresh page asks GET /v1/session, 401 until someone logs in.
        self.allowed_errors = ["/v1/session - Failed to load resource: the server responded "
                               "with a status of 401"]

    @property
    def base(self):
        return self.server.url

    def open(self, hash_path=""):
        self.driver.get(self.base + "/" + (("#" + hash_path) if hash_path else ""))

    def go(self, hash_path):
        """Navigate inside the single-page console (no reload)."""
        self.driver.execute_script("location.hash = arguments[0]", hash_path)

    def wait(self, cond, timeout=WAIT, what="condition"):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                v = cond()
                if v:
                    return v
            except Exception as e:  # element not there yet, stale, ...
                last = e
            time.sleep(0.1)
        self.collect()
        raise AssertionError(f"timed out waiting for {what} (last error: {last!r}); "
                             f"browser errors: {self.errors}")

    def el(self, css, timeout=WAIT):
        from selenium.webdriver.common.by import By
        return self.wait(lambda: self.driver.find_element(By.CSS_SELECTOR, css),
                         timeout, f"element {css}")

    def els(self, css):
        from selenium.webdriver.common.by import By
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def click(self, css):
        """Click an element, found again if a live refresh replaced it."""
        from selenium.common.exceptions import StaleElementReferenceException

        def attempt():
            try:
                self.el(css).click()
                return True
            except StaleElementReferenceException:
                return False
        self.wait(attempt, what=f"a click on {css}")

    def text(self, css, timeout=WAIT):
        return self.el(css, timeout).text

    def wait_text(self, css, pred, what=None):
        from selenium.webdriver.common.by import By

        def check():
            t = self.driver.find_element(By.CSS_SELECTOR, css).text
            return t if pred(t) else None
        return self.wait(check, what=what or f"text of {css}")

    def login(self, token):
        self.open()
        box = self.el("#login-token")
        box.send_keys(token)
        self.click("#login-submit")
        self.wait(lambda: self.el("#nav").is_displayed(), what="the console after login")

    def collect(self):
        """Read the browser's console and network logs gathered so far."""
        for e in self.driver.get_log("browser"):
            if e.get("level") == "SEVERE" and not any(a in e.get("message", "")
                                                      for a in self.allowed_errors):
                self.errors.append(e["message"])
        for e in self.driver.get_log("performance"):
            m = json.loads(e["message"])["message"]
            if m.get("method") == "Network.requestWillBeSent":
                self.requests.append(m["params"]["request"]["url"])

    def foreign_requests(self):
        """Requests to anything but the server (data: URLs are in-page)."""
        me = urllib.parse.urlsplit(self.base)
        out = []
        for u in self.requests:
            p = urllib.parse.urlsplit(u)
            if p.scheme in ("data", "blob", "about"):
                continue
            if (p.scheme, p.hostname, p.port) != (me.scheme, me.hostname, me.port):
                out.append(u)
        return out

    def quit(self):
        self.driver.quit()


@pytest.fixture
def browser(server):
    b = Browser(server)
    try:
        yield b
        b.collect()
        assert not b.errors, f"errors in the browser console: {b.errors}"
        assert b.requests, "the performance log recorded no request"
        assert not b.foreign_requests(), \
            f"the console asked for something other than the server: {b.foreign_requests()}"
    finally:
        b.quit()
