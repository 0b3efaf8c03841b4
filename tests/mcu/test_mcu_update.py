# SPDX-License-Identifier: Apache-2.0
"""
test_mcu_update.py - ota-server -> ota-agent gateway (backend = smp) -> SMP
over the QEMU board's UART chardev -> the board's app -> reset -> ota
bootloader trial -> confirm: a full update, then a delta update, each
reported `success` by the gateway on the MCU's behalf, with every frame
decoded on the way by the independent tap (smp_tap.py).

Releases are picked so the image offered is linked for the slot that
receives it (per-slot builds, docs/boot-port.md): 1.0.0 in A, 2.0.0 linked
for B, 3.0.0 linked for A.
"""
import hashlib
import struct

import otae2e as E

DEVICE = "board-1"


def wait_state(gw, state, timeout):
    return E.wait_for(lambda: state in gw.report_states(), timeout,
                      f"report {state!r} (have {gw.report_states()}); log:\n{gw.log_tail(30)}")


def first_copies(packets):
    """Each request once: a resend after a timeout repeats its sequence number."""
    seen, out = set(), []
    for p in packets:
        if (p.conn, p.seq) not in seen:
            seen.add((p.conn, p.seq))
            out.append(p)
    return out


def offers(tap):
    """(manifest kind, payload size, packet) of every offer on the wire; the
    manifest read from docs/manifest.md's layout: byte 5 = payload kind
    (1 = delta), payload_size at 120 (u32 little-endian)."""
    out = []
    for p in first_copies(tap.find(64, 0)):
        m = p.body["manifest"]
        assert m[:4] == b"OTAM", m[:8]
        out.append((m[5], struct.unpack_from("<I", m, 120)[0], p))
    return out


def check_upload(tap, size, after=0):
    """Payload requests (sent after `after`): contiguous offsets from the
    device's offer answer to size, each answered with the next offset; the
    last one pending."""
    reqs = first_copies([p for p in tap.find(64, 1) if p.t > after])
    rsps = {}
    for p in tap.find(64, 1, "rsp"):
        rsps.setdefault((p.conn, p.seq), p)  # the first answer is the one taken
    assert reqs, "no payload requests on the wire"
    at = reqs[0].body["off"]
    for q in reqs:
        assert q.body["off"] == at, (q, at)
        a = rsps[(q.conn, q.seq)]
        assert a.error is None and a.body["off"] == at + len(q.body["data"]), (q, a)
        at = a.body["off"]
    assert at == size and rsps[(reqs[-1].conn, reqs[-1].seq)].body.get("pending") is True
    return reqs


def confirmed_on(env, version, gw, timeout=60):
    def ok():
        d = env.server.api("GET", "/v1/devices/" + DEVICE)
        return d if d["current_version"] == version and d["slot_state"] == "confirmed" else None
    return E.wait_for(ok, timeout, f"inventory: {DEVICE} confirmed on {version}; log:\n"
                      f"{gw.log_tail(30)}")


def update(env, tap, gw, board, image, slot_letter, version, timeout=120):
    rel = env.server.upload(image)
    n_success = gw.report_states().count("success")
    env.server.campaign(rel["id"], [{"percent": 100}])
    E.wait_for(lambda: gw.report_states().count("success") > n_success, timeout,
               f"success report for {version}; log:\n{gw.log_tail(40)}")
    out = board.console()
    assert f"app: running slot {slot_letter} version {version} (trial" in out, out
    confirmed_on(env, version + "+0", gw)
    return rel


def test_full_then_delta_update_through_the_gateway(env):
    board, tap, gw = env.mcu(DEVICE, "a-1.0.0-smp")
    # the factory image: never installed by the gateway, its file digest unknown
    assert env.server.api("GET", "/v1/devices/" + DEVICE)["current_digest"] is None
    b2 = env.image("b-2.0.0-smp", "2.0.0")
    a3 = env.image("a-3.0.0-smp", "3.0.0")

    # full: 1.0.0 (A) -> 2.0.0 linked for B
    update(env, tap, gw, board, b2, "B", "2.0.0")
    # the offer before the download (the MCU verifies it first), the same
    # manifest again when the upload starts (the MCU answers its offset)
    full = offers(tap)
    (kind, size, p0), p1 = full[0], full[-1][2]
    assert len(full) >= 2 and all(o[2].body["manifest"] == p0.body["manifest"] for o in full)
    assert "resume" not in p1.body
    assert kind == 0 and size == len(open(b2, "rb").read())
    reqs = check_upload(tap, size)
    assert reqs[0].body["off"] == 0
    states = gw.report_states()
    assert states == ["downloading", "installing", "installed-rebooting", "success"], states
    # reset (OS group 5), then a confirm (state write, no hash) after the trial boot
    reset = tap.find(0, 5)
    confirm = [p for p in tap.find(1, 0, op=2) if p.body.get("confirm") is True]
    assert reset and confirm and confirm[0].t > reset[0].t > reqs[-1].t
    assert "hash" not in confirm[0].body

    # delta: 2.0.0 (B) -> 3.0.0 linked for A; the gateway reported 2.0.0's
    # file digest (learned when it installed it), so the server sends a delta
    update(env, tap, gw, board, a3, "A", "3.0.0")
    (kind, size, p) = offers(tap)[-1]
    target = open(a3, "rb").read()
    assert kind == 1 and size < len(target) // 2, (kind, size, len(target))
    m = p.body["manifest"]
    assert m[40:72] == hashlib.sha256(target).digest()  # target_digest
    assert m[124:156] == hashlib.sha256(open(b2, "rb").read()).digest()  # base_digest
    check_upload(tap, size, after=p.t)
    assert "delta" in gw.log_text()
    assert tap.errors == [], tap.errors
