// SPDX-License-Identifier: Apache-2.0
/*
 * ota/error.h - the one error enum of ota, shared by the device core, the
 * bootloader, the tools, the server and the agent.
 *
 * Every failing call returns one of these codes; ota_strerror() gives the
 * human text. Where a caller needs more (which field, which offset, what was
 * expected and found) the call also fills a struct ota_diag.
 *
 * Codes are grouped by the component that first needed them. Append new codes
 * at the end of a group; never renumber (numbers appear in logs, device
 * reports and exit paths).
 */
#ifndef OTA_ERROR_H
#define OTA_ERROR_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ota_err {
    OTA_OK = 0,

    /* generic: 1..19 */
    OTA_ERR_INVALID_ARG = 1,   /* a caller passed a NULL or out-of-range argument */
    OTA_ERR_IO = 2,            /* a read/write callback failed */
    OTA_ERR_NO_MEMORY = 3,     /* host side only: allocation failed */
    OTA_ERR_TOO_LARGE = 4,     /* input larger than the buffer or area that must hold it */
    OTA_ERR_INTERNAL = 5,      /* a bug in ota: please report */
    OTA_ERR_UNSUPPORTED = 6,   /* valid input using a feature this build lacks */
    OTA_ERR_CRYPTO = 7,        /* crypto backend failed (not: signature invalid) */
    OTA_ERR_NOT_CHECKED = 8,   /* not examined (e.g. a slot the bootloader did not need to verify) */

    /* image format and verification: 20..59 */
    OTA_ERR_IMAGE_TRUNCATED = 20,       /* image ends before a region it declares */
    OTA_ERR_IMAGE_BAD_MAGIC = 21,       /* header magic is not 0x96f3b83d */
    OTA_ERR_IMAGE_BAD_HEADER = 22,      /* header field out of bounds (hdr size, flags, ...) */
    OTA_ERR_IMAGE_TLV_BAD_MAGIC = 23,   /* TLV info magic is not 0x6907/0x6908 */
    OTA_ERR_IMAGE_TLV_MALFORMED = 24,   /* TLV lengths overflow, overlap or do not add up */
    OTA_ERR_IMAGE_TLV_DUPLICATE = 25,   /* the same TLV appears twice */
    OTA_ERR_IMAGE_TLV_MISSING = 26,     /* a required TLV (hash, signature, key) is absent */
    OTA_ERR_IMAGE_TLV_UNPROTECTED = 27, /* a TLV that must be signed is in the unprotected area */
    OTA_ERR_IMAGE_HASH_MISMATCH = 28,   /* SHA-256 of the image differs from the hash TLV */
    OTA_ERR_IMAGE_SIG_INVALID = 29,     /* ECDSA signature does not verify */
    OTA_ERR_IMAGE_SIG_MALFORMED = 30,   /* signature is not a strict DER ECDSA-Sig-Value */
    OTA_ERR_IMAGE_UNKNOWN_KEY = 31,     /* image names a key that is not trusted */
    OTA_ERR_IMAGE_HW_MISMATCH = 32,     /* hardware id differs from this device's */
    OTA_ERR_IMAGE_ROLLBACK = 33,        /* security counter below the anti-rollback counter */
    OTA_ERR_IMAGE_TOO_LARGE = 34,       /* image larger than its slot */
    OTA_ERR_IMAGE_TRAILING_DATA = 35,   /* unexpected bytes after the TLV area */
    OTA_ERR_IMAGE_ENC_KEY = 36,         /* encrypted image: key TLV does not open with this device key */
    OTA_ERR_IMAGE_ENC_NO_KEY = 37,      /* encrypted image, but no device encryption key is configured */

    /* keys and files (host tools): 60..79 */
    OTA_ERR_KEY_FORMAT = 60,    /* key file is not an ECDSA P-256 key in PEM/DER */
    OTA_ERR_FILE = 61,          /* a file could not be opened, read or written */
    OTA_ERR_USAGE = 62,         /* bad command line */
    OTA_ERR_VERSION_FORMAT = 63,/* version string is not MAJOR.MINOR.REV[+BUILD] */

    /* flash and boot: 80..119 */
    OTA_ERR_FLASH_BOUNDS = 80,      /* flash access outside the device */
    OTA_ERR_FLASH_ALIGN = 81,       /* flash access not aligned to the geometry */
    OTA_ERR_FLASH_NOT_ERASED = 82,  /* program of a location that is not erased */
    OTA_ERR_POWER_LOSS = 83,        /* simulator: power was cut during this call */
    OTA_ERR_BOOT_STATE_CORRUPT = 84,/* no valid copy of the boot state */
    OTA_ERR_BOOT_NO_VALID_SLOT = 85,/* nothing bootable: recovery */
    OTA_ERR_BOOT_ROM_HASH = 86,     /* stage 0: bootloader region does not match OTP hash */
    OTA_ERR_OTP = 87,               /* OTP area unreadable or inconsistent */
    OTA_ERR_BOOT_LAYOUT = 88,       /* flash layout does not fit the geometry */
    OTA_ERR_BOOT_NOT_ON_TRIAL = 89, /* confirm: the slot is neither on trial nor confirmed */
    OTA_ERR_OTP_FULL = 90,          /* OTP counter area has no unburned record left */
    OTA_ERR_FLASH_PROTECTED = 91,   /* erase of a sector that may never be erased (OTP) */
    OTA_ERR_FLASH_VERIFY = 92,      /* flash read back differs from what was written (worn cells) */

    /* delta: 120..149 */
    OTA_ERR_DELTA_BAD_MAGIC = 120,    /* patch does not start with the delta magic */
    OTA_ERR_DELTA_VERSION = 121,      /* patch format version not supported */
    OTA_ERR_DELTA_BASE_MISMATCH = 122,/* old image hash differs from the patch's base hash */
    OTA_ERR_DELTA_RESULT_MISMATCH = 123,/* result hash differs from the patch's target hash */
    OTA_ERR_DELTA_CORRUPT = 124,      /* patch stream malformed (bad length, out of range) */
    OTA_ERR_DELTA_TRUNCATED = 125,    /* patch ends early */

    /* manifest and update engine: 150..189 */
    OTA_ERR_MANIFEST_MALFORMED = 150, /* manifest bytes do not parse */
    OTA_ERR_MANIFEST_SIG_INVALID = 151,/* manifest not signed by the trusted server key */
    OTA_ERR_MANIFEST_WRONG_DEVICE = 152,/* manifest is addressed to another device */
    OTA_ERR_MANIFEST_EXPIRED = 153,   /* manifest expiry is in the past */
    OTA_ERR_MANIFEST_VERSION = 154,   /* manifest format version not supported */
    OTA_ERR_UPDATE_PAYLOAD_SIZE = 155,/* more (or fewer) payload bytes than the manifest says */
    OTA_ERR_UPDATE_PAYLOAD_HASH = 156,/* payload digest differs from the manifest */
    OTA_ERR_UPDATE_STATE = 157,       /* call out of order (e.g. write before begin) */
    OTA_ERR_MANIFEST_STALE = 158,     /* offer_seq not newer than one already accepted: replayed or revoked offer */
    OTA_ERR_MANIFEST_DOWNGRADE = 159, /* target version not above the running one and no downgrade flag */

    /* network, server, agent: 190..229 */
    OTA_ERR_NET = 190,           /* connection failed, reset or timed out */
    OTA_ERR_HTTP = 191,          /* server answered with an unexpected HTTP status */
    OTA_ERR_TLS = 192,           /* TLS handshake or certificate check failed */
    OTA_ERR_PIN_MISMATCH = 193,  /* server public key differs from the pinned one */
    OTA_ERR_PROTOCOL = 194,      /* server answer does not follow the API */
    OTA_ERR_CONFIG = 195,        /* configuration file or option invalid */
    OTA_ERR_DB = 196,            /* database error */
    OTA_ERR_UNTRUSTED_ORIGIN = 197, /* payload URL on an origin not allowed to receive the device token */
    OTA_ERR_BOOTENV = 198,       /* bootloader environment (GRUB/U-Boot) could not be read or written */
} ota_err;

/* Short, stable text for a code ("image hash mismatch"). Never NULL. */
const char *ota_strerror(ota_err err);

/* Stable identifier for a code ("OTA_ERR_IMAGE_HASH_MISMATCH"). Never NULL. */
const char *ota_errname(ota_err err);

/*
 * Where and why a call failed. Filled on failure by calls that take one
 * (may be NULL). `field` names what was checked (a static string); offset is
 * the byte offset in the input it was found at; expected/found are the values
 * compared when that makes sense (has_values says so).
 */
struct ota_diag {
    const char *field;
    uint32_t offset;
    uint32_t expected;
    uint32_t found;
    uint8_t has_values;
};

#ifdef __cplusplus
}
#endif
#endif
