// SPDX-License-Identifier: Apache-2.0
/*
 * ota/image_enc.h - encrypted images, exactly as MCUboot encrypts them
 * (imgtool sign --encrypt, boot/bootutil/src/encrypted.c): the ENC_EC256 key
 * TLV, its unwrap with the device's P-256 private key, and AES-CTR over the
 * image body. Why a module of its own: the update engine, the host tools and
 * the tests all need the same unwrap and the same counter arithmetic.
 *
 *   TLV 0x32 (unprotected area) = E (65: ephemeral P-256 public key, 0x04||X||Y)
 *                               || T (32: HMAC-SHA256 tag)
 *                               || C (16 or 32: the encrypted AES key)
 *   shared  = ECDH(device private key, E)            (x coordinate, 32 bytes)
 *   okm     = HKDF-SHA256(salt none, ikm shared, info "MCUBoot_ECIES_v1",
 *                         L = key_len + 32)
 *   T       = HMAC-SHA256(okm[key_len..], C)         (checked in constant time)
 *   aes_key = AES-CTR(okm[0..key_len], counter 0, C)
 *   body    = AES-CTR(aes_key, counter = body offset / 16, nonce 0), over
 *             [hdr_size, hdr_size + img_size) only; header and TLVs are clear.
 *
 * The SHA-256 TLV and the signature cover the PLAINTEXT (header with the
 * ENCRYPTED flag, plaintext body, protected TLVs); so once the update engine
 * has decrypted the body into a slot, the slot verifies like any image and
 * the bootloader needs no key. Spec and rationale: docs/encrypted-images.md.
 * No malloc, no stdio.
 */
#ifndef OTA_IMAGE_ENC_H
#define OTA_IMAGE_ENC_H

#include <stddef.h>
#include <stdint.h>
#include "ota/crypto.h"
#include "ota/error.h"
#include "ota/image.h"
#include "ota/io.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OTA_ENC_TAG_LEN 32u
#define OTA_ENC_EC256_LEN(aes_len) (OTA_P256_PUBKEY_LEN + OTA_ENC_TAG_LEN + (aes_len))
#define OTA_ENC_EC256_MAX OTA_ENC_EC256_LEN(32u) /* 129 */
#define OTA_ENC_KDF_INFO "MCUBoot_ECIES_v1"
#define OTA_ENC_KDF_INFO_LEN 16u

/* The device's decryption key: a P-256 private scalar, big-endian. On a real
 * device it lives in protected storage; the update engine only borrows it. */
struct ota_enc_privkey {
    uint8_t d[OTA_P256_PRIVKEY_LEN];
};

/* One image's unwrapped AES key and the byte range it encrypts. */
struct ota_enc_key {
    const struct ota_crypto_enc *c;
    uint8_t aes[32];
    uint8_t aes_len;    /* 16 or 32 */
    uint32_t body_off;  /* hdr_size */
    uint32_t body_len;  /* img_size */
};

/*
 * Open a key TLV value (tlv_len must be OTA_ENC_EC256_LEN(aes_len)) with the
 * device key. OTA_ERR_IMAGE_ENC_KEY when the ephemeral point is invalid or
 * the HMAC tag does not match (tampered TLV or another device's key: the two
 * are indistinguishable by design); OTA_ERR_IMAGE_TLV_MALFORMED for a wrong
 * length.
 */
ota_err ota_enc_unwrap(const struct ota_crypto_enc *c, const struct ota_enc_privkey *dev,
                       const uint8_t *tlv, size_t tlv_len, uint8_t *aes_key, size_t aes_len,
                       struct ota_diag *diag);

/*
 * The build side's half: the key TLV value for aes_key, from a fresh
 * ephemeral key pair (eph_priv, eph_pub) and the device's public point.
 * Writes OTA_ENC_EC256_LEN(aes_len) bytes to tlv.
 */
ota_err ota_enc_wrap(const struct ota_crypto_enc *c,
                     const uint8_t eph_priv[OTA_P256_PRIVKEY_LEN],
                     const uint8_t eph_pub[OTA_P256_PUBKEY_LEN],
                     const uint8_t dev_pub[OTA_P256_PUBKEY_LEN], const uint8_t *aes_key,
                     size_t aes_len, uint8_t *tlv);

/*
 * For an image ota_image_parse() accepted with info->enc_aes_len != 0: read
 * its key TLV through r and unwrap it into *k. OTA_ERR_IMAGE_ENC_NO_KEY when
 * dev is NULL; errors of ota_enc_unwrap otherwise.
 */
ota_err ota_enc_image_key(const struct ota_reader *r, const struct ota_image_info *info,
                          const struct ota_crypto_enc *c, const struct ota_enc_privkey *dev,
                          struct ota_enc_key *k, struct ota_diag *diag);

/*
 * Encrypt or decrypt (CTR is its own inverse) len image bytes that sit at
 * image offset img_off, in place: only the part inside the body range is
 * changed, at any alignment.
 */
ota_err ota_enc_xor(const struct ota_enc_key *k, uint32_t img_off, uint8_t *buf, size_t len);

/* A reader that applies ota_enc_xor to what src returns: over an encrypted
 * image it reads the plaintext image; over a decrypted slot it reads the
 * encrypted image as it was published. */
struct ota_enc_reader {
    const struct ota_reader *src;
    const struct ota_enc_key *k;
};
void ota_reader_enc(struct ota_reader *r, struct ota_enc_reader *er,
                    const struct ota_reader *src, const struct ota_enc_key *k);

/*
 * Encrypted delta payloads (ota's own envelope; MCUboot has no deltas). A
 * delta between two encrypted releases is computed by the build side on
 * their plaintexts and then sealed for the fleet's device key:
 *
 *   "OTAE" | 1 (format) | aes_len (16 or 32) | 0 | 0
 *   | ENC_EC256 value (113 or 129 bytes, exactly as in an image)
 *   | AES-CTR(patch), counter 0 at the first patch byte (nonce zero)
 *
 * The device opens the key with ota_enc_payload_open() and decrypts the
 * rest with ota_enc_xor() (k->body_off is the header length), feeding the
 * delta applier; the result is the plaintext image its slot must hold.
 */
#define OTA_ENC_PAYLOAD_MAGIC "OTAE"
#define OTA_ENC_PAYLOAD_FORMAT 1u
#define OTA_ENC_PAYLOAD_FIXED 8u
#define OTA_ENC_PAYLOAD_HDR_LEN(aes_len) (OTA_ENC_PAYLOAD_FIXED + OTA_ENC_EC256_LEN(aes_len))
#define OTA_ENC_PAYLOAD_HDR_MAX OTA_ENC_PAYLOAD_HDR_LEN(32u)

/* From the first OTA_ENC_PAYLOAD_FIXED bytes: 0 when they are not an
 * envelope, else the whole header length; OTA_ERR_DELTA_CORRUPT in *e for
 * an envelope with an unknown format or key size. */
uint32_t ota_enc_payload_hdr_len(const uint8_t fixed[OTA_ENC_PAYLOAD_FIXED], ota_err *e);

/* Open a whole envelope header (hdr_len bytes) of a payload_len-byte
 * payload: *k then decrypts payload offsets [hdr_len, payload_len). */
ota_err ota_enc_payload_open(const struct ota_crypto_enc *c, const struct ota_enc_privkey *dev,
                             const uint8_t *hdr, uint32_t hdr_len, uint32_t payload_len,
                             struct ota_enc_key *k, struct ota_diag *diag);

/* Forget a key (volatile zeroing). */
void ota_enc_key_wipe(struct ota_enc_key *k);

#ifdef __cplusplus
}
#endif
#endif
