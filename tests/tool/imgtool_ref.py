# SPDX-License-Identifier: Apache-2.0
"""
tests/tool/imgtool_ref.py - a reference model, in Python, of the bytes that
MCUboot's `imgtool sign --pad-header` writes for an ECDSA P-256 key, derived
from reading imgtool's image.py (Image.load/create/add_header/pad_to) and
keys/ecdsa.py; no imgtool code is copied. Used by test_compat.py to check
that `ota sign` is byte-identical to imgtool wherever imgtool is
deterministic (everything but the randomised ECDSA signature, which the model
takes from ota's output and checks separately).

imgtool behaviour modelled:
  * --pad-header: header_size bytes of the erased value (0xff default) are
    prepended, then the 32-byte header overwrites the first 32 bytes;
  * header: <IIHHIIBBHII: magic, load_addr, hdr_size, protected TLV size,
    image size, flags (RAM_LOAD 0x20 when load_addr != 0), version, 0;
  * protected TLVs (magic 0x6908) only when something is protected:
    SEC_CNT first, then custom TLVs in command-line order; each entry is
    <BBH type, 0, len> (== <HH> for types < 256); the info total includes
    the 4-byte info header;
  * SHA-256 over header + payload + protected TLVs;
  * unprotected TLVs (magic 0x6907): SHA256, KEYHASH (SHA-256 of the DER
    SubjectPublicKeyInfo), ECDSA256 signature (DER, unpadded);
  * --pad: erased bytes up to slot_size - trailer, then the trailer of
    erased bytes ending with the 16-byte boot magic; --confirm sets
    image_ok (at -(align_up(16, max_align) + max_align)) to 0x01;
    trailer = max_sectors*3*align + max_align*4 + align_up(16, max_align).
"""
import hashlib
import struct

BOOT_MAGIC = bytes([0x77, 0xC2, 0x95, 0xF3, 0x60, 0xD2, 0xEF, 0x7F,
                    0x35, 0x52, 0x50, 0x0F, 0x2C, 0xB6, 0x79, 0x80])


def boot_magic(max_align):
    """imgtool: the classic magic for max_align 8, else one tagged with it."""
    if max_align == 8:
        return BOOT_MAGIC
    return bytes([max_align & 0xFF, (max_align >> 8) & 0xFF, 0x2D, 0xE1, 0x5D, 0x29, 0x41,
                  0x0B, 0x8D, 0x77, 0x67, 0x9C, 0x11, 0x0F, 0x1F, 0x8A])


def align_up(n, a):
    return (n + a - 1) & ~(a - 1)


def trailer_size(align=1, max_sectors=128, max_align=8, overwrite_only=False):
    magic_align = align_up(16, max_align)
    if overwrite_only:
        return max_align * 2 + magic_align
    return max_sectors * 3 * align + max_align * 4 + magic_align


def tlv_area(magic, entries):
    body = b"".join(struct.pack("<BBH", t, 0, len(v)) + v for t, v in entries)
    if not body:
        return b""
    return struct.pack("<HH", magic, 4 + len(body)) + body


def build(payload, version=(0, 0, 0, 0), header_size=32, load_addr=0,
          security_counter=None, custom_tlvs=(), spki=None, signature=None,
          slot_size=0, pad=False, confirm=False, erased_val=0xFF, align=1,
          max_sectors=128, max_align=None, sign=None, public_key_format="hash",
          overwrite_only=False):
    """Return (image bytes, sha256 digest of the signed region).

    signature: the DER signature to embed; or sign: a function called with
    the signed-region bytes that returns it (what imgtool's key.sign does).
    public_key_format "full" embeds the SubjectPublicKeyInfo (PUBKEY 0x02)
    instead of its hash (KEYHASH 0x01), like imgtool --public-key-format full.
    """
    body = bytearray([erased_val] * header_size) + payload
    prot_entries = []
    if security_counter is not None:
        prot_entries.append((0x50, struct.pack("<I", security_counter)))
    prot_entries += list(custom_tlvs)
    prot = tlv_area(0x6908, prot_entries)
    flags = 0x20 if load_addr else 0
    hdr = struct.pack("<IIHHIIBBHII", 0x96F3B83D, load_addr, header_size, len(prot),
                      len(payload), flags, version[0], version[1], version[2],
                      version[3], 0)
    body[:32] = hdr
    signed = bytes(body) + prot
    digest = hashlib.sha256(signed).digest()
    unprot = [(0x10, digest)]
    if spki is not None:
        if public_key_format == "full":
            unprot.append((0x02, spki))
        else:
            unprot.append((0x01, hashlib.sha256(spki).digest()))
        unprot.append((0x22, sign(signed) if sign else signature))
    img = bytearray(signed + tlv_area(0x6907, unprot))
    if max_align is None:
        max_align = max(8, align)
    if confirm:
        pad = True
    if pad:
        tsize = trailer_size(align, max_sectors, max_align, overwrite_only)
        padding = slot_size - (len(img) + tsize)
        assert padding >= 0
        tail = bytearray([erased_val] * (padding + tsize - 16)) + boot_magic(max_align)
        if confirm and not overwrite_only:
            tail[-(align_up(16, max_align) + max_align)] = 0x01
        img += tail
    return bytes(img), digest


def verify(img, public_key):
    """Model of `imgtool verify -k KEY IMAGE` (imgtool's Image.verify): magic;
    skip the protected area (0x6908) if present; unprotected info 0x6907;
    SHA-256 over everything before the unprotected area; walk its entries:
    a SHA256 entry must equal the digest, an ECDSA256 entry must verify with
    the key (ECDSA with SHA-256 over those same bytes; trailing padding after
    the DER SEQUENCE is cut off first, as imgtool does). Returns "OK" or the
    name of imgtool's failure result."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    magic, _, hdr_size, _, img_size = struct.unpack_from("<IIHHI", img, 0)
    if magic != 0x96F3B83D:
        return "INVALID_MAGIC"
    off = hdr_size + img_size
    tmagic, tot = struct.unpack_from("<HH", img, off)
    if tmagic == 0x6908:
        off += tot
        tmagic, tot = struct.unpack_from("<HH", img, off)
    if tmagic != 0x6907:
        return "INVALID_TLV_INFO_MAGIC"
    signed = img[:off]
    digest = hashlib.sha256(signed).digest()
    pos, end = off + 4, off + tot
    while pos < end:
        t, ln = struct.unpack_from("<BxH", img, pos)
        val = img[pos + 4:pos + 4 + ln]
        if t == 0x10 and val != digest:
            return "INVALID_HASH"
        if t == 0x22:
            try:
                public_key.verify(val[:val[1] + 2], signed, ec.ECDSA(hashes.SHA256()))
                return "OK"
            except InvalidSignature:
                pass
        pos += 4 + ln
    return "INVALID_SIGNATURE"
