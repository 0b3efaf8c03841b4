# SPDX-License-Identifier: Apache-2.0
"""
test_e2e_per_slot.py - per-slot builds end to end (execute-in-place parts,
docs/boot-port.md): a simulated device alternates slots across two updates
(A -> B -> A), each time getting from the server the build linked for the
slot its update goes into, as a delta from the build it runs; and a build
linked for the other slot is never started (ota-sim refuses it as the
Cortex-M port refuses a ROM_FIXED image at another address) but reverted.
"""

import json

import otae2e as E


def slot_of(dev, name):
    return [s for s in dev.status()["slots"] if s["name"] == name][0]


def test_device_alternates_slots_with_per_slot_releases(env):
    s = env.start_server()
    v1 = env.image("1.0.0", 1, link_slot="A")
    s.upload(v1)
    v2 = s.upload_pair(env.image("2.0.0", 2, link_slot="A"), env.image("2.0.0", 2, link_slot="B"))
    v3 = s.upload_pair(env.image("3.0.0", 3, link_slot="A"), env.image("3.0.0", 3, link_slot="B"))
    assert [i["link_slot"] for i in v2["images"]] == ["A", "B"]
    d = env.device("mcu-1", v1)
    assert d.status()["running"] == "A" and slot_of(d, "A")["link_slot"] == "A"
    d.start()

    steps = ((v2, "2.0.0+0", "B"), (v3, "3.0.0+0", "A"))
    for n, (rel, version, slot) in enumerate(steps, 1):
        c = s.campaign(rel["id"], [{"percent": 100}])
        E.wait_for(lambda: d.confirmed_version() == version and d.version() == version, 90,
                   "mcu-1 confirmed on %s" % version)
        st = d.status()
        assert st["running"] == slot, st
        img = slot_of(d, slot)
        assert img["link_slot"] == slot and img["role"] == "confirmed"
        # the image in the slot is the release's build for that slot
        want = [i for i in rel["images"] if i["link_slot"] == slot][0]["digest"]
        E.wait_for(lambda: s.campaign_status(c["id"])["counts"]["success"] == 1, 30,
                   "success of campaign %d" % c["id"])
        E.wait_for(lambda: s.api("GET", "/v1/devices/mcu-1").get("running_slot") == slot, 20,
                   "inventory: running from slot %s" % slot)
        dev = s.api("GET", "/v1/devices/mcu-1")
        assert dev["current_digest"] == want, (dev, want)
    log = d.log_text()
    # the first update was a delta between matching builds (A-linked 1.0.0
    # -> B-linked 2.0.0); the second may be a full image (the server queues
    # one delta per device a minute; tests/server/test_per_slot.py checks
    # the B -> A delta)
    offers = [l for l in log.splitlines() if "offer: " in l]
    assert "2.0.0+0" in offers[0] and "delta payload" in offers[0], offers
    assert any("3.0.0+0" in l for l in offers), offers
    assert "cannot start" not in log
    print("per-slot: %s" % json.dumps([r["state"] for r in s.reports("mcu-1")]))


def test_build_for_the_other_slot_is_never_started(env):
    # The build linked for slot A, installed into slot B by hand (the
    # server only registers the device).
    v1 = env.image("1.0.0", 1, link_slot="A")
    wrong = env.image("2.0.0", 2, link_slot="A")
    env.start_server()
    d = env.device("mcu-2", v1, attempts=2)
    out = E.run([E.SIM, "install", d.flash, wrong]).stdout
    assert "into slot B" in out, out
    # each boot picks the trial in B and refuses to start it; its attempts
    # run out and the bootloader reverts to the build in A
    for _ in range(2):
        p = E.run([E.SIM, "boot", d.flash], check=False)
        assert p.returncode != 0 and "cannot start slot B" in p.stdout, p.stdout
        assert "linked for slot A" in p.stdout
        assert d.status()["running"] is None
    p = E.run([E.SIM, "boot", "--json", d.flash])
    b = json.loads(p.stdout)
    assert b["running"] == "A" and b["reverted"] is True and b["version"] == "1.0.0+0", b
