# SPDX-License-Identifier: Apache-2.0
"""
test_e2e_encrypted.py - encrypted images (MCUboot's ENC_EC256) installed end
to end: real ota-server, ota-sim run with the agent inside, a device
provisioned with `ota-sim create --enc-key`. The agent gives the update
engine random access to the payload with HTTP Range requests, so the key TLV
at the image's end is opened before the first byte is written; a wrong
device key or a tampered key TLV is refused there, before the download,
nothing pending.
"""

import os
import struct

import otae2e as E

SEALED_TLV = 0x32  # ENC_EC256


def key_tlv_offset(data):
    """Offset of the ENC_EC256 TLV's value in an image file (unprotected area)."""
    hdr_size, prot = struct.unpack_from("<HH", data, 8)
    img_size = struct.unpack_from("<I", data, 12)[0]
    at = hdr_size + img_size + prot
    magic, tot = struct.unpack_from("<HH", data, at)
    assert magic == 0x6907, hex(magic)
    pos = at + 4
    while pos < at + tot:
        t, n = struct.unpack_from("<HH", data, pos)
        if t == SEALED_TLV:
            return pos + 4
        pos += 4 + n
    raise AssertionError("no ENC_EC256 TLV")


def read(path):
    with open(path, "rb") as f:
        return f.read()


def start(env, name, enc_key, target, base=None, server_args=("--no-delta",)):
    """Server with a plain 1.0.0 and `target` (image path) released, a device
    on 1.0.0 holding enc_key, and a 100 % campaign for the target."""
    server = env.start_server(*server_args)
    v1 = base or env.image("1.0.0", 1)
    server.upload(v1)
    rel = server.upload(target)
    dev = env.device(name, v1, enc_key=enc_key)
    camp = server.campaign(rel["id"], [{"percent": 100}])
    return server, dev, camp


def refused_before_download(server, dev, camp, err):
    """Run the device to its failure report: refused before the download with
    ota_err `err`, on the campaign, the device still confirmed on 1.0.0 and
    nothing pending."""
    dev.start()
    E.wait_for(lambda: "failure" in dev.report_states(), 60, "failure report")
    dev.stop()
    rep = [r for r in server.reports(dev.name) if r["state"] == "failure"][-1]
    assert "offer refused before download" in rep["detail"], rep
    assert err in rep["detail"], rep
    assert rep["campaign_id"] == camp["id"], rep
    st = dev.status()
    assert st["state"]["pending"] is None, st["state"]
    assert dev.version() == "1.0.0+0" and dev.confirmed_version() == "1.0.0+0", st["slots"]
    assert "payload complete" not in dev.log_text()


def test_encrypted_image_installs_through_the_agent(env, work):
    """AES-128 and AES-256: installed, trial-booted, confirmed; the key TLV
    was read with range requests before the download. Deltas on: the server
    offers encrypted releases whole (ciphertext does not diff), and the
    device reports the digest of its running image as published, so the
    campaign completes."""
    priv, pub = E.enc_keygen(work)
    for aes, ver in ((128, "2.0.0"), (256, "3.0.0")):
        if aes == 128:
            v2 = env.image(ver, 2, encrypt=pub, aes=aes)
            server, dev, _ = start(env, "enc-dev", priv, v2, server_args=())
        else:
            v3 = env.image(ver, 3, encrypt=pub, aes=aes)
            server.campaign(server.upload(v3)["id"], [{"percent": 100}])
        dev.start()
        E.wait_for(lambda: dev.confirmed_version() == ver + "+0", 60,
                   "%s (AES-%d) confirmed; device log:\n%s" % (ver, aes, dev.log_tail()))
        E.wait_for(lambda: dev.report_states().count("success") == (1 if aes == 128 else 2),
                   20, "success report")
        dev.stop()
        log = dev.log_text()
        assert "range request" in log, dev.log_tail()
        assert "%s+0 (campaign" % ver in log and "full payload" in log.split(
            "%s+0 (campaign" % ver)[1].splitlines()[0], dev.log_tail()
        assert "ROLLED BACK" not in log, dev.log_tail()
        print("AES-%d: installed through the agent; %s" % (aes, [
            ln.split("] ", 1)[-1] for ln in log.splitlines() if "range request" in ln][-1]))


def test_wrong_device_key_refused_before_download(env, work):
    priv, pub = E.enc_keygen(work, "fleet-enc")
    other, _ = E.enc_keygen(work, "other-enc")
    v2 = env.image("2.0.0", 2, encrypt=pub)
    server, dev, camp = start(env, "enc-wrong", other, v2)
    refused_before_download(server, dev, camp, "OTA_ERR_IMAGE_ENC_KEY")


def test_no_device_key_refused_before_download(env, work):
    _, pub = E.enc_keygen(work, "fleet-enc")
    v2 = env.image("2.0.0", 2, encrypt=pub)
    server, dev, camp = start(env, "enc-nokey", None, v2)
    refused_before_download(server, dev, camp, "OTA_ERR_IMAGE_ENC_NO_KEY")


def test_tampered_key_tlv_refused_before_download(env, work):
    """One bit of the key TLV's HMAC tag flipped in the released file (the
    TLV is outside the signed area, so only its tag can catch this)."""
    priv, pub = E.enc_keygen(work)
    v2 = env.image("2.0.0", 2, encrypt=pub)
    data = bytearray(read(v2))
    data[key_tlv_offset(data) + 65] ^= 0x01  # E (65 bytes) || T: first byte of the tag
    bad = os.path.join(work, "app-2.0.0-tampered-key.img")
    with open(bad, "wb") as f:
        f.write(data)
    server, dev, camp = start(env, "enc-tamper", priv, bad)
    refused_before_download(server, dev, camp, "OTA_ERR_IMAGE_ENC_KEY")


def test_sealed_delta_between_encrypted_releases(env, work):
    """Deltas between encrypted releases come from the build side (`ota delta
    create --enc-key`, sealed for the fleet key): an admin uploads one for
    (2.0.0 -> 3.0.0); the device running 2.0.0 (decrypted in its slot) is
    offered it, opens it, applies it and confirms 3.0.0. What the server can
    check of an upload it does: encrypted releases only, an OTAE envelope."""
    priv, pub = E.enc_keygen(work)
    v2 = env.image("2.0.0", 2, encrypt=pub)
    v3 = env.image("3.0.0", 3, encrypt=pub)
    v1 = env.image("1.0.0", 1)
    server = env.start_server()
    r1, r2, r3 = server.upload(v1), server.upload(v2), server.upload(v3)
    patch = os.path.join(work, "2-to-3.sealed")
    E.run([E.TOOL, "delta", "create", v2, v3, "-o", patch, "--enc-key", priv])
    sealed = read(patch)
    assert sealed[:4] == b"OTAE" and len(sealed) < len(read(v3)) // 4, len(sealed)

    def post(to, frm, body):
        return server.api("POST", "/v1/releases/%d/deltas?from=%d" % (to, frm), raw=body,
                          ok=None)
    # refused: a plain release in the pair, a body that is no envelope, an unknown release
    assert post(r3["id"], r1["id"], sealed)["error"]["code"] == "delta_refused"
    assert post(r3["id"], r2["id"], read(v3)[:1000])["error"]["code"] == "delta_refused"
    assert post(r3["id"], 99, sealed)["error"]["code"] == "not_found"
    up = post(r3["id"], r2["id"], sealed)
    assert up.get("size") == len(sealed) and up["from_release"] == r2["id"], up

    dev = env.device("enc-delta", v2, enc_key=priv)
    assert dev.confirmed_version() == "2.0.0+0"
    server.campaign(r3["id"], [{"percent": 100}])
    dev.start()
    E.wait_for(lambda: dev.confirmed_version() == "3.0.0+0", 60,
               "3.0.0 confirmed; device log:\n%s" % dev.log_tail())
    E.wait_for(lambda: "success" in dev.report_states(), 20, "success report")
    dev.stop()
    log = dev.log_text()
    assert "delta payload %d bytes" % len(sealed) in log, dev.log_tail()
    assert up["url"] in log, dev.log_tail()
    assert "ROLLED BACK" not in log
    print("sealed delta: %d bytes for a %d-byte encrypted release, installed through the "
          "agent" % (len(sealed), len(read(v3))))
