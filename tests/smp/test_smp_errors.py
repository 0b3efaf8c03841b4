# SPDX-License-Identifier: Apache-2.0
"""
test_smp_errors.py - the board's SMP server against a client written from
Zephyr's documents (smp_spec_client.py: base64, CRC-16/XMODEM and
python3-cbor2, no code shared with ota): a full upload with SMP version 1
headers, the image hash = the image's SHA-256 TLV (parsed here), and every
kind of bad input: damaged frames, unknown groups and commands, malformed
CBOR, out-of-order offsets, overruns, non-images, an image for other
hardware, an image signed by another key. Each gets its documented error
code, the device keeps answering, and no slot is ever left pending.
"""
import base64
import hashlib
import os
import struct

import cbor2

from conftest import OTA, new_flash, sh, sign
import smp_spec_client as spec

ENOTSUP, EINVAL, EBADSTATE, EMSGSIZE, ECORRUPT = 8, 3, 6, 7, 9
IMG = 1  # image group


def tlv_sha256(image):
    """The SHA-256 TLV of an MCUboot image (image-format.md), parsed here."""
    magic, _load, hdr_size, prot_size, img_size = struct.unpack_from("<IIHHI", image, 0)
    assert magic == 0x96f3b83d
    off = hdr_size + img_size
    if prot_size:
        assert struct.unpack_from("<H", image, off)[0] == 0x6908
        off += prot_size
    tlv_magic, tot = struct.unpack_from("<HH", image, off)
    assert tlv_magic == 0x6907
    end, off = off + tot, off + 4
    while off < end:
        t, n = struct.unpack_from("<HH", image, off)
        if t == 0x10:
            return image[off + 4:off + 4 + n]
        off += 4 + n
    raise AssertionError("no SHA-256 TLV")


def no_pending(client):
    imgs = client.state().body["images"]
    assert not any(im.get("pending") for im in imgs), imgs
    return imgs


def test_independent_client_and_bad_input(port, board_factory):
    a1 = sign(port, "a-1.0.0-smp", "1.0.0", "ea1.img")
    good = sign(port, "b-2.0.0-noconfirm", "2.0.0", "eb2.img")
    other_hw = sign(port, "b-2.0.0-noconfirm", "2.0.0", "ehw.img", hw_id="other-board")
    other_key_path = os.path.join(port["work"], "other.pem")
    sh(OTA, "keygen", "-o", other_key_path)
    other_key = sign(port, "b-2.0.0-noconfirm", "2.0.0", "ekey.img", key=other_key_path)
    board = board_factory(new_flash(port, "errors.flash", a1))
    c = spec.Client(board.sock)

    # ---- the documented commands, SMP version 1 and 2 ----
    assert c.echo("hi", ver=0).body == {"r": "hi"}
    assert c.echo("hi").body == {"r": "hi"}
    st = c.state(ver=0).body
    assert [im["slot"] for im in st["images"]] == [0]
    run = st["images"][0]
    assert run["version"] == "1.0.0" and run["active"] and run["confirmed"], run
    assert run["hash"] == tlv_sha256(open(a1, "rb").read())

    image = open(good, "rb").read()
    a = c.upload(image, chunk=300, ver=0)
    assert a.error() is None and a.body == {"off": len(image), "match": True}, a.body
    imgs = no_pending(c)
    listed = {im["slot"]: im for im in imgs}
    assert listed[1]["hash"] == tlv_sha256(image) and listed[1]["bootable"], imgs
    assert listed[1]["hash"] == hashlib.sha256(
        image[:struct.unpack_from("<H", image, 8)[0] + struct.unpack_from("<I", image, 12)[0]
              + struct.unpack_from("<H", image, 10)[0]]).digest()

    # state write: unknown hash, testing the running image
    assert c.set_state(b"\x11" * 32).error() == ("group", (IMG, 8))
    assert c.set_state(run["hash"]).error() == ("group", (IMG, 33))
    assert c.set_state(run["hash"], ver=0).error() == ("rc", EBADSTATE)
    no_pending(c)

    # ---- damaged frames: answered (the header survived), device alive ----
    body = cbor2.dumps({"d": "x"})
    pkt = spec.header(spec.OP_WRITE, 0, 0, 200, len(body), ver=0) + body
    for f in spec.frames(pkt, crc=spec.crc16(pkt) ^ 0x5555):
        c.send_raw(f)
    assert c.read_answer(200).error() == ("rc", ECORRUPT)

    frame = spec.frames(spec.header(spec.OP_WRITE, 0, 0, 201, len(body), ver=0) + body)[0]
    c.send_raw(frame[:-3] + b"\n")  # base64 cut short
    assert c.read_answer(201).error() == ("rc", ECORRUPT)

    big = spec.header(spec.OP_WRITE, 0, 0, 202, len(body), ver=0) + body
    c.send_raw(spec.frames(big, total_length=5000)[0])
    assert c.read_answer(202).error() == ("rc", EMSGSIZE)

    raw = struct.pack(">H", 300) + b"\0" * 200  # a line longer than 127 bytes
    c.send_raw(b"\x06\x09" + base64.b64encode(raw) + b"\n")
    c.send_raw(b"console text between frames is ignored\n")
    assert c.echo("still here").body == {"r": "still here"}

    # ---- unknown group / command, malformed CBOR ----
    assert c.request(spec.OP_READ, 77, 0, {}).error() == ("rc", ENOTSUP)
    assert c.request(spec.OP_WRITE, IMG, 3, {}).error() == ("rc", ENOTSUP)
    assert c.request(spec.OP_READ, 0, 1, {}).error() == ("rc", ENOTSUP)
    assert c.request(spec.OP_WRITE, 0, 0, None, raw_cbor=b"\xa1\x61").error() == ("rc", EINVAL)
    assert c.request(spec.OP_WRITE, 0, 0, None, raw_cbor=b"\x80").error() == ("rc", EINVAL)
    assert c.request(spec.OP_WRITE, IMG, 1, {"off": "zero", "data": b""}).error() == ("rc", EINVAL)

    # ---- upload: not an image, out-of-order offsets, overrun ----
    junk = os.urandom(4096)
    assert c.upload_chunk(0, junk[:512], junk).error() == ("group", (IMG, 23))
    assert c.upload_chunk(0, junk[:512], junk, ver=0).error() == ("rc", EINVAL)
    a = c.upload_chunk(0, image[:600], image)
    assert a.body == {"off": 600}, a.body
    a = c.upload_chunk(1800, image[1800:2400])  # ahead of the device
    assert a.body == {"off": 600}, a.body
    a = c.upload_chunk(300, image[300:900])     # behind it
    assert a.body == {"off": 600}, a.body
    off = 600
    while len(image) - off > 600:
        off = c.upload_chunk(off, image[off:off + 600]).body["off"]
    a = c.request(spec.OP_WRITE, IMG, 1, {"off": off, "data": b"\0" * (len(image) - off + 1)})
    assert a.error() == ("group", (IMG, 31)), a.body
    no_pending(c)

    # ---- images the device must refuse: other hardware, other key ----
    for path, why in ((other_hw, "OTA_ERR_IMAGE_HW_MISMATCH"), (other_key, "OTA_ERR_IMAGE_")):
        img = open(path, "rb").read()
        a = c.upload(img, chunk=300)
        assert a.error() == ("group", (IMG, 5)), a.body
        assert why in a.body.get("rsn", ""), a.body
        imgs = {im["slot"]: im for im in no_pending(c)}
        assert not imgs[1].get("bootable"), imgs
        # and testing it anyway is refused: verified again, never marked
        assert c.set_state(tlv_sha256(img)).error() == ("group", (IMG, 5))
        no_pending(c)

    # ---- erase ----
    assert c.request(spec.OP_WRITE, IMG, 5, {"slot": 0}).error() == ("rc", EBADSTATE)
    assert c.request(spec.OP_WRITE, IMG, 5, {}).error() is None
    assert [im["slot"] for im in no_pending(c)] == [0]
    assert c.echo("done").body == {"r": "done"}
    c.close()
    out = board.stop()
    assert out.count("rom: stage 0") == 1, out  # never reset or crashed
