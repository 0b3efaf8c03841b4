// SPDX-License-Identifier: Apache-2.0
/*
 * ota/image_build.h - build (sign) an MCUboot-compatible image on the host.
 *
 * Why it exists: the `ota sign` command, the server's tests, the simulator
 * and the end-to-end tests all need to produce signed images, byte for byte
 * what MCUboot's imgtool produces for the same inputs (everything but the
 * ECDSA signature, which is randomised). Layout and rules:
 * docs/image-format.md.
 *
 * Host only (allocates; signs through OpenSSL).
 */
#ifndef OTA_IMAGE_BUILD_H
#define OTA_IMAGE_BUILD_H

#include <stddef.h>
#include <stdint.h>
#include "ota/error.h"
#include "ota/host.h"
#include "ota/image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* MCUboot image trailer (written by --pad), imgtool defaults. */
#define OTA_TRAILER_MAGIC_SIZE 16u
#define OTA_TRAILER_DEFAULT_MAX_SECTORS 128u
#define OTA_TRAILER_DEFAULT_MAX_ALIGN 8u
#define OTA_TRAILER_DEFAULT_ALIGN 1u

struct ota_build_params {
    const ota_key *key;            /* signing key; NULL: hash-only (unsigned) image */
    struct ota_image_version version;
    uint16_t header_size;          /* 0: 32 (OTA_IMAGE_HEADER_SIZE); else >= 32 */
    uint32_t load_addr;            /* non-zero: RAM load address (sets F_RAM_LOAD) */
    uint32_t rom_fixed;            /* non-zero: ROM_FIXED flag, written as load addr */
    uint32_t extra_flags;          /* OR-ed into the header flags (e.g. F_NON_BOOTABLE) */
    uint8_t has_security_counter;
    uint32_t security_counter;
    const uint8_t *hw_id;          /* NULL/0: no hardware id TLV */
    size_t hw_id_len;              /* 1..OTA_HW_ID_MAX */
    uint8_t has_link_slot;         /* write the LINK_SLOT TLV (0xa1, ota/image_slot.h) */
    uint8_t link_slot;             /* 0: linked for slot A, 1: for slot B */
    /* Padding to a slot (imgtool --slot-size/--pad/--confirm). */
    uint32_t slot_size;            /* 0: no slot; else the image + trailer must fit */
    uint8_t pad;                   /* pad to slot_size and write the trailer magic */
    uint8_t confirm;               /* also set image_ok (implies pad) */
    uint8_t overwrite_only;        /* trailer layout for overwrite-only upgrades */
    uint8_t erased_val;            /* 0xff (default when erased_val_set == 0) or 0 */
    uint8_t erased_val_set;
    uint32_t align;                /* flash write size 1,2,4,8,16,32 (0: 1) */
    uint32_t max_align;            /* 0: max(8, align) */
    uint32_t max_sectors;          /* 0: 128 */
    uint8_t pubkey_full;           /* embed the SPKI (PUBKEY 0x02) instead of its
                                    * hash (KEYHASH 0x01): imgtool
                                    * --public-key-format full */
    /* Encryption (imgtool sign --encrypt, docs/encrypted-images.md): the
     * device's P-256 public key, or NULL for a clear image. The payload is
     * zero-padded to a multiple of 16 (as imgtool does), hashed and signed
     * in clear, then its body is AES-CTR encrypted under a fresh random key
     * sent in an ENC_EC256 TLV (0x32) to that device key. */
    const ota_key *enc_key;
    uint16_t enc_aes_bits;         /* 128 (0 means 128) or 256 */
};

/*
 * Build a signed image around payload. On success *out is a malloc'ed buffer
 * of *out_len bytes (caller frees). On failure returns OTA_ERR_USAGE (bad
 * parameter), OTA_ERR_IMAGE_TOO_LARGE (does not fit the slot or the 32-bit
 * fields), OTA_ERR_KEY_FORMAT (key has no private part), ..., and writes the
 * reason into err.
 */
ota_err ota_image_build(const struct ota_build_params *p, const uint8_t *payload,
                        size_t payload_len, uint8_t **out, size_t *out_len,
                        char *err, size_t errlen);

/*
 * Decrypt an encrypted image in memory (its body, in place) with the device
 * key, after checking its structure: on success img holds the plaintext
 * image, which verifies like any other (the hash and signature cover the
 * plaintext). OTA_ERR_IMAGE_ENC_KEY when the key TLV does not open with
 * dev_key; structure errors of ota_image_parse. diag as in the core.
 */
ota_err ota_image_decrypt(uint8_t *img, size_t len, const ota_key *dev_key,
                          struct ota_diag *diag);

/* Size of the MCUboot trailer imgtool reserves for these parameters (0 on
 * bad alignment). */
uint32_t ota_image_trailer_size(const struct ota_build_params *p);

/* The 16-byte boot magic for a max_align (8: the classic magic). */
void ota_image_boot_magic(uint32_t max_align, uint8_t out[OTA_TRAILER_MAGIC_SIZE]);

/*
 * Parse "MAJOR[.MINOR[.REVISION]][+BUILD]" like imgtool (decimal; major and
 * minor 0..255, revision 0..65535, build 0..4294967295). Returns OTA_OK or
 * OTA_ERR_VERSION_FORMAT.
 */
ota_err ota_image_version_parse(const char *s, struct ota_image_version *v);

/* imgtool's --security-counter auto: (major << 24) + (minor << 16) + revision. */
uint32_t ota_image_version_security_counter(const struct ota_image_version *v);

#ifdef __cplusplus
}
#endif
#endif
