#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""bench/server/health_gate.py - what a stage health gate costs at fleet
scale: N devices (default 100 000) with health rows on the old release, half
of them in a campaign with rows on the new one too (plus one custom counter
per row), then the time of GET /v1/campaigns/{id} when the health figures are
recomputed (cache expired through the test clock) and when they are cached,
and of one POST /v1/devices/{id}/health. Rows are written straight into the
SQLite file while the server is stopped (seeding through the API would take
longer than the measurement).
Usage: OTA_BUILD_DIR=build /usr/bin/python3 bench/server/health_gate.py [N]"""
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../tests/server"))
from conftest import Firmware, Server  # noqa: E402

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
tmp = tempfile.mkdtemp()
fw = Firmware(tmp)
s = Server(os.path.join(tmp, "data"), ["--trusted-key", fw.pub]).start()
rel = s.upload(fw.image("2.0.0")).json()
tok = s.add_device("probe")
gate = {"metric": "crashes", "max_ratio": 2.0, "min_devices": 20, "min_device_hours": 10}
c = s.campaign(rel["id"], stages=[{"percent": 50, "soak_seconds": 86400, "health_gates": [gate]},
                                  {"percent": 100}])
s.stop(timeout=180)

t0 = time.time()
db = sqlite3.connect(os.path.join(tmp, "data", "ota.db"))
rnd = random.Random(1)
now = int(time.time())
db.execute("BEGIN")
db.executemany("INSERT INTO devices(id, token_hash, hw_id, tags, created_at) VALUES(?,?,?,'',?)",
               ((f"d{i:06d}", rnd.randbytes(32), "hub-a", now) for i in range(n)))
db.executemany("INSERT INTO device_campaigns VALUES(?,?,4,0,?)",
               ((c["id"], f"d{i:06d}", now) for i in range(0, n, 2)))
rows = [(f"d{i:06d}", "1.0.0+0", 10, 36000, rnd.randrange(3), 0, now, now) for i in range(n)]
rows += [(f"d{i:06d}", "2.0.0+0", 10, 36000, rnd.randrange(3), 0, now, now)
         for i in range(0, n, 2)]
db.executemany("INSERT INTO device_health VALUES(?,?,?,?,?,?,?,?)", rows)
db.executemany("INSERT INTO device_health_counters VALUES(?,?,'oom',?,?)",
               ((r[0], r[1], rnd.randrange(5), now) for r in rows))
db.execute("COMMIT")
db.close()
seeded = time.time() - t0

s.start()


def cpu_ms():
    """The server's CPU time (user + system), ms: the machine may be shared,
    so wall times alone would measure the neighbours."""
    with open(f"/proc/{s.proc.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def timed(f):
    t = time.perf_counter()
    r = f()
    return (time.perf_counter() - t) * 1000, r


fresh, cached, cpu = [], [], []
for _ in range(5):
    c0 = cpu_ms()
    # The figures expire (refresh_seconds = 5 on the server clock); moving
    # the clock evaluates every campaign at once: that call recomputes them.
    ms, _ = timed(lambda: s.advance(5))
    fresh.append(ms)
    cpu.append(cpu_ms() - c0)
    ms, r = timed(lambda: s.status(c["id"]))
    cached.append(ms)
h = r["health"]
post = [timed(lambda: s.request("POST", "/v1/devices/probe/health",
                                {"release": "1.0.0", "period_s": 600, "crashes": 1,
                                 "counters": {"oom": 1}}, token=tok))[0] for _ in range(20)]
with open(f"/proc/{s.proc.pid}/status") as f:
    rss = [line.split()[1] for line in f if line.startswith("VmRSS:")][0]
s.stop(timeout=180)
print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
print(f"{n} devices, {len(rows)} health rows + {len(rows)} counter rows (seeded in {seeded:.1f} s)")
print(f"cohorts: updated {h['updated']['devices']} devices / {h['updated']['device_hours']:.0f} "
      f"device-hours, control {h['control']['devices']} / {h['control']['device_hours']:.0f}; "
      f"gate verdict {h['gates'][0]['verdict']}")
print(f"rollout evaluation recomputing the figures (POST /v1/admin/clock): median {statistics.median(fresh):.0f} ms "
      f"(min {min(fresh):.0f}, max {max(fresh):.0f}), server CPU median {statistics.median(cpu):.0f} ms; "
      f"GET /v1/campaigns/{{id}} cached: median "
      f"{statistics.median(cached):.1f} ms")
print(f"POST /v1/devices/{{id}}/health: median {statistics.median(post):.1f} ms; "
      f"server RSS {int(rss) // 1024} MiB")
