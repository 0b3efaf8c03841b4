# SPDX-License-Identifier: Apache-2.0
"""
test_linux_delta.py - deflate-aware delta patches reach the devices that can
apply them, end to end: a root filesystem full of GNU gzip'd files (small
ones zlib reproduces, a large one only the token form does), ota-server
generating patches per delta feature set, the real ota-agent (Linux backend
on plain-file slots, linuxdev.py) saying "delta_features": ["deflate"] and
installing the version 3 patch byte for byte, and a device that does not
say it (a raw check-in, as ota-sim and microcontrollers make) offered a
version 1 patch of the same pair in coder model 1, which every applier
decodes; one that says only "model2" a version 1 patch in model 2.
"""

import hashlib
import os
import random
import subprocess
import time

import linuxdev as L
from linuxdev import E, keys, servers, work  # noqa: F401 (fixtures)


WORDS = ("the delta update device slot image patch flash boot of and a stream block "
         "deflate window level zlib gzip archive member kernel module firmware").split()
LICENSES = "/usr/share/common-licenses"  # base-files: on every Debian system


def text(n, seed, edits=0):
    rnd = random.Random(seed)
    out = []
    size = 0
    while size < n:
        w = rnd.choice(WORDS) + ("\n" if rnd.random() < 0.1 else " ")
        out.append(w)
        size += len(w)
    return edit("".join(out)[:n].encode(), seed, edits)


def edit(t, seed, edits):
    rnd = random.Random(seed * 1000 + edits)
    for _ in range(edits):
        at = rnd.randrange(len(t) - 10)
        t = t[:at] + b"EDITED" + t[at + 6:]
    return t


def licenses():
    """Real English text, ~260 KB."""
    out = b""
    for name in sorted(os.listdir(LICENSES)):
        path = os.path.join(LICENSES, name)
        if not os.path.islink(path):
            with open(path, "rb") as f:
                out += f.read()
    return out


def gzip_n(data, *opts):
    return subprocess.run(["gzip", "-9n"] + list(opts), input=data, stdout=subprocess.PIPE,
                          check=True).stdout


def make_rootfs(work, version, edits):
    """A root filesystem tree as a reproducible tar, holding GNU gzip -9n'd
    texts: a changelog-sized one zlib does not reproduce (token form) and
    man-page sized ones zlib reproduces."""
    root = os.path.join(work, "zroot-" + version)
    doc = os.path.join(root, "usr", "share", "doc", "pkg")
    os.makedirs(doc, exist_ok=True)
    with open(os.path.join(root, "os-release"), "w") as f:
        f.write('VERSION_ID="%s"\n' % version)
    with open(os.path.join(doc, "changelog.gz"), "wb") as f:
        # --rsyncable: GNU gzip cuts blocks where the content says, as pigz
        # does; zlib's deflate never reproduces that
        f.write(gzip_n(edit(licenses(), 1, edits), "--rsyncable"))
    for k in range(6):
        with open(os.path.join(doc, "page%d.gz" % k), "wb") as f:
            f.write(gzip_n(text(6000, 10 + k, edits if k % 2 else 0)))
    img = os.path.join(work, "zrootfs-%s.tar" % version)
    E.run(["tar", "--sort=name", "--mtime=@1700000000", "--owner=0", "--group=0",
           "--numeric-owner", "--format=gnu", "-cf", img, "-C", root, "."])
    return img


def patch_of(work, old, new, deflate, model=2):
    out = os.path.join(work, "local-%d-%d.otad" % (deflate, model))
    r = E.run([E.TOOL, "delta", "create", "-v", "--model", str(model)] +
              (["--deflate"] if deflate else []) + [old, new, "-o", out])
    with open(out, "rb") as f:
        return f.read(), r.stdout


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def checkin(s, dev, token, body):
    """Check in until the server has the delta (it generates in the background)."""
    deadline = time.time() + 60
    while True:
        r = s.api("POST", "/v1/devices/%s/checkin" % dev, body, token=token)
        if r.get("action") == "update" or time.time() > deadline:
            return r
        assert r.get("reason") == "delta_pending", r
        time.sleep(0.3)


def test_deflate_capable_device_gets_version_3_others_version_1(work, keys, servers):
    s = servers()
    fs1 = make_rootfs(work, "1.0.0", 0)
    fs2 = make_rootfs(work, "1.1.0", 8)
    v1 = L.sign(work, keys, fs1, "1.0.0", 1)
    v2 = L.sign(work, keys, fs2, "1.1.0", 2)
    p3, verbose = patch_of(work, v1, v2, 1)
    p1, _ = patch_of(work, v1, v2, 0, model=1)
    p1m2, _ = patch_of(work, v1, v2, 0, model=2)
    # the pair really exercises the token form, and it pays
    assert p3[4] == 3, verbose
    # header byte 7 bit 1: coder model 2
    assert p3[7] & 2 and p1m2[7] & 2 and not p1[7] & 2, (p3[7], p1m2[7], p1[7])
    assert len(p1m2) != len(p1)
    assert "in token form 0;" not in verbose, verbose
    assert len(p3) * 2 < len(p1), (len(p3), len(p1))

    s.upload(v1)
    r2 = s.upload(v2)
    s.campaign(r2["id"], [{"percent": 100}])

    # a device that does not announce delta features: version 1
    tok = s.api("POST", "/v1/devices", {"id": "plain-1", "hw_id": L.HW})["token"]
    body = {"hw_id": L.HW, "current_version": "1.0.0", "current_digest": sha256(v1),
            "manifest_format": 2}
    r = checkin(s, "plain-1", tok, body)
    assert r["action"] == "update" and r["payload"]["kind"] == "delta", r
    assert r["payload"]["size"] == len(p1), (r["payload"], len(p1))
    # unknown features are ignored; a malformed list is refused
    r = checkin(s, "plain-1", tok, dict(body, delta_features=["xz-someday"]))
    assert r["payload"]["size"] == len(p1)
    # "model2" alone: version 1 in coder model 2, cached apart from model 1
    # (another device: the server queues one delta per device a minute)
    tok2 = s.api("POST", "/v1/devices", {"id": "model2-1", "hw_id": L.HW})["token"]
    r = checkin(s, "model2-1", tok2, dict(body, delta_features=["model2"]))
    assert r["payload"]["size"] == len(p1m2), (r["payload"], len(p1m2))
    bad = s.api("POST", "/v1/devices/plain-1/checkin", dict(body, delta_features="deflate"),
                token=tok, ok=(400,))
    assert "delta_features" in str(bad), bad

    # the Linux agent says "deflate" and "model2": it gets and installs the
    # version 3 model 2 patch
    d = L.LinuxDevice(work, "deflate-1", s, keys)
    d.provision("A", v1)
    assert d.boot() == "A"
    d.agent("--confirm", check_rc=0)
    d.agent(check_rc=20, timeout=90)
    log = d.log_text()
    assert "delta payload %d " % len(p3) in log, log
    assert d.slot_bytes("B", os.path.getsize(fs2)) == open(fs2, "rb").read()
    assert d.boot() == "B"
    d.agent("--once", check_rc=0)
    assert "self-test passed, confirming" in d.log_text()
    # and the plain device is still offered version 1 (the cache keeps both)
    r = checkin(s, "plain-1", tok, body)
    assert r["payload"]["size"] == len(p1)
