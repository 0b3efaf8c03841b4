#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""
tests/tool/mcuboot_verify.py - an independent verifier of MCUboot images that
follows MCUboot bootutil's validation logic (boot/bootutil/src/image_validate.c
and tlv.c), written from scratch in Python on python3-cryptography, so ota's
images are checked by code that shares nothing with ota's C verifier.

What it does, in bootutil's order:
  1. header: magic 0x96f3b83d, then the hashed region is
     ih_hdr_size + ih_img_size + ih_protect_tlv_size bytes from offset 0;
  2. TLV iteration (tlv.c): the protected area (info magic 0x6908, whose total
     must equal ih_protect_tlv_size) when ih_protect_tlv_size != 0, then the
     unprotected area (info magic 0x6907); entries are (u16 type, u16 len);
  3. for every entry of either area:
       SHA256 (0x10): length must be 32 and equal the computed digest;
       KEYHASH (0x01): the key whose SHA-256(SPKI DER) matches (find_key);
       PUBKEY (0x02): the key whose SPKI equals it;
       ECDSA256 (0x22): needs a key found before it; ECDSA P-256 verify of
         the digest (the signature is over SHA-256 of the hashed region);
       SEC_CNT (0x50): must come from the protected area and be 4 bytes;
  4. valid only when the hash matched and a signature verified.

Usage: mcuboot_verify.py --key PUB.pem [--key ...] IMAGE   (exit 0 if valid)
"""
import hashlib
import struct
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

IMAGE_MAGIC = 0x96F3B83D
TLV_INFO_MAGIC = 0x6907
TLV_PROT_INFO_MAGIC = 0x6908
TLV_KEYHASH = 0x01
TLV_PUBKEY = 0x02
TLV_SHA256 = 0x10
TLV_ECDSA256 = 0x22
TLV_SEC_CNT = 0x50


class Invalid(Exception):
    pass


def spki_der(key):
    return key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def load_public(path):
    data = open(path, "rb").read()
    for loader in (serialization.load_pem_private_key, serialization.load_der_private_key):
        try:
            return loader(data, password=None).public_key()
        except (ValueError, TypeError):
            pass
    for loader in (serialization.load_pem_public_key, serialization.load_der_public_key):
        try:
            return loader(data)
        except (ValueError, TypeError):
            pass
    raise Invalid("%s: not a key" % path)


def tlv_entries(img, off, magic, expect_tot=None):
    """Yield (type, value_offset, length) of one area; returns via StopIteration."""
    if off + 4 > len(img):
        raise Invalid("TLV info past end of image")
    m, tot = struct.unpack_from("<HH", img, off)
    if m != magic:
        raise Invalid("TLV info magic 0x%04x, expected 0x%04x" % (m, magic))
    if expect_tot is not None and tot != expect_tot:
        raise Invalid("protected TLV size %d != header %d" % (tot, expect_tot))
    end = off + tot
    if end > len(img):
        raise Invalid("TLV area past end of image")
    pos = off + 4
    out = []
    while pos < end:
        if pos + 4 > end:
            raise Invalid("TLV header crosses area end")
        t, ln = struct.unpack_from("<HH", img, pos)
        if pos + 4 + ln > end:
            raise Invalid("TLV length crosses area end")
        out.append((t, pos + 4, ln))
        pos += 4 + ln
    return out, end


def verify(img, public_keys):
    """Return (True, info) or raise Invalid(reason)."""
    if len(img) < 32:
        raise Invalid("shorter than the header")
    (magic, load_addr, hdr_size, prot_size, img_size, flags,
     major, minor, rev, build, _pad) = struct.unpack_from("<IIHHIIBBHII", img, 0)
    if magic != IMAGE_MAGIC:
        raise Invalid("bad image magic 0x%08x" % magic)
    hashed_len = hdr_size + img_size + prot_size
    if hashed_len > len(img):
        raise Invalid("image shorter than its header says")
    digest = hashlib.sha256(img[:hashed_len]).digest()

    entries = []
    off = hdr_size + img_size
    if prot_size:
        prot, off = tlv_entries(img, off, TLV_PROT_INFO_MAGIC, prot_size)
        entries += [(t, v, ln, True) for (t, v, ln) in prot]
    unprot, _ = tlv_entries(img, off, TLV_INFO_MAGIC)
    entries += [(t, v, ln, False) for (t, v, ln) in unprot]

    spkis = [spki_der(k) for k in public_keys]
    hashes_ = [hashlib.sha256(s).digest() for s in spkis]
    key_id = -1
    hash_ok = False
    sig_ok = False
    sec_cnt = None
    for t, v, ln, is_prot in entries:
        val = img[v:v + ln]
        if t == TLV_SHA256:
            if ln != 32:
                raise Invalid("SHA256 TLV length %d" % ln)
            if val != digest:
                raise Invalid("hash mismatch")
            hash_ok = True
        elif t == TLV_KEYHASH:
            key_id = hashes_.index(val) if val in hashes_ else -1
        elif t == TLV_PUBKEY:
            key_id = spkis.index(val) if val in spkis else -1
        elif t == TLV_ECDSA256:
            if key_id < 0:
                raise Invalid("signature TLV without a known key before it")
            try:
                public_keys[key_id].verify(val, digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
                sig_ok = True
            except InvalidSignature:
                raise Invalid("signature invalid")
        elif t == TLV_SEC_CNT:
            if not is_prot:
                raise Invalid("security counter outside the protected area")
            if ln != 4:
                raise Invalid("security counter length %d" % ln)
            sec_cnt = struct.unpack("<I", val)[0]
    if not hash_ok:
        raise Invalid("no SHA256 TLV")
    if not sig_ok:
        raise Invalid("no valid signature")
    return {"version": "%d.%d.%d+%d" % (major, minor, rev, build), "security_counter": sec_cnt,
            "hashed_len": hashed_len, "digest": digest.hex(), "flags": flags,
            "load_addr": load_addr}


def main(argv):
    keys, path = [], None
    i = 1
    while i < len(argv):
        if argv[i] == "--key" and i + 1 < len(argv):
            keys.append(load_public(argv[i + 1]))
            i += 2
        else:
            path = argv[i]
            i += 1
    if not keys or not path:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        info = verify(open(path, "rb").read(), keys)
    except Invalid as e:
        print("%s: INVALID: %s" % (path, e))
        return 1
    print("%s: OK %s" % (path, info))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
