# SPDX-License-Identifier: Apache-2.0
"""
test_smp_per_slot.py - per-slot releases on the emulated chip (issue 12
item 3): the QEMU board runs its SMP demo app from slot A; each release
holds the app built for slot A and for slot B (src/boot/cortex-m/
sign_slots.sh: --link-slot and --rom-fixed, the address the port checks
before the jump); ota-agent as the SMP gateway reports the MCU's running
slot, the server offers the build for the other slot, and the board
alternates A -> B -> A, the second update a delta between matching builds.

Reuses tests/mcu's harness (server + gateway + tap + board, loaded as a
module) and tests/smp's board; nothing copied.
"""
import importlib.util
import os

HERE = os.path.dirname(os.path.abspath(__file__))
SIGN_SLOTS = os.path.join(HERE, "..", "..", "src", "boot", "cortex-m", "sign_slots.sh")
DEVICE = "board-ps"


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


mcu = _load("mcu_conftest", os.path.join(HERE, "..", "mcu", "conftest.py"))
E = mcu.E
env = mcu.env  # the fixture: server, boards, taps, gateways of one test


def pair(env, version, counter):
    """Both builds of the demo app at `version`, signed by sign_slots.sh and
    uploaded as one per-slot release: (release, {slot: image bytes})."""
    out = os.path.join(env.work, "slots-" + version)
    mcu.sh(SIGN_SLOTS, env.port["build"], env.port["key"], version, out,
           "--security-counter", str(counter), "-q",
           env=dict(os.environ, OTA=mcu.smp_board.OTA))
    imgs = {}
    for s in "AB":
        with open(os.path.join(out, f"app-{version}-slot{s}.img"), "rb") as f:
            imgs[s] = f.read()
    return env.server.upload_pair(os.path.join(out, f"app-{version}-slotA.img"),
                                  os.path.join(out, f"app-{version}-slotB.img")), imgs


def update(env, gw, board, rel, slot, version, timeout=150):
    n = gw.report_states().count("success")
    env.server.campaign(rel["id"], [{"percent": 100}])
    E.wait_for(lambda: gw.report_states().count("success") > n, timeout,
               f"success report for {version}; log:\n{gw.log_tail(40)}")
    out = board.console()
    assert f"app: running slot {slot} version {version} (trial" in out, out[-2000:]
    return E.wait_for(lambda: (lambda d: d if d["current_version"] == version + "+0" and
                               d["running_slot"] == slot else None)(
        env.server.api("GET", "/v1/devices/" + DEVICE)), 60,
        f"inventory: {DEVICE} on {version} from slot {slot}")


def test_board_alternates_slots_with_per_slot_releases(env):
    board, tap, gw = env.mcu(DEVICE, "a-1.0.0-smp")
    E.wait_for(lambda: env.server.api("GET", "/v1/devices/" + DEVICE)["running_slot"] == "A",
               30, "the gateway reports the MCU running from slot A")
    v2, i2 = pair(env, "2.0.0", 2)
    v3, i3 = pair(env, "3.0.0", 3)
    assert [i["link_slot"] for i in v2["images"]] == ["A", "B"]

    # running A: the B build of 2.0.0, whole (the factory image's digest is unknown)
    d = update(env, gw, board, v2, "B", "2.0.0")
    assert d["current_digest"] == [i for i in v2["images"] if i["link_slot"] == "B"][0]["digest"]
    # running B: the A build of 3.0.0, as a delta from the B build of 2.0.0
    d = update(env, gw, board, v3, "A", "3.0.0")
    assert d["current_digest"] == [i for i in v3["images"] if i["link_slot"] == "A"][0]["digest"]
    log = gw.log_text()
    offers = [line for line in log.splitlines() if "offer: " in line]
    assert "2.0.0+0" in offers[0] and "full payload" in offers[0], offers
    assert any("3.0.0+0" in line and "delta payload" in line for line in offers), offers
    # the port started each build at its own slot (its ROM_FIXED check passed)
    out = board.console()
    assert "linked for another address" not in out
    assert "boot: starting slot B at 0x21080200" in out and "boot: starting slot A" in out
