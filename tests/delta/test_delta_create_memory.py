# SPDX-License-Identifier: Apache-2.0
"""
tests/delta/test_delta_create_memory.py - the memory bound of `ota delta
create` on images large enough for the hash index (docs/delta-format.md,
"Memory bound of create"): peak RSS at most 3 x the larger (expanded) image
+ the patch twice + 16 bytes per command + 32 MiB, with and without
--deflate. Why it exists: a root filesystem image of a GiB is created on
build machines with a few GiB of RAM; holding both raw images beside their
expanded copies (5 x the image) went unnoticed until measured. The peak is
the child's own (wait4's ru_maxrss), through the CLI users run; the patch
is applied and compared with the new image.

Images: about 68 MiB of random 4 KiB blocks (some replaced, some moved in
the new release) and gzip members of text (some edited), so that the
deflate mode expands both images and the hash index (from 64 MiB) is used.
"""
import gzip
import os
import random
import re
import subprocess

import pytest

MIB = 1 << 20
SLACK = 32 * MIB  # the program, its libraries, zlib and small tables


def ota_bin():
    env = os.environ.get("OTA_BIN")
    if not env:
        pytest.fail("ota binary not found: set OTA_BIN")
    return env


def run_measured(args, out_path):
    """Run ota with args; (exit status, stdout, peak RSS in bytes)."""
    with open(out_path, "w+") as out:
        p = subprocess.Popen([ota_bin()] + [str(a) for a in args], stdout=out,
                             stderr=subprocess.STDOUT)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        return p.returncode, out.read(), ru.ru_maxrss * 1024


WORDS = [("w%03d" % i).encode() for i in range(400)] + [b"the", b"of", b"update", b"slot"]


def text(rnd, n):
    return b" ".join(rnd.choice(WORDS) for _ in range(n // 4))


def make_pair(tmp_path):
    rnd = random.Random(15)
    blocks = [rnd.randbytes(4096) for _ in range(64 * 256)]  # 64 MiB
    docs = [text(rnd, 512 * 1024) for _ in range(24)]
    new_blocks = list(blocks)
    for i in range(0, len(new_blocks), 997):  # replaced blocks
        new_blocks[i] = rnd.randbytes(4096)
    new_blocks[5000:5000] = [rnd.randbytes(4096)]  # everything after moves
    del new_blocks[9000]
    new_docs = [d.replace(b"w017", b"w018", 1 + k % 50) if k % 3 == 0 else d
                for k, d in enumerate(docs)]

    def image(bl, ds):
        parts = []
        step = len(bl) // len(ds)
        for k, d in enumerate(ds):
            parts += bl[k * step:(k + 1) * step]
            parts.append(gzip.compress(d, compresslevel=6, mtime=0))
        parts += bl[len(ds) * step:]
        return b"".join(parts)

    po, pn = tmp_path / "old.img", tmp_path / "new.img"
    po.write_bytes(image(blocks, docs))
    pn.write_bytes(image(new_blocks, new_docs))
    return po, pn


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    return make_pair(tmp_path_factory.mktemp("mem"))


@pytest.mark.parametrize("deflate", [True, False], ids=["deflate", "plain"])
def test_create_memory_bound(pair, tmp_path, deflate):
    po, pn = pair
    patch = tmp_path / "p.otad"
    args = ["delta", "create", po, pn, "-o", patch, "-v"] + (["--deflate"] if deflate else [])
    code, out, peak = run_measured(args, tmp_path / "create.out")
    assert code == 0, out
    assert "hash index" in out, out
    commands = int(re.search(r"commands (\d+)", out).group(1))
    x_old, x_new = po.stat().st_size, pn.stat().st_size
    if deflate:
        m = re.search(r"re-compressed: old (\d+), new (\d+);.*expanded (\d+) -> (\d+) bytes", out)
        assert m, out
        assert int(m.group(1)) == 24 and int(m.group(2)) == 24, out  # every member expanded
        x_old, x_new = int(m.group(3)), int(m.group(4))
        assert x_old > po.stat().st_size + 8 * MIB  # the text really expanded
    plen = patch.stat().st_size
    bound = 3 * max(x_old, x_new) + 2 * plen + 16 * commands + SLACK
    print(f"create {'--deflate' if deflate else 'plain'}: peak RSS {peak / MIB:.1f} MiB, "
          f"bound {bound / MIB:.1f} MiB (images {x_old / MIB:.1f} / {x_new / MIB:.1f} MiB, "
          f"patch {plen} bytes, {commands} commands)")
    assert peak <= bound
    # the patch is right: applied and compared with the new image
    res = tmp_path / "new.out"
    code, out, _ = run_measured(["delta", "apply", po, patch, "-o", res], tmp_path / "apply.out")
    assert code == 0, out
    with open(res, "rb") as a, open(pn, "rb") as b:
        while True:
            x, y = a.read(MIB), b.read(MIB)
            assert x == y
            if not x:
                break
