# SPDX-License-Identifier: Apache-2.0
"""fleet.rollout: ota-fleet (src/fleet) with 500 devices against the real
ota-server: a staged campaign of a healthy release completes with every
device on it (each offer verified by the core, the payload a verified
delta); a release whose trials roll back halts at its canary with the
server's reason; devices fed a manifest with a flipped signature bit refuse
it, the simulator counts it and the server holds their failure reports.
Also the command line: --help, a bad option.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "server"))
from conftest import Firmware, Server  # noqa: E402

FLEET_BIN = os.environ.get("OTA_FLEET_BIN",
                           os.path.join(os.environ.get("OTA_BUILD_DIR", "../../build"),
                                        "src/fleet/ota-fleet"))
N = 500
TAMPERED = 3
OTA_ERR_MANIFEST_SIG_INVALID = 151


def test_help_and_bad_option():
    p = subprocess.run([FLEET_BIN, "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and "Usage: ota-fleet" in p.stdout and "Exit codes:" in p.stdout
    p = subprocess.run([FLEET_BIN, "--devices", "0", "--trusted-key", "k", "--image", "i"],
                       capture_output=True, text=True)
    assert p.returncode == 2 and "--devices" in p.stderr
    # an unreadable key file is a file error (3), a file that is no key a key error (4)
    p = subprocess.run([FLEET_BIN, "--trusted-key", "/nonexistent.pem", "--image", "i"],
                       capture_output=True, text=True)
    assert p.returncode == 3 and "/nonexistent.pem" in p.stderr, p.stderr
    p = subprocess.run([FLEET_BIN, "--trusted-key", __file__, "--image", "i"],
                       capture_output=True, text=True)
    assert p.returncode == 4 and "key" in p.stderr, p.stderr


def test_rollout_completes_halts_and_refuses_tampering(tmp_path):
    fw = Firmware(tmp_path)
    base = bytes(range(256)) * 256
    imgs = {}
    for n, v in enumerate(["1.0.0", "1.1.0", "1.2.0"]):
        payload = bytearray(base)
        payload[1000 * n:1000 * n + 64] = os.urandom(64)  # small change: deltas pay
        imgs[v] = fw.image(v, payload=bytes(payload), hw_id="fleet-hw")
    srv = Server(tmp_path / "data", ["--per-ip-connections", "0", "--poll-interval", "2",
                                     "--no-access-log", "--trusted-key", fw.pub]).start()
    try:
        ids = {}
        for v in imgs:
            r = srv.upload(imgs[v])
            assert r.status == 201, r
            ids[v] = r.json()["id"]
        (tmp_path / "admin").write_text(srv.admin_token + "\n")
        (tmp_path / "v100.img").write_bytes(imgs["1.0.0"])
        (tmp_path / "a.json").write_text(json.dumps({
            "name": "healthy", "release_id": ids["1.1.0"], "stages": [
                {"percent": 20, "soak_seconds": 600, "min_finished": 60,
                 "max_failure_ratio": 0.1},
                {"percent": 100, "soak_seconds": 0, "min_finished": N}]}))
        (tmp_path / "b.json").write_text(json.dumps({
            "name": "rolls-back", "release_id": ids["1.2.0"], "stages": [
                {"percent": 20, "soak_seconds": 600, "min_finished": 20,
                 "max_failure_ratio": 0.1},
                {"percent": 100, "soak_seconds": 0, "min_finished": N}]}))
        summary = tmp_path / "summary.json"
        p = subprocess.run(
            [FLEET_BIN, "--server", srv.url, "--admin-token-file", str(tmp_path / "admin"),
             "--trusted-key", fw.pub, "--image", str(tmp_path / "v100.img"),
             "--devices", str(N), "--pool", "16", "--interval", "2", "--reboot", "0.2",
             "--clock-rate", "600", "--settle", "2", "--tamper", str(TAMPERED),
             "--outcome", "1.2.0=healthy:0.5,rollback:0.3,selftest:0.2",
             "--campaign", "complete:" + str(tmp_path / "a.json"),
             "--campaign", "halted:" + str(tmp_path / "b.json"),
             "--duration", "200", "--progress", "5", "--summary", str(summary)],
            capture_output=True, text=True, timeout=260)
        print(p.stderr[-3000:])
        assert p.returncode == 0, p.stderr[-3000:]
        s = json.loads(summary.read_text())
        assert s == json.loads(p.stdout)
        a, b = s["campaigns"]

        # 1. the healthy release reached every device but the tampered ones
        assert a["as_expected"] and a["rollout_complete"] and a["state"] == "active"
        assert a["counts"]["success"] == N - TAMPERED, a
        assert a["counts"]["failure"] == TAMPERED and a["counts"]["rolled-back"] == 0, a
        assert len(a["stages"]) == 2
        st = srv.admin("GET", f"/v1/campaigns/{a['id']}").json()
        assert st["rollout_complete"] and st["counts"]["success"] == N - TAMPERED, st
        # every payload was fetched and verified (deltas applied by the core)
        assert s["payloads"] and all(pl["state"] == "verified" for pl in s["payloads"]), s
        assert {pl["makes"] for pl in s["payloads"]} >= {"1.1.0+0"}
        assert s["manifests"]["verified"] >= N - TAMPERED
        v = s["versions"]
        assert v["1.0.0+0"] == TAMPERED, v
        assert v["1.1.0+0"] + v["1.2.0+0"] == N - TAMPERED, v

        # 2. the release that rolls back halted at its canary, with the reason
        assert b["as_expected"] and b["state"] == "halted" and b["stage"] == 0, b
        assert "failure ratio" in b["halt_reason"], b
        st = srv.admin("GET", f"/v1/campaigns/{b['id']}").json()
        assert st["state"] == "halted" and st["stage"] == 0
        assert st["halt_reason"] == b["halt_reason"]
        assert st["counts"]["rolled-back"] > 0
        # nobody beyond the canary runs 1.2.0
        assert v["1.2.0+0"] <= sum(st["counts"].values()), (v, st["counts"])
        assert not any(sum(c.values()) for c in st["counts_by_stage"][1:]), st

        # 3. tampered manifests: refused (three asks, as the agent), never accepted,
        #    counted by error, and the refusal reached the server
        t = s["tampered"]
        assert t["devices"] == TAMPERED and t["accepted"] == 0
        assert t["refused"] >= 3 * TAMPERED, t
        assert s["manifests"]["refused_by_error"] == {
            "OTA_ERR_MANIFEST_SIG_INVALID": t["refused"]}, s["manifests"]
        for i in range(1, TAMPERED + 1):
            dev = f"fleet-{i:06d}"
            reps = srv.admin("GET", f"/v1/devices/{dev}/reports").json()["reports"]
            fails = [r for r in reps if r["campaign_id"] == a["id"]]
            assert [r["state"] for r in fails] == ["failure"], reps
            assert fails[0]["code"] == OTA_ERR_MANIFEST_SIG_INVALID
            assert "OTA_ERR_MANIFEST_SIG_INVALID" in fails[0]["detail"]
        # an untampered device: the full report sequence of its update
        reps = srv.admin("GET", f"/v1/devices/fleet-{N:06d}/reports").json()["reports"]
        states = [r["state"] for r in reps if r["campaign_id"] == a["id"]]
        assert states == ["downloading", "installing", "installed-rebooting", "success"], reps

        # health reports went out (a server without the health route: 404s, counted)
        h = s["health"]
        assert h["sent"] + h["not_found"] > 0 and h["errors"] == 0, h
        assert s["http"]["5xx"] == 0
    finally:
        srv.stop()
