// SPDX-License-Identifier: Apache-2.0
/*
 * ota/image.h - the signed firmware image: MCUboot-compatible layout and its
 * streaming verification in the portable core.
 *
 *   +------------------+ 0
 *   | header (32 B)    |  magic 0x96f3b83d, load addr, hdr size, protected
 *   | + padding        |  TLV size, image size, flags, version
 *   +------------------+ hdr_size
 *   | payload          |  img_size bytes
 *   +------------------+ hdr_size + img_size
 *   | protected TLVs   |  info 0x6908; security counter 0x50, hw id 0xa0...
 *   +------------------+  (protect_tlv_size bytes, 0 if absent)
 *   | unprotected TLVs |  info 0x6907; SHA-256 0x10, key hash 0x01,
 *   +------------------+  ECDSA P-256 signature 0x22, ENC_EC256 key 0x32
 *
 * SHA-256 covers everything up to the end of the protected TLVs; the
 * signature is ECDSA P-256 over that digest. Byte-level spec:
 * docs/image-format.md.
 */
#ifndef OTA_IMAGE_H
#define OTA_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#include "ota/crypto.h"
#include "ota/error.h"
#include "ota/io.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OTA_IMAGE_MAGIC 0x96f3b83dU
#define OTA_IMAGE_HEADER_SIZE 32u
#define OTA_TLV_INFO_MAGIC 0x6907u
#define OTA_TLV_PROT_INFO_MAGIC 0x6908u
#define OTA_TLV_INFO_SIZE 4u
#define OTA_TLV_HDR_SIZE 4u

/* TLV types (MCUboot numbering; 0xa0..0xfe are vendor TLVs owned by ota). */
#define OTA_TLV_KEYHASH 0x01u   /* SHA-256 of the signing key's SPKI */
#define OTA_TLV_PUBKEY 0x02u    /* the signing key's SPKI itself */
#define OTA_TLV_SHA256 0x10u    /* SHA-256 of header+payload+protected TLVs */
#define OTA_TLV_ECDSA_SIG 0x22u /* ECDSA P-256 signature, DER */
#define OTA_TLV_ENC_RSA2048 0x30u /* MCUboot key TLVs ota does not support: */
#define OTA_TLV_ENC_KW 0x31u      /*   an image using one is refused with */
#define OTA_TLV_ENC_EC256 0x32u   /* ECIES-P256 key TLV (ota/image_enc.h) */
#define OTA_TLV_ENC_X25519 0x33u  /*   OTA_ERR_UNSUPPORTED (0x30, 0x31, 0x33, */
#define OTA_TLV_ENC_X25519_SHA512 0x34u /* 0x34) */
#define OTA_TLV_SEC_CNT 0x50u   /* security counter, uint32 LE (protected) */
#define OTA_TLV_HW_ID 0xa0u     /* ota: hardware/product id, 1..32 bytes (protected) */
#define OTA_TLV_LINK_SLOT 0xa1u /* ota: slot the image is linked for, 1 byte: 0 A, 1 B
                                 * (protected; read on the host: ota/image_slot.h) */

/* Header flags (MCUboot). */
#define OTA_IMAGE_F_PIC 0x00000001u
#define OTA_IMAGE_F_ENCRYPTED_AES128 0x00000004u
#define OTA_IMAGE_F_ENCRYPTED_AES256 0x00000008u
#define OTA_IMAGE_F_NON_BOOTABLE 0x00000010u
#define OTA_IMAGE_F_RAM_LOAD 0x00000020u
#define OTA_IMAGE_F_ROM_FIXED 0x00000100u

#define OTA_HW_ID_MAX 32u

struct ota_image_version {
    uint8_t major;
    uint8_t minor;
    uint16_t revision;
    uint32_t build;
};

struct ota_image_header {
    uint32_t magic;
    uint32_t load_addr;
    uint16_t hdr_size;
    uint16_t protect_tlv_size;
    uint32_t img_size;
    uint32_t flags;
    struct ota_image_version version;
};

/* What parsing/verifying an image found. */
struct ota_image_info {
    struct ota_image_header hdr;
    uint32_t signed_size;    /* hdr_size + img_size + protect_tlv_size */
    uint32_t total_size;     /* up to the end of the unprotected TLV area */
    uint32_t security_counter; /* 0 when has_security_counter == 0 */
    uint8_t has_security_counter;
    uint8_t hw_id_len;       /* 0 when absent */
    uint8_t hw_id[OTA_HW_ID_MAX];
    uint8_t hash[OTA_SHA256_LEN];   /* from the SHA-256 TLV */
    uint8_t has_hash;
    uint8_t keyhash[OTA_SHA256_LEN];/* from KEYHASH, or SHA-256 of PUBKEY */
    uint8_t has_keyhash;
    uint8_t has_signature;
    int key_index;           /* verify: which trusted key signed; -1 otherwise */
    /* Where parse found the variable-length TLVs (offsets from image start). */
    uint32_t sig_off;        /* ECDSA signature value */
    uint16_t sig_len;
    uint32_t pubkey_off;     /* PUBKEY TLV value (91-byte SPKI), 0 if absent */
    /* Encrypted images (flag ENCRYPTED_AES128/256): the AES key length (16
     * or 32; 0 when not encrypted) and where the ENC_EC256 key TLV's value
     * is. The SHA-256 TLV and signature cover the plaintext, so a verify
     * through the raw bytes only succeeds once the body is decrypted. */
    uint8_t enc_aes_len;
    uint8_t enc_len;
    uint32_t enc_off;
};

struct ota_verify_params {
    const struct ota_crypto *crypto;     /* required */
    const struct ota_pubkey *keys;       /* trusted signing keys */
    size_t n_keys;
    const uint8_t *hw_id;                /* NULL: do not check hardware id */
    size_t hw_id_len;
    uint32_t min_security_counter;       /* anti-rollback floor (0: none) */
    uint32_t max_total_size;             /* slot size; 0: no limit */
    uint8_t *buf;                        /* optional scratch for hashing */
    size_t buf_len;                      /* (faster with a few KiB) */
    /* An encrypted image checked by a party without its key (the update
     * server holds only ciphertext): the SHA-256 TLV covers the plaintext,
     * so it cannot be recomputed; with this set the signature is checked
     * over the TLV's value instead. OTA_OK then means only that a trusted
     * key signed an image with that hash; the device, which decrypts,
     * checks the hash itself. Ignored for images that are not encrypted. */
    uint8_t enc_hash_unchecked;
};

/* Decode the 32-byte header (little-endian). No checks beyond decoding. */
void ota_image_header_decode(const uint8_t raw[OTA_IMAGE_HEADER_SIZE],
                             struct ota_image_header *hdr);
void ota_image_header_encode(const struct ota_image_header *hdr,
                             uint8_t raw[OTA_IMAGE_HEADER_SIZE]);

/*
 * Parse the structure of an image: header bounds, both TLV areas, every TLV
 * length, duplicates, placement rules. Fills info (without checking hash or
 * signature). Reads through r; r->size may exceed the image (a slot).
 */
ota_err ota_image_parse(const struct ota_reader *r, struct ota_image_info *info,
                        struct ota_diag *diag);

/*
 * Full verification: parse, then hash the signed region through the reader,
 * compare with the SHA-256 TLV, find the trusted key, verify the ECDSA
 * signature, then apply policy (hardware id, security counter, size). Stack
 * use is bounded (~0.5 KiB + the backend's); no malloc.
 */
ota_err ota_image_verify(const struct ota_reader *r,
                         const struct ota_verify_params *p,
                         struct ota_image_info *info, struct ota_diag *diag);

/* Format "1.2.3+4" into buf (>= 24 bytes recommended). Returns buf. */
char *ota_image_version_str(const struct ota_image_version *v, char *buf, size_t len);

/* Compare versions (major, minor, revision, build): <0, 0, >0. */
int ota_image_version_cmp(const struct ota_image_version *a,
                          const struct ota_image_version *b);

#ifdef __cplusplus
}
#endif
#endif
