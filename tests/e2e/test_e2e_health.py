# SPDX-License-Identifier: Apache-2.0
"""
test_e2e_health.py - health gates end to end: a fleet of simulated devices
(`ota-sim run`, ota-agent inside) sends health reports every second. A
release whose firmware confirms fine but then crashes now and then
(`crash-sometimes`) is halted at its canary stage by a crash-rate gate, the
reason naming the metric; a healthy release passes the same gate and
completes.
"""

import hashlib
import os
import struct

import otae2e as E

GATE = {"metric": "crashes", "max_ratio": 2.0, "min_devices": 5, "min_device_hours": 0.004}


def bucket(campaign_id, device_id):
    """The server's placement (docs/api.md, Rollout rules)."""
    h = hashlib.sha256(b"ota-rollout\0" + struct.pack("<q", campaign_id) + device_id.encode())
    return struct.unpack_from("<Q", h.digest())[0] % 10000


def names(prefix, campaign_id, inside, outside, limit=5000):
    """Device ids of which `inside` fall in the first `limit`/100 % of the
    campaign's placement and `outside` do not."""
    ins, outs, i = [], [], 0
    while len(ins) < inside or len(outs) < outside:
        d = "%s-%02d" % (prefix, i)
        (ins if bucket(campaign_id, d) < limit else outs).append(d)
        i += 1
    return ins[:inside], outs[:outside]


def crashy_image(env, version, counter, every):
    """Firmware that confirms, then crashes on average every `every` s."""
    raw = os.path.join(env.work, "app-%s-crashy.bin" % version)
    img = os.path.join(env.work, "app-%s-crashy.img" % version)
    with open(raw, "wb") as f:
        f.write(("OTA-SIM-BEHAVIOUR=crash-sometimes\nOTA-SIM-CRASH-EVERY=%g\n" % every).encode()
                + E.firmware_payload(21)[64:])
    E.run([E.TOOL, "sign", "--key", env.keys.priv, "--version", version,
           "--security-counter", str(counter), "--hw-id", E.HW, "-q", raw, img])
    return img


def rollout(env, prefix, v2, soak):
    """Server, 10 devices on 1.0.0 sending health every second (5 placed in
    the 50 % canary stage, 5 not), and a campaign for v2 whose canary stage
    has the crashes gate. Returns (server, campaign, devices, canary, control)."""
    s = env.start_server("--no-delta")
    v1 = env.image("1.0.0", 1)
    s.upload(v1)
    rel = s.upload(v2)
    canary, control = names(prefix, 1, 5, 5)
    devs = {n: env.device(n, v1, extra_conf={"health_interval": "1"}) for n in canary + control}
    for d in devs.values():
        d.start()
    c = s.campaign(rel["id"], [
        {"percent": 50, "min_finished": 1, "soak_seconds": soak, "max_failure_ratio": 0.5,
         "health_gates": [GATE]},
        {"percent": 100, "health_gates": []}])
    assert c["id"] == 1, "names() placed the devices for campaign 1"
    return s, c, devs, canary, control


def test_crashing_release_halts_at_canary(env):
    s, c, devs, canary, control = rollout(env, "crashy", crashy_image(env, "2.0.0", 2, 1.0),
                                          soak=3600)

    def halted():
        st = s.campaign_status(c["id"])
        return st if st["state"] == "halted" else None

    st = E.wait_for(halted, 120, "campaign halted by its health gate")
    reason = st["halt_reason"]
    assert reason.startswith("health gate at stage 1/2: crashes breached"), reason
    assert "devices) exceeds the limit" in reason and "x control" in reason, reason
    assert st["stage"] == 0 and st["failed"] == 0, st  # every canary confirmed the update
    g = st["health"]["gates"][0]
    assert g["verdict"] == "breach" and g["updated_rate"] > g["limit_rate"], g
    assert st["health"]["updated"]["devices"] >= 5 and st["health"]["updated"]["crashes"] > 0
    for n in canary:
        assert "success" in devs[n].report_states(), (n, devs[n].log_tail())
        assert "crashes (declared crash-sometimes" in devs[n].log_text()
    for n in control:
        assert "offer:" not in devs[n].log_text()
        assert "health report sent" in devs[n].log_text()
    print("halted: %s" % reason)


def test_healthy_release_passes_the_gate(env):
    s, c, devs, canary, control = rollout(env, "steady", env.image("2.0.0", 2), soak=0)

    def everyone_updated():
        st = s.campaign_status(c["id"])
        assert st["state"] == "active", st
        return st if st["counts"]["success"] == 10 else None

    # Stage 1 starts only once the gate passed (soak 0, min_finished 1).
    E.wait_for(everyone_updated, 120, "every device updated")

    def complete():
        st = s.campaign_status(c["id"])
        return st if st["rollout_complete"] else None

    # Complete once the last stage has run a poll interval (1 s here).
    st = E.wait_for(complete, 20, "the rollout complete")
    assert st["stage"] == 1 and st["counts"]["success"] == 10, st
    for d in devs.values():
        assert "success" in d.report_states(), (d.name, d.log_tail())
    h = st["health"]
    assert h["updated"]["devices"] >= 5 and h["updated"]["crashes"] == 0, h
    print("complete: updated cohort %d devices, %.4f device-hours, 0 crashes"
          % (h["updated"]["devices"], h["updated"]["device_hours"]))
