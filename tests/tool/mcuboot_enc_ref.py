# SPDX-License-Identifier: Apache-2.0
"""
tests/tool/mcuboot_enc_ref.py - an independent model of MCUboot's encrypted
images (ECIES-P256, TLV ENC_EC256 0x32), written from MCUboot's
docs/encrypted_images.md, scripts/imgtool/image.py (Image.create,
ecies_hkdf, add_header) and boot/bootutil/src/encrypted.c
(boot_decrypt_key, boot_enc_decrypt) on Debian's python3-cryptography. It
shares nothing with ota's C code; test_enc.py uses it to check that images
interoperate both ways, byte for byte.

The recipe it models:
  * imgtool pads the payload with zero bytes to a multiple of 16, sets the
    header flag ENCRYPTED_AES128 (0x04) or ENCRYPTED_AES256 (0x08), then
    hashes (SHA-256) and signs the PLAINTEXT header + body + protected TLVs;
  * unprotected TLVs: SHA256 0x10, KEYHASH 0x01, ECDSA256 0x22, then
    ENCEC256 0x32 = ephemeral public key (65, X9.62 uncompressed)
    || HMAC-SHA256 tag (32) || AES-CTR-encrypted AES key (16 or 32);
  * key material: ECDH(ephemeral, device) -> HKDF-SHA256 (no salt, info
    b"MCUBoot_ECIES_v1", length key_len + 32); the first key_len bytes are
    the key-encryption key (AES-CTR, zero counter), the last 32 the HMAC key;
    the tag is HMAC over the encrypted key;
  * the body [hdr_size, hdr_size + img_size) is AES-CTR encrypted with a
    zero 16-byte initial counter block (so block n uses counter n); the
    header and both TLV areas stay in clear.
"""
import hashlib
import os
import struct

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import (Encoding, PublicFormat)

IMAGE_MAGIC = 0x96F3B83D
ENCRYPTED_AES128 = 0x04
ENCRYPTED_AES256 = 0x08
TLV_ENC_EC256 = 0x32


def _ctr(key, data, counter=bytes(16)):
    enc = Cipher(algorithms.AES(key), modes.CTR(counter)).encryptor()
    return enc.update(data) + enc.finalize()


def _kdf(shared, key_len):
    return HKDF(algorithm=hashes.SHA256(), length=key_len + 32, salt=None,
                info=b"MCUBoot_ECIES_v1").derive(shared)


def _hmac(key, data):
    m = hmac.HMAC(key, hashes.SHA256())
    m.update(data)
    return m.finalize()


def wrap_key(device_public, plainkey):
    """imgtool's ecies_hkdf: the ENC_EC256 TLV value for plainkey."""
    eph = ec.generate_private_key(ec.SECP256R1())
    okm = _kdf(eph.exchange(ec.ECDH(), device_public), len(plainkey))
    cipherkey = _ctr(okm[:len(plainkey)], plainkey)
    tag = _hmac(okm[len(plainkey):], cipherkey)
    pub = eph.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return pub + tag + cipherkey


def unwrap_key(device_private, tlv):
    """bootutil's boot_decrypt_key: the AES key, or ValueError on a bad tag."""
    key_len = len(tlv) - 65 - 32
    if key_len not in (16, 32):
        raise ValueError("ENC_EC256 TLV length %d" % len(tlv))
    eph = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), tlv[:65])
    okm = _kdf(device_private.exchange(ec.ECDH(), eph), key_len)
    tag, cipherkey = tlv[65:97], tlv[97:]
    if not hmac_compare(_hmac(okm[key_len:], cipherkey), tag):
        raise ValueError("ENC_EC256 HMAC tag mismatch")
    return _ctr(okm[:key_len], cipherkey)


def hmac_compare(a, b):
    import hmac as std_hmac
    return std_hmac.compare_digest(a, b)


def _tlv_area(magic, entries):
    body = b"".join(struct.pack("<BBH", t, 0, len(v)) + v for t, v in entries)
    return struct.pack("<HH", magic, 4 + len(body)) + body if body else b""


def _spki(public_key):
    return public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def sign_encrypted(payload, signing_key, device_public, aes_bits=128,
                   version=(1, 0, 0, 0), header_size=32, security_counter=None):
    """`imgtool sign --encrypt DEVICE.pub [--encrypt-keylen 256]` for an
    ECDSA P-256 signing key: returns (encrypted image, plaintext image)."""
    key_len = 32 if aes_bits == 256 else 16
    body = bytes(payload)
    if len(body) % 16:
        body += bytes(16 - len(body) % 16)
    prot = _tlv_area(0x6908, [(0x50, struct.pack("<I", security_counter))]
                     if security_counter is not None else [])
    flags = ENCRYPTED_AES256 if key_len == 32 else ENCRYPTED_AES128
    hdr = struct.pack("<IIHHIIBBHII", IMAGE_MAGIC, 0, header_size, len(prot), len(body),
                      flags, version[0], version[1], version[2], version[3], 0)
    hdr += bytes([0xFF] * (header_size - 32))
    signed = hdr + body + prot
    digest = hashlib.sha256(signed).digest()
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
    sig = signing_key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    plainkey = os.urandom(key_len)
    entries = [(0x10, digest),
               (0x01, hashlib.sha256(_spki(signing_key.public_key())).digest()),
               (0x22, sig),
               (TLV_ENC_EC256, wrap_key(device_public, plainkey))]
    tlvs = _tlv_area(0x6907, entries)
    plain = signed + tlvs
    enc = hdr + _ctr(plainkey, body) + prot + tlvs
    return enc, plain


def tlvs(img):
    """[(type, offset of value, value)] of both TLV areas."""
    hdr_size, prot_size, img_size = struct.unpack_from("<HHI", img, 8)
    off = hdr_size + img_size
    out = []
    for _ in range(2):
        if off + 4 > len(img):
            break
        magic, tot = struct.unpack_from("<HH", img, off)
        if magic not in (0x6907, 0x6908):
            break
        pos, end = off + 4, off + tot
        while pos < end:
            t, ln = struct.unpack_from("<HH", img, pos)
            out.append((t, pos + 4, img[pos + 4:pos + 4 + ln]))
            pos += 4 + ln
        off = end
    return out


def decrypt(img, device_private):
    """What an MCUboot device does with a downloaded encrypted image:
    check the flags, open the key TLV, decrypt the body. Returns the
    plaintext image (header and TLVs unchanged)."""
    magic, _, hdr_size, _, img_size, flags = struct.unpack_from("<IIHHII", img, 0)
    assert magic == IMAGE_MAGIC
    key_len = 16 if flags & ENCRYPTED_AES128 else 32 if flags & ENCRYPTED_AES256 else 0
    if not key_len:
        raise ValueError("image is not encrypted")
    enc = [v for t, _, v in tlvs(img) if t == TLV_ENC_EC256]
    if len(enc) != 1 or len(enc[0]) != 65 + 32 + key_len:
        raise ValueError("no usable ENC_EC256 TLV")
    key = unwrap_key(device_private, enc[0])
    body = img[hdr_size:hdr_size + img_size]
    return img[:hdr_size] + _ctr(key, body) + img[hdr_size + img_size:]
