# SPDX-License-Identifier: Apache-2.0
"""
bench_gateway.py - upload throughput through the SMP gateway (docs/smp.md,
docs/benchmarks.md "SMP gateway"): ota-server -> ota-agent (backend = smp)
-> the tap -> the QEMU board, a full update (1.0.0 A -> 2.0.0 B) and a delta
(-> 3.0.0 A) per request size; prints one table row per upload: payload
bytes, the target image they make, seconds from the first payload request
on the wire to the last answer, payload and target B/s, and wire B/s (the
payload requests and their answers as framed on the UART, both directions)
against the 115 200-baud line rate the firmware sets (11 520 B/s; QEMU does
not pace it).

Not a ctest (named bench_*, run explicitly):
  OTA_BIN=build/src/tool/ota OTA_MCU_FLASH_BIN=build/src/boot/ota-mcu-flash \\
  OTA_SMP_ARM_BUILD=build/tests/smp/arm OTA_BUILD_DIR=build \\
  /usr/bin/python3 -m pytest -q -s -p no:cacheprovider tests/mcu/bench_gateway.py
"""
import os

import pytest

import otae2e as E

def measure(env, tap, gw, image, label):
    n = gw.report_states().count("success")
    t0 = tap.snapshot()[-1].t
    rel = env.server.upload(image)
    env.server.campaign(rel["id"], [{"percent": 100}])
    E.wait_for(lambda: gw.report_states().count("success") > n, 180, f"{label} success")
    reqs = [p for p in tap.find(64, 1) if p.t > t0]
    rsps = [p for p in tap.find(64, 1, "rsp") if p.t > t0]
    payload = sum(len(p.body["data"]) for p in reqs)
    wire = sum(p.wire for p in reqs + rsps)  # payload requests and their answers
    return payload, wire, rsps[-1].t - reqs[0].t


@pytest.mark.parametrize("chunk", ["896", "256"])
def test_gateway_throughput(env, chunk):
    extra = {"smp_chunk": chunk} if chunk != "896" else None
    board, tap, gw = env.mcu(f"bench-{chunk}", "a-1.0.0-smp", extra=extra)
    rows = []
    for app, ver, kind in (("b-2.0.0-smp", "2.0.0", "full"), ("a-3.0.0-smp", "3.0.0", "delta")):
        image = env.image(app, ver)
        payload, wire, dt = measure(env, tap, gw, image, kind)
        target = os.path.getsize(image)
        rows.append(f"| {kind} | {chunk} B | {payload} | {target} | {dt:.2f} s | "
                    f"{payload / dt:.0f} | {target / dt:.0f} | {wire / dt:.0f} | "
                    f"{wire / payload:.2f} |")
    print("\n| payload | data per request | payload B | target image B | first to last "
          "payload request | payload B/s | target B/s | wire B/s | wire / payload |")
    print("\n".join(rows))
    assert tap.errors == [], tap.errors
