# SPDX-License-Identifier: Apache-2.0
"""
test_mcu_resume.py - the QEMU board killed in the middle of an upload
through the gateway, then powered on again: the upload continues at the
offset the board answers (proved in its flash by the resume record the
gateway kept), not from 0. Twice: once with the gateway running on (it
reconnects), once with the gateway killed too and restarted (its persisted
state: phase, spooled payload, the board's resume record). Every frame is
decoded by the independent tap, which shows the offsets on the wire.
"""
import os
import signal

import otae2e as E
from conftest import kill_board

DEVICE = "board-2"


def payload_offsets(tap, after):
    return [p.body["off"] for p in tap.find(64, 1) if p.t > after]


def kill_board_at(env, tap, board, at_least, timeout=180):
    """SIGKILL QEMU once the tap has seen a payload request at >= at_least.
    The board's emulation is CPU bound: at a load of 10 on 2 cores an upload
    ran at ~500 B/s, a seventh of its idle speed (hence the generous waits)."""
    E.wait_for(lambda: any(o >= at_least for o in payload_offsets(tap, 0)), timeout,
               f"upload past byte {at_least}")
    kill_board(board)
    return max(payload_offsets(tap, 0))


def resumed_offer(tap, after, gw):
    """The first offer answered after `after` that carried a resume record,
    and its answer."""
    def find():
        rsps = {(p.conn, p.seq): p for p in tap.find(64, 0, "rsp")}
        for q in tap.find(64, 0):
            if q.t > after and "resume" in q.body and (q.conn, q.seq) in rsps:
                return q, rsps[(q.conn, q.seq)]
        return None
    return E.wait_for(find, 120, f"an offer with a resume record; log:\n{gw.log_tail(20)}")


def test_upload_resumes_at_the_boards_offset(env):
    # small checkpoints: the board's resume record follows the upload closely
    extra = {"smp_checkpoint": "4096", "smp_chunk": "512"}
    board, tap, gw = env.mcu(DEVICE, "a-1.0.0-smp", extra=extra)
    flash = board.flash
    b2 = env.image("b-2.0.0-smp", "2.0.0")
    size = os.path.getsize(b2)
    rel = env.server.upload(b2)
    env.server.campaign(rel["id"], [{"percent": 100}])

    # 1. the board dies at about a third; the gateway stays and reconnects
    sent1 = kill_board_at(env, tap, board, size // 3)
    t_kill1 = tap.snapshot()[-1].t
    board = env.board(flash)  # power on again: same flash file, new QEMU
    q, a = resumed_offer(tap, t_kill1, gw)
    off1 = a.body["off"]
    assert 0 < off1 <= sent1 and off1 % 4096 == 0, (off1, sent1)  # a flash sector
    # requests after the offer's request: the tap decodes each direction on
    # its own thread, so a payload request may be stamped before the offer's
    # answer it follows (seen under load), never before the offer itself
    after1 = E.wait_for(lambda: payload_offsets(tap, q.t), 90, "payload after the resume")
    assert after1 and after1[0] == off1 and 0 not in after1, after1[:5]
    assert f"SMP upload RESUMED at byte {off1} of {size}" in gw.log_text()

    # 2. at about two thirds, the board and the gateway both die
    sent2 = kill_board_at(env, tap, board, 2 * size // 3)
    gw.stop(signal.SIGKILL)
    t_kill2 = tap.snapshot()[-1].t
    board = env.board(flash)
    gw.start()  # same config and state file
    E.wait_for(lambda: "success" in gw.report_states(), 120,
               f"success after the restarts; log:\n{gw.log_tail(40)}")
    q, a = resumed_offer(tap, t_kill2, gw)
    off2 = a.body["off"]
    assert off1 < off2 <= sent2, (off1, off2, sent2)
    after2 = payload_offsets(tap, q.t)
    assert after2[0] == off2 and 0 not in after2, after2[:5]
    log = gw.log_text()
    assert f"SMP upload: {size} payload bytes, 512 per request, RESUMING at the MCU's " \
           f"offset {off2}" in log, log[-3000:]
    # nothing was downloaded again: the spooled payload survived the restart
    assert log.count("GET /v1/artifacts/") == 1, log

    out = board.console()
    assert "app: running slot B version 2.0.0 (trial" in out, out
    E.wait_for(lambda: (lambda d: d["current_version"] == "2.0.0+0" and
                        d["slot_state"] == "confirmed")(
        env.server.api("GET", "/v1/devices/" + DEVICE)), 30, "inventory: confirmed on 2.0.0")
    assert gw.report_states()[-1] == "success"
    assert tap.errors == [], tap.errors


def test_gateway_restarted_before_the_boards_reset(env):
    """The gateway dies after the upload, before its reset reached the
    board (the tap loses the reset requests): the board still runs 1.0.0
    with 2.0.0 pending. Restarted, the gateway resets it first -- it must not
    take the old image running for a rollback -- then confirms the trial."""
    board, tap, gw = env.mcu("board-4", "a-1.0.0-smp", extra={"smp_boot_timeout": "5"})
    tap.drop = {(0, 5)}  # OS group reset
    rel = env.server.upload(env.image("b-2.0.0-smp", "2.0.0"))
    env.server.campaign(rel["id"], [{"percent": 100}])
    E.wait_for(lambda: "installed-rebooting" in gw.report_states() and tap.find(0, 5), 120,
               f"a reset request after the upload; log:\n{gw.log_tail(20)}")
    gw.stop(signal.SIGKILL)
    assert all(p.dropped for p in tap.find(0, 5))
    assert "app: SMP reset" not in board.console()
    tap.drop = set()
    gw.start()
    E.wait_for(lambda: "success" in gw.report_states(), 90,
               f"success after the restart; log:\n{gw.log_tail(30)}")
    assert gw.report_states() == ["downloading", "installing", "installed-rebooting", "success"]
    assert "an update is pending on the MCU and waits for its reset" in gw.log_text()
    out = board.console()
    assert out.count("app: SMP reset") == 1, out
    assert "app: running slot B version 2.0.0 (trial" in out, out
    assert tap.errors == [], tap.errors
