#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""bench/console/run.py - web console page load times at N devices (default
100,000) in headless Chromium: the fleet overview, the devices list, a
campaign page (20 % of the fleet finished in it) and one device's page;
and the /v1/fleet/ endpoints alone (median of 5, over HTTP on loopback).

Usage: bench/console/run.py [BUILD_DIR] [DEVICES]   (defaults: build, 100000)
Env: OTA_BENCH_API_ONLY=1 (no browser), OTA_BENCH_ROUNDS (page loads, 5).
Needs chromium, chromium-driver, python3-selenium (scripts/setup.sh); the
server is the real ota-server, started as the tests start it
(tests/server/conftest.py). About a minute; figures in docs/benchmarks.md."""
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
N = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
os.environ.setdefault("OTA_SERVER_BIN", os.path.join(BUILD, "src/server/ota-server"))
os.environ.setdefault("OTA_TOOL_BIN", os.path.join(BUILD, "src/tool/ota"))
spec = importlib.util.spec_from_file_location("server_conftest",
                                              os.path.join(ROOT, "tests/server/conftest.py"))
srv = importlib.util.module_from_spec(spec)
spec.loader.exec_module(srv)


def main():
    with tempfile.TemporaryDirectory(prefix="ota-bench-console.") as tmp:
        fw = srv.Firmware(tmp)
        s = srv.Server(os.path.join(tmp, "data"), ["--trusted-key", fw.pub,
                                                   "--log-level", "warn", "--no-access-log"])
        s.start()
        token = s.admin_token
        s.stop()
        v1 = fw.image("1.0.0", hw_id="bench-hw")
        digest = __import__("hashlib").sha256(v1).hexdigest()
        db = os.path.join(tmp, "data/ota.db")
        subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "bench/server/seed_devices.py"),
                        db, str(N), digest], check=True)
        s.start()
        s.admin_token = token
        assert s.upload(v1).status == 201
        rel = s.upload(fw.image("2.0.0", hw_id="bench-hw")).json()
        c = s.campaign(rel["id"], name="bench", stages=[
            {"percent": 10, "min_finished": 100, "max_failure_ratio": 0.2},
            {"percent": 100, "min_finished": 1000}])
        s.stop()
        subprocess.run(["/usr/bin/python3", os.path.join(HERE, "seed_fleet.py"), db,
                        str(c["id"]), "0.2"], check=True)
        s.start()
        s.admin_token = token
        try:
            dev = s.admin("GET", "/v1/fleet/devices?limit=1&after=dev-5000").json()[
                "devices"][0]["id"]
            print(f"== {N} devices: API alone (ms, median of 5; load average "
                  f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs) ==")
            for path in ("/v1/fleet/summary", "/v1/fleet/devices?limit=50",
                         "/v1/fleet/devices?limit=50&tag=beta&seen=online",
                         "/v1/fleet/devices?limit=50&after=dev-50000",
                         f"/v1/campaigns/{c['id']}",
                         f"/v1/fleet/campaigns/{c['id']}/timeline?points=60",
                         f"/v1/campaigns/{c['id']}/devices?limit=50", f"/v1/fleet/devices/{dev}"):
                ts = []
                for _ in range(5):
                    t = time.perf_counter()
                    r = s.admin("GET", path)
                    ts.append((time.perf_counter() - t) * 1000)
                    assert r.status == 200, (path, r)
                print(f"{path:<52} {statistics.median(ts):7.1f}", flush=True)
            if os.environ.get("OTA_BENCH_API_ONLY"):
                return
            print(f"== {N} devices: console pages in headless Chromium ==", flush=True)
            subprocess.run(["/usr/bin/python3", os.path.join(HERE, "page_load.py"), s.url, token,
                            "overview", "devices", f"campaigns/{c['id']}", f"devices/{dev}"],
                           check=True)
        finally:
            s.stop()


if __name__ == "__main__":
    main()
