# SPDX-License-Identifier: Apache-2.0
"""Durability: kill -9 the server in the middle of a stream of status
reports from several devices, restart it, and find every acknowledged report
(and the campaign state they imply) stored."""
import threading
import time

from conftest import offer_manifest

STATES = ["downloading", "installing", "installed-rebooting"]


def test_kill9_during_report_stream_loses_no_acknowledged_report(server_factory, fw):
    s = server_factory().start()
    rel = s.upload(fw.image("2.0.0")).json()
    devs = {f"k-{i}": s.add_device(f"k-{i}") for i in range(4)}
    cid = s.campaign(rel["id"])["id"]
    for d, t in devs.items():
        offer_manifest(s.checkin(d, t))
    acked = {d: [] for d in devs}
    errors = {d: 0 for d in devs}
    stop = threading.Event()

    def stream(dev, tok):
        seq = 0
        while not stop.is_set():
            seq += 1
            try:
                r = s.report(dev, tok, cid, STATES[seq % 3], code=seq, detail=f"seq={seq}")
            except Exception:  # connection reset when the server dies
                errors[dev] += 1
                if errors[dev] > 3:
                    return
                continue
            if r.status == 201:
                acked[dev].append((r.json()["report_id"], seq))

    threads = [threading.Thread(target=stream, args=(d, t)) for d, t in devs.items()]
    for th in threads:
        th.start()
    deadline = time.time() + 30
    while sum(len(v) for v in acked.values()) < 200 and time.time() < deadline:
        time.sleep(0.01)
    s.kill9()  # mid-stream: requests are in flight
    stop.set()
    for th in threads:
        th.join(30)
    total = sum(len(v) for v in acked.values())
    assert total >= 200, f"only {total} reports acknowledged before the kill"

    s2 = server_factory().start()
    s2.admin_token = s.admin_token
    for dev, got in acked.items():
        stored = s2.admin("GET", f"/v1/devices/{dev}/reports?limit=10000").json()["reports"]
        by_id = {x["id"]: x for x in stored}
        for rid, seq in got:
            assert rid in by_id, f"acknowledged report {rid} of {dev} lost"
            assert by_id[rid]["detail"] == f"seq={seq}" and by_id[rid]["code"] == seq
        # Nothing invented: stored reports are a gap-free prefix of what was sent.
        seqs = sorted(x["code"] for x in stored)
        assert seqs == list(range(1, len(seqs) + 1))
        assert len(seqs) >= len(got)
    # The campaign's view survived too, and the server keeps working.
    st = s2.status(cid)
    assert st["in_progress"] == 4
    d0, t0 = next(iter(devs.items()))
    assert s2.report(d0, t0, cid, "success").status == 201
    assert s2.status(cid)["counts"]["success"] == 1
