# SPDX-License-Identifier: Apache-2.0
"""
test_e2e_faults.py - the update under faults, end to end:
  - downloads through the fault-injection proxy (truncated, corrupted, reset
    and stalled connections, seeded): hundreds of attempts, never a corrupted
    or unverified image installed, every device ends on the new version;
  - power cut inside the simulated flash at operations sampled over the whole
    update (download, install, reboot, confirm), both cut models: the device
    boots the old image (or the verified new one) and completes the update;
  - ota-server killed (-9) and restarted mid-campaign.
Each test prints its counts (attempts, faults injected, outcomes).
"""

import json
import re
import signal
import time

import otae2e as E
from faultproxy import FaultProxy

BIG = 200000  # firmware payload bytes for the network-fault runs


def on_version(dev, version):
    return lambda: dev.confirmed_version() == version and dev.version() == version


def image_hash(status, version):
    for s in status["slots"]:
        if s.get("version") == version:
            return s["hash"]
    return None


def count(pattern, text):
    return len(re.findall(pattern, text))


def test_downloads_through_faulty_network(env):
    """A fleet takes nine successive releases through a network that breaks
    most connections."""
    s = env.start_server("--no-delta")
    versions = ["%d.0.0" % i for i in range(1, 11)]
    images = [env.image(v, i + 1, size=BIG) for i, v in enumerate(versions)]
    releases = [s.upload(img) for img in images]
    proxy = FaultProxy(("127.0.0.1", s.port), seed=20261125, rate=0.7,
                       kinds=["truncate", "truncate", "corrupt", "corrupt", "reset", "stall"],
                       max_offset=BIG // 2, stall_s=2.5, near_start=0.25).start()
    env.proxies.append(proxy)
    url = "http://127.0.0.1:%d" % proxy.port
    fleet = [env.device("net-%02d" % i, images[0], server_url=url,
                        extra_conf={"max_download_attempts": "50"}) for i in range(12)]
    for d in fleet:
        d.start()
    for k in range(1, len(versions)):
        want = versions[k] + "+0"
        s.campaign(releases[k]["id"], [{"percent": 100}])
        for d in fleet:
            E.wait_for(on_version(d, want), 150, "%s on %s" % (d.name, want), interval=0.3)
    for d in fleet:
        E.wait_for(lambda: d.report_states().count("success") == len(versions) - 1, 60,
                   "%s success reports" % d.name)
        d.stop()
    proxy.stop()
    st = proxy.stats()

    final = versions[-1] + "+0"
    good_hash = image_hash(fleet[0].status(), final)
    totals = {"attempts": 0, "interrupted": 0, "resumed": 0, "rejected_payloads": 0,
              "checkin_failures": 0, "installed": 0}
    for d in fleet:
        log = d.log_text()
        # what runs is exactly the signed final image (its hash TLV checked by
        # the bootloader), and nothing but the released versions ever booted
        assert image_hash(d.status(), final) == good_hash
        booted = set(re.findall(r"running slot \w, version (\S+)", log))
        assert booted <= {v + "+0" for v in versions}, booted
        assert "REVERTED" not in log and "RECOVERY" not in log
        states = d.report_states()
        assert "failure" not in states and "rolled-back" not in states, states
        for v in versions[1:]:
            assert log.count("installed %s+0: verified and pending" % v) == 1, v
        totals["installed"] += count(r"verified and pending", log)
        totals["interrupted"] += count(r"download interrupted", log)
        totals["resumed"] += count(r"GET \S+ from byte [1-9]", log)
        totals["rejected_payloads"] += count(r"damaged in transit\? discarding", log)
        totals["checkin_failures"] += count(r"check-in failed|cannot start the update|"
                                            r"asking again", log)
        totals["attempts"] += count(r"GET \S+ from byte", log)
    print("\nfault-proxy run: %d devices x %d updates of %d-byte images; %d connections "
          "through the proxy, %d faults injected (%s); %d download attempts: %d interrupted, "
          "%d continued from the byte reached (Range), %d payloads refused by the engine "
          "(corruption caught); %d failed or refused check-ins (damaged answers/manifests); outcome: %d verified installs, "
          "%d/%d devices on %s, 0 corrupted images installed"
          % (len(fleet), len(versions) - 1, BIG, st["connections"], st["faults_total"],
             ", ".join("%s %d" % kv for kv in sorted(st["faults_injected"].items())),
             totals["attempts"], totals["interrupted"], totals["resumed"],
             totals["rejected_payloads"], totals["checkin_failures"], totals["installed"],
             len(fleet), len(fleet), final))
    assert totals["installed"] == len(fleet) * (len(versions) - 1)
    assert totals["attempts"] >= 200, (st, totals)
    assert st["connections"] >= 100, (st, totals)
    assert all(v > 0 for v in st["faults_injected"].values()), st
    assert totals["interrupted"] > 0 and totals["rejected_payloads"] > 0, totals
    assert totals["resumed"] > 0 and totals["checkin_failures"] > 0, totals


def classify_cut(log):
    """Which phase the first power cut hit, from the agent's log lines."""
    lines = log.splitlines()
    for i, line in enumerate(lines):
        if "POWER CUT" in line:
            if "during boot" in line:
                return "boot"
            for prev in reversed(lines[:i]):
                if "[" not in prev:
                    continue
                if "payload complete" in prev or "reported installing" in prev:
                    return "install"
                if "offer:" in prev or "reported downloading" in prev or \
                        "download interrupted" in prev:
                    return "download"
                if "rebooting into" in prev or "installed-rebooting" in prev:
                    return "reboot"
                if "self-test passed" in prev or "TRIAL" in prev:
                    return "confirm"
                if "boot #" in prev:
                    return "download"
            return "other"
    return None


def power_cut_loop(env, tag, sim_args=(), every_last=16, spread=14):
    """Cut power at flash operations sampled over one whole update (v1 -> v2,
    both cut models) of devices run with `sim_args` (e.g. the flash's
    durability mode): every device must boot only verified images, end
    confirmed on v2 and never misuse the NOR flash. Returns the cut phases."""
    s = env.start_server("--no-delta")
    v1 = env.image("1.0.0", 1)
    v2 = env.image("2.0.0", 2)
    s.upload(v1)
    r2 = s.upload(v2)
    # a reference device counts the flash operations of one whole update
    ref = env.device("%s-ref" % tag, v1)
    ops0 = ref.status()["flash_ops"]["operations"]
    s.campaign(r2["id"], [{"percent": 100}])
    ref.start(*sim_args)
    E.wait_for(on_version(ref, "2.0.0+0"), 60, "reference on 2.0.0")
    E.wait_for(lambda: "success" in ref.report_states(), 20, "reference success")
    ref.stop()
    total = ref.status()["flash_ops"]["operations"] - ops0
    assert total > 50

    # spread over the download, and every one of the last operations
    # (end of download, install: flush + pending mark, trial boot, confirm)
    points = sorted(set([1, 2, 5, 10] + [total * k // spread for k in range(1, spread)] +
                        list(range(total - every_last, total))))
    results = {}
    cases = [(n, mode) for mode in ("before", "torn") for n in points]
    batch = 8
    for i in range(0, len(cases), batch):
        devs = []
        for n, mode in cases[i:i + batch]:
            d = env.device("%s-%s-%d" % (tag, mode, n), v1)
            d.start("--power-cut-at", str(n), "--cut-mode", mode, "--cut-seed", str(n),
                    *sim_args)
            devs.append((n, mode, d))
        for n, mode, d in devs:
            E.wait_for(on_version(d, "2.0.0+0"), 90, "%s on 2.0.0 after the cut" % d.name)
            E.wait_for(lambda: "success" in d.report_states(), 30, "%s success" % d.name)
            d.stop()
            log = d.log_text()
            assert "POWER CUT" in log, d.name
            assert "RECOVERY" not in log
            versions = set(re.findall(r"running slot \w, version (\S+)", log))
            assert versions <= {"1.0.0+0", "2.0.0+0"}, versions
            phase = classify_cut(log)
            results.setdefault(phase, 0)
            results[phase] += 1
            assert d.status()["flash_ops"]["nor_violations"] == 0
    print("\npower cuts (%s): %d cut points over an update of %d flash operations, both "
          "models; by phase: %s; every device booted a verified image after the cut and "
          "ended confirmed on 2.0.0" % (" ".join(sim_args) or "writes durable at once",
                                        len(cases), total,
                                        ", ".join("%s %d" % kv for kv in sorted(results.items()))))
    return results


def test_power_cut_during_download_and_install(env):
    results = power_cut_loop(env, "cut")
    for phase in ("download", "install", "boot", "confirm"):
        assert results.get(phase, 0) > 0, (phase, results)


def test_server_restart_mid_campaign(env):
    s = env.start_server("--no-delta")
    v1 = env.image("1.0.0", 1)
    v2 = env.image("2.0.0", 2)
    s.upload(v1)
    r2 = s.upload(v2)
    fleet = [env.device("restart-%02d" % i, v1) for i in range(6)]
    c = s.campaign(r2["id"], [{"percent": 100}])
    first, rest = fleet[:3], fleet[3:]
    for d in first:
        d.start()
    E.wait_for(lambda: any("success" in d.report_states() for d in first), 60, "first success")
    s.stop(signal.SIGKILL)
    for d in rest:
        d.start()  # they find the server gone and back off
    time.sleep(2)
    s.start()
    for d in fleet:
        E.wait_for(on_version(d, "2.0.0+0"), 90, "%s on 2.0.0" % d.name)
        E.wait_for(lambda: "success" in d.report_states(), 60, "%s success report" % d.name)
    st = s.campaign_status(c["id"])
    assert st["counts"]["success"] == len(fleet), st["counts"]
    retries = sum(count(r"check-in failed|not delivered", d.log_text()) for d in fleet)
    print("\nserver restart: %d devices, %d failed check-ins/reports retried while the server "
          "was down, all %d on 2.0.0 with success recorded" % (len(fleet), retries, len(fleet)))
    assert retries > 0


def test_agent_killed_mid_download_resumes(env):
    """kill -9 of the device in the middle of a (slow) download: after the
    restart the agent re-verifies the written prefix from flash and resumes
    with a Range request instead of starting over."""
    s = env.start_server("--no-delta")
    v1 = env.image("1.0.0", 1, size=BIG)
    v2 = env.image("2.0.0", 2, size=BIG)
    s.upload(v1)
    r2 = s.upload(v2)
    proxy = FaultProxy(("127.0.0.1", s.port), bytes_per_s=100000).start()
    env.proxies.append(proxy)
    d = env.device("killed-1", v1, server_url="http://127.0.0.1:%d" % proxy.port)
    s.campaign(r2["id"], [{"percent": 100}])
    d.start()
    state = d.flash + ".agent-state"

    def progress():
        try:
            with open(state) as f:
                st = json.load(f)
        except (OSError, ValueError):
            return 0
        return st.get("progress", {}).get("offset", 0)
    E.wait_for(lambda: progress() >= 65536, 30, "download progress persisted")
    d.stop(signal.SIGKILL)
    killed_at = progress()
    assert 0 < killed_at < BIG
    d.start()
    E.wait_for(on_version(d, "2.0.0+0"), 60, "killed-1 on 2.0.0")
    E.wait_for(lambda: "success" in d.report_states(), 20, "success")
    log = d.log_text()
    m = re.search(r"RESUMING at byte (\d+) \(prefix re-verified from flash\)", log)
    assert m, log
    assert int(m.group(1)) >= killed_at - 4096 and int(m.group(1)) > 0
    assert re.search(r"GET \S+ from byte %s " % m.group(1), log)
    print("\nkill -9 mid-download: progress persisted at byte %d; after the restart the "
          "agent resumed at byte %s of %d" % (killed_at, m.group(1), BIG + 0))
