#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Console page load times in headless Chromium (python3-selenium +
chromium-driver), for bench/console/run.sh.

Logs in through the login page with TOKEN, then loads each page ROUNDS
times as a fresh navigation (cold JS module cache revalidated with ETags,
as a user reloading) and reads from the page itself:
  - nav: Navigation Timing's loadEventEnd (HTML, CSS, JS modules loaded);
  - ready: the console's own mark `ota:ready:<page>` (app.js), set when the
    page's API answers are on screen - what a user waits for;
  - api: the slowest /v1/ request of the load (Resource Timing).
Prints one line per page: median and max over the rounds, in ms.

Usage: page_load.py URL TOKEN PAGE... (PAGE e.g. overview devices campaigns/1)
Env: OTA_BENCH_ROUNDS (default 5)."""
import os
import statistics
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By


def browser():
    o = webdriver.ChromeOptions()
    o.binary_location = os.environ.get("OTA_CHROMIUM", "/usr/bin/chromium")
    for a in ("--headless=new", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1400,1000", "--disable-extensions", "--no-first-run"):
        o.add_argument(a)
    if os.geteuid() == 0:
        o.add_argument("--no-sandbox")
    return webdriver.Chrome(service=Service(os.environ.get("OTA_CHROMEDRIVER",
                                                           "/usr/bin/chromedriver")), options=o)


def wait(fn, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.02)
    raise SystemExit("timed out")


def main():
    url, token, pages = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3:]
    rounds = int(os.environ.get("OTA_BENCH_ROUNDS", "5"))
    d = browser()
    try:
        d.get(url + "/")
        wait(lambda: d.find_elements(By.ID, "login-token"))
        d.find_element(By.ID, "login-token").send_keys(token)
        d.find_element(By.ID, "login-submit").click()
        wait(lambda: d.find_element(By.ID, "nav").is_displayed())
        print(f"{'page':<14} {'nav ms (med/max)':>18} {'ready ms (med/max)':>20} "
              f"{'slowest API ms (med/max)':>26}")
        for page in pages:
            name = page.split("/")[0]
            nav, ready, api = [], [], []
            for _ in range(rounds):
                d.get("about:blank")
                d.get(f"{url}/#/{page}")
                mark = f"ota:ready:{name}"
                t = wait(lambda: d.execute_script(
                    "const m = performance.getEntriesByName(arguments[0]);"
                    "const n = performance.getEntriesByType('navigation')[0];"
                    "return m.length && n && n.loadEventEnd ? [n.loadEventEnd, m[0].startTime,"
                    " Math.max(0, ...performance.getEntriesByType('resource')"
                    ".filter(r => r.name.includes('/v1/')).map(r => r.duration))] : null;", mark))
                nav.append(t[0])
                ready.append(t[1])
                api.append(t[2])
            f = lambda v: f"{statistics.median(v):8.0f}/{max(v):<8.0f}"
            print(f"{page:<14} {f(nav):>18} {f(ready):>20} {f(api):>26}", flush=True)
    finally:
        d.quit()


if __name__ == "__main__":
    main()
