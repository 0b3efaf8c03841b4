# SPDX-License-Identifier: Apache-2.0
"""
test_linux_grub.py - the Linux A/B backend (backend = linux, bootloader =
grub) through the real ota-agent binary, a real ota-server and the real
grub-editenv on plain-file slots: factory provisioning, a full update, a
delta update, a download killed half way and resumed by the next process,
a trial whose self-test fails (and one that never confirms) ending in
`rolled-back`, and bad input refused before anything is written. A "reboot"
re-runs the agent after doing what dist/linux/grub.cfg does (linuxdev.py).
"""

import hashlib
import json
import os
import signal
import struct
import time

import linuxdev as L
from linuxdev import E, keys, servers, work  # noqa: F401 (fixtures)


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def file_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def provisioned(work, keys, s, name, **kw):
    """A device on v1 in slot A, booted and marked good."""
    fs1 = L.make_rootfs(work, "1.0.0")
    v1 = L.sign(work, keys, fs1, "1.0.0", 1)
    s.upload(v1)
    d = L.LinuxDevice(work, name, s, keys, **kw)
    d.provision("A", v1)
    assert d.boot() == "A"
    d.agent("--confirm", check_rc=0)
    return d, fs1, v1


def test_provision_writes_filesystem_at_offset_0_and_header_in_tail(work, keys, servers):
    s = servers("--no-delta")
    d, fs1, v1 = provisioned(work, keys, s, "prov-1")
    fs = file_bytes(fs1)
    img = file_bytes(v1)
    # the filesystem exactly as built, from byte 0 (mountable as is)
    assert d.slot_bytes("A", len(fs)) == fs
    # header then TLVs in the slot's last 64 KiB
    hdr_size = struct.unpack_from("<H", img, 8)[0]
    meta = d.slot_meta("A")
    assert meta[:hdr_size] == img[:hdr_size]
    assert meta[hdr_size:hdr_size + len(img) - hdr_size - len(fs)] == img[hdr_size + len(fs):]
    env = d.env()
    assert env["ORDER"] == "A B" and env["A_OK"] == "1" and env["A_TRY"] == "0"
    assert env["B_OK"] == "0" and env["OTA_SECURITY_COUNTER"] == "1"

    # the boot-time check reads it back from there
    assert d.agent("--verify-slot", "A") == 0
    assert "slot A" in d.log_text() and "valid: version 1.0.0" in d.log_text()
    assert d.agent("--verify-slot", "B") == 5  # blank: OTA_EXIT_MALFORMED
    with open(d.slots[0], "r+b") as f:  # one flipped bit in the filesystem
        f.seek(len(fs) // 2)
        b = f.read(1)
        f.seek(len(fs) // 2)
        f.write(bytes([b[0] ^ 1]))
    assert d.agent("--verify-slot", "A") == 8  # OTA_EXIT_HASH
    assert "OTA_ERR_IMAGE_HASH_MISMATCH" in d.log_text()


def test_full_update_then_confirm(work, keys, servers):
    s = servers("--no-delta")
    d, fs1, v1 = provisioned(work, keys, s, "full-1")
    fs2 = L.make_rootfs(work, "2.0.0", extra=os.urandom(200000))
    v2 = L.sign(work, keys, fs2, "2.0.0", 2)
    r2 = s.upload(v2)
    slot_a = digest(d.slots[0])
    c = s.campaign(r2["id"], [{"percent": 100}])

    d.agent("--once", check_rc=20)  # installed: reboot
    log = d.log_text()
    assert "full payload" in log
    assert digest(d.slots[0]) == slot_a, "the running slot was written"
    assert d.slot_bytes("B", os.path.getsize(fs2)) == file_bytes(fs2)
    env = d.env()
    assert env["ORDER"] == "B A" and env["B_OK"] == "1" and env["B_TRY"] == "0", env

    # not rebooted yet: the agent asks again and does nothing else
    d.agent("--once", check_rc=20)
    assert "waits for a reboot" in d.log_text()

    assert d.boot() == "B"
    assert d.env()["B_TRY"] == "1"
    d.agent("--confirm", check_rc=0)
    env = d.env()
    assert env["B_TRY"] == "0" and env["B_OK"] == "1" and env["OTA_SECURITY_COUNTER"] == "2"
    d.agent("--once", check_rc=0)
    E.wait_for(lambda: "success" in d.report_states(), 20, "success report")
    assert d.report_states() == ["downloading", "installing", "installed-rebooting", "success"]
    assert s.campaign_status(c["id"])["counts"]["success"] == 1
    with open(d.dir + "/agent-state.json.linux") as f:
        assert "security_counter=2" in f.read()

    # anti-rollback: 1.0.0 (counter 1) is refused from now on, also when one
    # of the floor's two copies is lost; nothing is written
    a = digest(d.slots[0])
    assert d.agent("--provision", "A", v1) == 12  # OTA_EXIT_ROLLBACK
    os.unlink(d.dir + "/agent-state.json.linux")
    assert d.agent("--provision", "A", v1) == 12
    assert "OTA_ERR_IMAGE_ROLLBACK" in d.log_text()
    assert digest(d.slots[0]) == a


def test_delta_update_confirmed_by_the_agent_loop(work, keys, servers):
    s = servers()
    d, fs1, v1 = provisioned(work, keys, s, "delta-1")
    fs2 = L.make_rootfs(work, "1.1.0")
    v2 = L.sign(work, keys, fs2, "1.1.0", 2)
    r2 = s.upload(v2)
    s.campaign(r2["id"], [{"percent": 100}])
    # the agent loop (the server offers the delta once it has made it)
    d.agent(check_rc=20, timeout=60)
    log = d.log_text()
    assert "delta payload" in log, log
    size = int(log.split("delta payload ")[1].split(" ")[0])
    assert size < os.path.getsize(v2) // 4, "delta of %d bytes" % size
    assert d.slot_bytes("B", os.path.getsize(fs2)) == file_bytes(fs2)
    assert d.boot() == "B"
    # no --confirm unit this time: the loop self-tests and confirms the trial
    d.agent("--once", check_rc=0)
    assert "self-test passed, confirming" in d.log_text()
    env = d.env()
    assert env["B_TRY"] == "0" and env["ORDER"] == "B A"
    E.wait_for(lambda: "success" in d.report_states(), 20, "success report")


def test_encrypted_image_lands_as_plaintext_filesystem(work, keys, servers):
    """An image encrypted for the device (ota sign --encrypt) is opened with
    enc_key; the slot receives the filesystem in the clear, mountable; the
    trial is confirmed and reported under the published digest. A device
    without enc_key refuses the same offer before anything is written."""
    s = servers("--no-delta")
    d, fs1, v1 = provisioned(work, keys, s, "enc-1")
    d2 = L.LinuxDevice(work, "enc-2", s, keys)
    d2.provision("A", v1)
    assert d2.boot() == "A"
    priv, pub = E.enc_keygen(work)
    d.write_conf({"enc_key": priv})
    fs2 = L.make_rootfs(work, "2.0.0", extra=os.urandom(100000))
    v2 = L.sign(work, keys, fs2, "2.0.0", 2, encrypt=pub)
    assert file_bytes(v2).find(file_bytes(fs2)[:4096]) < 0  # really encrypted
    # ratio 1: enc-2's refusal must not halt the campaign before enc-1
    s.campaign(s.upload(v2)["id"], [{"percent": 100, "max_failure_ratio": 1}])

    b = digest(d2.slots[1])
    d2.agent("--once", check_rc=0)
    E.wait_for(lambda: "failure" in d2.report_states(), 20, "failure report")
    rep = [r for r in s.reports(d2.name) if r["state"] == "failure"][0]
    assert "OTA_ERR_IMAGE_ENC_NO_KEY" in rep["detail"], rep
    assert digest(d2.slots[1]) == b

    d.agent(check_rc=20, timeout=60)
    assert d.slot_bytes("B", os.path.getsize(fs2)) == file_bytes(fs2)
    assert d.boot() == "B"
    d.agent("--once", check_rc=0)
    E.wait_for(lambda: "success" in d.report_states(), 20, "success report")
    assert d.agent("--verify-slot", "B") == 0


def rerun_after_kill(d, slot_a):
    """After the agent was killed mid-install: the running slot untouched, the
    target not bootable; the next agent (straight to the server) installs.
    Returns the log."""
    assert digest(d.slots[0]) == slot_a, "the running slot was written"
    assert d.env()["B_OK"] == "0", "a half-written slot must not be bootable"
    d.write_conf()  # straight to the server
    d.agent("--once", check_rc=20)
    return d.log_text()


def test_download_killed_then_resumed_by_next_process(work, keys, servers):
    from faultproxy import FaultProxy
    s = servers("--no-delta")
    d, fs1, v1 = provisioned(work, keys, s, "resume-1")
    fs2 = L.make_rootfs(work, "2.0.0", size_mib=11, extra=os.urandom(8 << 20))
    v2 = L.sign(work, keys, fs2, "2.0.0", 2)
    r2 = s.upload(v2)
    slot_a = digest(d.slots[0])
    proxy = FaultProxy(("127.0.0.1", s.port), bytes_per_s=3 << 20).start()
    try:
        d.write_conf({"server": "http://127.0.0.1:%d" % proxy.port})
        s.campaign(r2["id"], [{"percent": 100}])
        p = d.spawn()

        def progressed():
            try:
                with open(d.state) as f:
                    st = json.load(f)
            except (OSError, ValueError):
                return False
            return st.get("progress", {}).get("offset", 0) >= 4 << 20
        E.wait_for(progressed, 60, "a durable checkpoint of 4 MiB")
        p.send_signal(signal.SIGKILL)
        p.wait()
    finally:
        proxy.stop()
    log = rerun_after_kill(d, slot_a)
    assert "RESUMING at byte" in log, log
    at = int(log.split("RESUMING at byte ")[1].split(" ")[0])
    assert at >= 4 << 20 and at % 65536 == 0
    assert d.slot_bytes("B", os.path.getsize(fs2)) == file_bytes(fs2)
    assert d.boot() == "B"
    d.agent("--confirm", check_rc=0)
    d.agent("--once", check_rc=0)
    E.wait_for(lambda: "success" in d.report_states(), 20, "success report")


def test_delta_killed_mid_apply_then_resumed(work, keys, servers):
    """A delta install killed half way (SIGKILL after a resume state was
    kept) continues in the next process from that state -- patch byte,
    decoder and slot writer -- instead of byte 0, and gives the exact new
    filesystem (docs/linux.md#delta-updates-of-the-root-filesystem)."""
    delta_killed_and_resumed(work, keys, servers, "dresume-1", lambda v: os.urandom(2 << 20),
                             (1,))


def gzip_pages(version):
    """Man-page sized gzip members zlib reproduces (a --deflate patch finds
    them: version 2 or 3), a few words changed between versions, between
    random blocks (coded as literals: most of the patch lies outside the
    new deflate streams, where the applier can be suspended)."""
    import gzip
    out = []
    for k in range(8):
        words = ["page%d word%d %s" % (k, i, version if i % 997 == 0 else "")
                 for i in range(12000)]
        out.append(os.urandom(128 << 10))
        out.append(gzip.compress(" ".join(words).encode(), 6, mtime=0))
    return b"".join(out + [os.urandom(1 << 20)])


def test_delta_deflate_killed_mid_apply_then_resumed(work, keys, servers):
    """The same with a --deflate patch (version 2/3: the server's default
    for a filesystem with gzip members): the state kept between two new
    deflate streams, with the patch's stream table, resumes at a non-zero
    patch byte and gives the exact new filesystem."""
    delta_killed_and_resumed(work, keys, servers, "dresume-2", gzip_pages, (2, 3))


def zlib_blocks(version):
    """A squashfs-like region (mksquashfs -comp gzip): 128 KiB blocks, each
    a zlib stream, back to back; each block's second half random and new in
    every version (coded as literals: the patch's bytes lie inside new
    deflate streams, and a write almost never ends between two)."""
    import random
    import zlib
    out = []
    for k in range(24):
        words = " ".join("block%d word%d" % (k, i) for i in range(6000)).encode()
        rnd = random.Random("%s-%d" % (version, k)).randbytes(64 << 10)
        out.append(zlib.compress(words[:64 << 10] + rnd, 9))
    return b"".join(out)


def test_delta_squashfs_like_killed_mid_apply_then_resumed(work, keys, servers):
    """The same with zlib streams back to back (squashfs): the engine stops
    the applier where a new stream starts to keep the state
    (ota_update_want_checkpoint_delta), so the install resumes at a non-zero
    patch byte instead of byte 0 and gives the exact new filesystem. The
    first state is kept soon after 256 KiB of patch (before, only by luck:
    almost never before the last stream ended)."""
    delta_killed_and_resumed(work, keys, servers, "dresume-3", zlib_blocks, (2, 3), 0.6)


def delta_killed_and_resumed(work, keys, servers, name, extra, versions, at_most=1.0):
    from faultproxy import FaultProxy
    s = servers()
    d = L.LinuxDevice(work, name, s, keys)
    fs1 = L.make_rootfs(work, "1.0.0", size_mib=10, extra=extra("1.0.0"))
    v1 = L.sign(work, keys, fs1, "1.0.0", 1)
    s.upload(v1)
    d.provision("A", v1)
    assert d.boot() == "A"
    d.agent("--confirm", check_rc=0)
    fs2 = L.make_rootfs(work, "1.1.0", size_mib=10, extra=extra("1.1.0"))
    v2 = L.sign(work, keys, fs2, "1.1.0", 2)
    r2 = s.upload(v2)
    slot_a = digest(d.slots[0])
    delta_state = d.dir + "/agent-state.json.linux.delta"
    proxy = FaultProxy(("127.0.0.1", s.port), bytes_per_s=256 << 10).start()
    try:
        d.write_conf({"server": "http://127.0.0.1:%d" % proxy.port})
        s.campaign(r2["id"], [{"percent": 100}])
        p = d.spawn()
        # the server makes the delta first (the agent waits for it)
        E.wait_for(lambda: "delta payload" in d.log_text() or p.poll() is not None, 240,
                   "the delta offer")
        assert "delta payload" in d.log_text(), d.log_tail()
        E.wait_for(lambda: os.path.exists(delta_state) and
                   os.path.getsize(delta_state) > 10000, 60, "a kept delta resume state")
        time.sleep(0.3)
        p.send_signal(signal.SIGKILL)
        p.wait()
    finally:
        proxy.stop()
    assert "delta payload" in d.log_text(), d.log_tail()
    log = rerun_after_kill(d, slot_a)
    assert "delta install resumed at patch byte " in log, log
    at = int(log.split("delta install resumed at patch byte ")[1].split(" ")[0])
    size = int(log.split("delta payload ")[1].split(" ")[0])
    assert 0 < at < size * at_most, (at, size)
    version = int(log.split("(patch version ")[1].split(",")[0])
    assert version in versions, (version, versions)
    assert "RESUMING at byte %d" % at in log
    # the resumed install itself succeeded (not a restart from byte 0 after
    # it failed: ota_update_finish once refused every resumed delta)
    assert "did not verify" not in log and "from byte 0 of" not in log.split("RESUMING")[1], log
    assert not os.path.exists(delta_state), "kept after the install finished"
    assert digest(d.slots[0]) == slot_a
    assert d.slot_bytes("B", os.path.getsize(fs2)) == file_bytes(fs2)
    assert d.boot() == "B"
    d.agent("--confirm", check_rc=0)
    d.agent("--once", check_rc=0)
    E.wait_for(lambda: "success" in d.report_states(), 20, "success report")


def test_selftest_failure_falls_back_and_reports_rolled_back(work, keys, servers):
    s = servers("--no-delta")
    d, fs1, v1 = provisioned(work, keys, s, "fail-1")
    fs2 = L.make_rootfs(work, "2.0.0", extra=b"broken")
    v2 = L.sign(work, keys, fs2, "2.0.0", 2)
    r2 = s.upload(v2)
    s.campaign(r2["id"], [{"percent": 100}])
    d.agent("--once", check_rc=20)
    assert d.boot() == "B"
    open(d.selftest_flag, "w").close()  # the new system is broken
    d.agent("--confirm", check_rc=21)
    env = d.env()
    assert env["B_OK"] == "0", env
    os.unlink(d.selftest_flag)
    assert d.boot() == "A"  # the bootloader falls back
    d.agent("--confirm", check_rc=0)
    d.agent("--once", check_rc=0)
    E.wait_for(lambda: "rolled-back" in d.report_states(), 20, "rolled-back report")
    rep = [r for r in s.reports(d.name) if r["state"] == "rolled-back"][0]
    assert "failed its self-test" in rep["detail"], rep
    env = d.env()
    assert env["ORDER"] == "A B" and env["A_OK"] == "1" and env["A_TRY"] == "0"
    assert env["OTA_SECURITY_COUNTER"] == "1"  # never raised for the failed release


def test_trial_never_confirmed_falls_back(work, keys, servers):
    s = servers("--no-delta")
    d, fs1, v1 = provisioned(work, keys, s, "crash-1")
    fs2 = L.make_rootfs(work, "2.0.0", extra=b"panics")
    v2 = L.sign(work, keys, fs2, "2.0.0", 2)
    s.campaign(s.upload(v2)["id"], [{"percent": 100}])
    d.agent("--once", check_rc=20)
    assert d.boot() == "B"
    # the kernel panics: nothing runs; GRUB's one try is used up
    assert d.boot() == "A"
    d.agent("--once", check_rc=0)  # the loop reconciles the boot itself
    E.wait_for(lambda: "rolled-back" in d.report_states(), 20, "rolled-back report")
    rep = [r for r in s.reports(d.name) if r["state"] == "rolled-back"][0]
    assert "never confirmed" in rep["detail"], rep
    assert d.env()["B_OK"] == "0"


def test_bad_input_refused_before_anything_is_written(work, keys, servers):
    s = servers("--no-delta")
    fs1 = L.make_rootfs(work, "1.0.0", size_mib=1)
    v1 = L.sign(work, keys, fs1, "1.0.0", 1)
    s.upload(v1)
    # slot B holds 2 MiB: a 4 MiB filesystem does not fit
    d = L.LinuxDevice(work, "small-1", s, keys)
    with open(d.slots[1], "wb") as f:
        f.truncate(2 << 20)
    d.provision("A", v1)
    assert d.boot() == "A"
    d.agent("--confirm", check_rc=0)
    fs2 = L.make_rootfs(work, "2.0.0")
    v2 = L.sign(work, keys, fs2, "2.0.0", 2)
    s.campaign(s.upload(v2)["id"], [{"percent": 100}])
    env, a, b = d.env(), digest(d.slots[0]), digest(d.slots[1])
    d.agent("--once", check_rc=0)
    E.wait_for(lambda: "failure" in d.report_states(), 20, "failure report")
    rep = [r for r in s.reports(d.name) if r["state"] == "failure"][0]
    assert "OTA_ERR_IMAGE_TOO_LARGE" in rep["detail"], rep
    assert (d.env(), digest(d.slots[0]), digest(d.slots[1])) == (env, a, b)

    # an image for other hardware: refused, slot untouched
    other = L.sign(work, keys, fs1, "1.0.0", 1, hw="other-board")
    assert d.agent("--provision", "B", other) == 11  # OTA_EXIT_HW_ID
    assert "OTA_ERR_IMAGE_HW_MISMATCH" in d.log_text() or "hardware" in d.log_text()
    assert (d.env(), digest(d.slots[0]), digest(d.slots[1])) == (env, a, b)

    # a slot path that does not exist
    d.write_conf({"slot_b": os.path.join(d.dir, "no-such-slot")})
    assert d.agent("--once") == 3  # OTA_EXIT_FILE
    assert "slot_b" in d.log_text() and "cannot open" in d.log_text()

    # an environment that cannot be written (its directory does not exist)
    d.write_conf({"grubenv": os.path.join(d.dir, "missing", "grubenv")})
    assert d.agent("--once") == 3
    assert "grub-editenv" in d.log_text()

    # no running slot on the command line: never guessed
    d.write_conf()
    with open(d.cmdline, "w") as f:
        f.write("console=ttyS0 quiet\n")
    assert d.agent("--once") == 15  # OTA_EXIT_CONFIG
    assert "no ota.slot=A|B" in d.log_text()
    # root= naming a slot is enough (root=PARTUUID= resolves the same way)
    with open(d.cmdline, "w") as f:
        f.write("root=%s rw\n" % d.slots[0])
    d.agent("--once", check_rc=0)
    assert (digest(d.slots[0]), digest(d.slots[1])) == (a, b)
    # root= through a symlink (as /dev/disk/by-partuuid/... is) names slot B
    os.symlink(d.slots[1], os.path.join(d.dir, "vda3"))
    with open(d.cmdline, "w") as f:
        f.write("root=%s rw\n" % os.path.join(d.dir, "vda3"))
    d.agent("--confirm", check_rc=0)
    assert "slot B marked good" in d.log_text() and d.env()["ORDER"] == "B A"
    with open(d.cmdline, "w") as f:
        f.write("root=%s rw\n" % d.slots[0])
    # --provision never writes the slot the system runs from
    assert d.agent("--provision", "A", v1) == 1
    assert "is the running slot" in d.log_text()
    assert (digest(d.slots[0]), digest(d.slots[1])) == (a, b)
