# SPDX-License-Identifier: Apache-2.0
"""
bench_gateway.py - upload throughput through the SMP gateway (docs/smp.md,
docs/benchmarks.md "SMP gateway"): ota-server -> ota-agent (backend = smp)
-> the tap -> the QEMU board, a full update (1.0.0 A -> 2.0.0 B) and a delta
(-> 3.0.0 A) per request size; prints one table row per upload: payload
bytes, seconds from the first to the last payload request on the wire,
payload B/s, and wire B/s (both directions, what the UART carries) against
the 115 200-baud line rate the firmware sets (11 520 B/s, not paced by QEMU).

Not a ctest (named bench_*, run explicitly):
  OTA_BIN=build/src/tool/ota OTA_MCU_FLASH_BIN=build/src/boot/ota-mcu-flash \\
  OTA_SMP_ARM_BUILD=build/tests/smp/arm OTA_BUILD_DIR=build \\
  /usr/bin/python3 -m pytest -q -s -p no:cacheprovider tests/mcu/bench_gateway.py
"""
import pytest

import otae2e as E

LINE_RATE = 115200 // 10  # 8N1: 10 bits a byte


def measure(env, tap, gw, image, label):
    n = gw.report_states().count("success")
    t0 = tap.snapshot()[-1].t
    rel = env.server.upload(image)
    env.server.campaign(rel["id"], [{"percent": 100}])
    E.wait_for(lambda: gw.report_states().count("success") > n, 180, f"{label} success")
    reqs = [p for p in tap.find(64, 1) if p.t > t0]
    rsps = [p for p in tap.find(64, 1, "rsp") if p.t > t0]
    payload = sum(len(p.body["data"]) for p in reqs)
    dt = rsps[-1].t - reqs[0].t
    return payload, dt


@pytest.mark.parametrize("chunk", ["896", "256"])
def test_gateway_throughput(env, chunk):
    extra = {"smp_chunk": chunk} if chunk != "896" else None
    board, tap, gw = env.mcu(f"bench-{chunk}", "a-1.0.0-smp", extra=extra)
    rows = []
    for app, ver, kind in (("b-2.0.0-smp", "2.0.0", "full"), ("a-3.0.0-smp", "3.0.0", "delta")):
        w0 = dict(tap.wire_bytes)
        payload, dt = measure(env, tap, gw, env.image(app, ver), kind)
        # wire bytes of the whole update (offer, payload, state reads, reset,
        # confirm): an upper bound of what the payload cost on the line
        wire = sum(tap.wire_bytes.values()) - sum(w0.values())
        rows.append(f"| {kind} | {chunk} B | {payload} | {dt:.2f} s | {payload / dt:.0f} | "
                    f"{wire / dt:.0f} | {wire / dt / LINE_RATE:.2f} |")
    print("\n" + "\n".join(rows))
    assert tap.errors == [], tap.errors
