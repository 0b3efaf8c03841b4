// SPDX-License-Identifier: Apache-2.0
/*
 * error.c - text for every ota_err code.
 *
 * One table so that the device core, the tools, the server and the agent all
 * say the same thing for the same failure. Portable: no stdio.
 */
#include "ota/error.h"

struct err_text {
    ota_err code;
    const char *name;
    const char *text;
};

static const struct err_text ERRORS[] = {
    {OTA_OK, "OTA_OK", "success"},
    {OTA_ERR_INVALID_ARG, "OTA_ERR_INVALID_ARG", "invalid argument"},
    {OTA_ERR_IO, "OTA_ERR_IO", "I/O error"},
    {OTA_ERR_NO_MEMORY, "OTA_ERR_NO_MEMORY", "out of memory"},
    {OTA_ERR_TOO_LARGE, "OTA_ERR_TOO_LARGE", "input too large"},
    {OTA_ERR_INTERNAL, "OTA_ERR_INTERNAL", "internal error"},
    {OTA_ERR_UNSUPPORTED, "OTA_ERR_UNSUPPORTED", "unsupported feature"},
    {OTA_ERR_CRYPTO, "OTA_ERR_CRYPTO", "crypto backend failure"},
    {OTA_ERR_NOT_CHECKED, "OTA_ERR_NOT_CHECKED", "not examined"},

    {OTA_ERR_IMAGE_TRUNCATED, "OTA_ERR_IMAGE_TRUNCATED", "image truncated"},
    {OTA_ERR_IMAGE_BAD_MAGIC, "OTA_ERR_IMAGE_BAD_MAGIC", "image header magic invalid"},
    {OTA_ERR_IMAGE_BAD_HEADER, "OTA_ERR_IMAGE_BAD_HEADER", "image header field out of bounds"},
    {OTA_ERR_IMAGE_TLV_BAD_MAGIC, "OTA_ERR_IMAGE_TLV_BAD_MAGIC", "TLV area magic invalid"},
    {OTA_ERR_IMAGE_TLV_MALFORMED, "OTA_ERR_IMAGE_TLV_MALFORMED", "TLV area malformed"},
    {OTA_ERR_IMAGE_TLV_DUPLICATE, "OTA_ERR_IMAGE_TLV_DUPLICATE", "duplicate TLV"},
    {OTA_ERR_IMAGE_TLV_MISSING, "OTA_ERR_IMAGE_TLV_MISSING", "required TLV missing"},
    {OTA_ERR_IMAGE_TLV_UNPROTECTED, "OTA_ERR_IMAGE_TLV_UNPROTECTED", "TLV must be in the protected area"},
    {OTA_ERR_IMAGE_HASH_MISMATCH, "OTA_ERR_IMAGE_HASH_MISMATCH", "image hash mismatch"},
    {OTA_ERR_IMAGE_SIG_INVALID, "OTA_ERR_IMAGE_SIG_INVALID", "image signature invalid"},
    {OTA_ERR_IMAGE_SIG_MALFORMED, "OTA_ERR_IMAGE_SIG_MALFORMED", "image signature malformed"},
    {OTA_ERR_IMAGE_UNKNOWN_KEY, "OTA_ERR_IMAGE_UNKNOWN_KEY", "image signed by an unknown key"},
    {OTA_ERR_IMAGE_HW_MISMATCH, "OTA_ERR_IMAGE_HW_MISMATCH", "image hardware id mismatch"},
    {OTA_ERR_IMAGE_ROLLBACK, "OTA_ERR_IMAGE_ROLLBACK", "image security counter below anti-rollback counter"},
    {OTA_ERR_IMAGE_TOO_LARGE, "OTA_ERR_IMAGE_TOO_LARGE", "image larger than its slot"},
    {OTA_ERR_IMAGE_TRAILING_DATA, "OTA_ERR_IMAGE_TRAILING_DATA", "unexpected data after image"},
    {OTA_ERR_IMAGE_ENC_KEY, "OTA_ERR_IMAGE_ENC_KEY", "image encryption key TLV does not open with this device key"},
    {OTA_ERR_IMAGE_ENC_NO_KEY, "OTA_ERR_IMAGE_ENC_NO_KEY", "image is encrypted and no device encryption key is configured"},

    {OTA_ERR_KEY_FORMAT, "OTA_ERR_KEY_FORMAT", "key is not an ECDSA P-256 key"},
    {OTA_ERR_FILE, "OTA_ERR_FILE", "file error"},
    {OTA_ERR_USAGE, "OTA_ERR_USAGE", "bad usage"},
    {OTA_ERR_VERSION_FORMAT, "OTA_ERR_VERSION_FORMAT", "version is not MAJOR.MINOR.REVISION[+BUILD]"},

    {OTA_ERR_FLASH_BOUNDS, "OTA_ERR_FLASH_BOUNDS", "flash access out of bounds"},
    {OTA_ERR_FLASH_ALIGN, "OTA_ERR_FLASH_ALIGN", "flash access misaligned"},
    {OTA_ERR_FLASH_NOT_ERASED, "OTA_ERR_FLASH_NOT_ERASED", "flash program of a non-erased location"},
    {OTA_ERR_POWER_LOSS, "OTA_ERR_POWER_LOSS", "power lost"},
    {OTA_ERR_BOOT_STATE_CORRUPT, "OTA_ERR_BOOT_STATE_CORRUPT", "boot state corrupt"},
    {OTA_ERR_BOOT_NO_VALID_SLOT, "OTA_ERR_BOOT_NO_VALID_SLOT", "no valid slot to boot"},
    {OTA_ERR_BOOT_ROM_HASH, "OTA_ERR_BOOT_ROM_HASH", "bootloader hash does not match OTP"},
    {OTA_ERR_OTP, "OTA_ERR_OTP", "OTP area invalid"},
    {OTA_ERR_BOOT_LAYOUT, "OTA_ERR_BOOT_LAYOUT", "flash layout does not fit the geometry"},
    {OTA_ERR_BOOT_NOT_ON_TRIAL, "OTA_ERR_BOOT_NOT_ON_TRIAL", "slot is neither on trial nor confirmed"},
    {OTA_ERR_OTP_FULL, "OTA_ERR_OTP_FULL", "OTP counter area exhausted"},
    {OTA_ERR_FLASH_PROTECTED, "OTA_ERR_FLASH_PROTECTED", "erase of a protected (OTP) sector"},
    {OTA_ERR_FLASH_VERIFY, "OTA_ERR_FLASH_VERIFY",
     "flash read back differs from what was written (worn or failing flash)"},

    {OTA_ERR_DELTA_BAD_MAGIC, "OTA_ERR_DELTA_BAD_MAGIC", "delta patch magic invalid"},
    {OTA_ERR_DELTA_VERSION, "OTA_ERR_DELTA_VERSION", "delta patch version unsupported"},
    {OTA_ERR_DELTA_BASE_MISMATCH, "OTA_ERR_DELTA_BASE_MISMATCH", "delta base image hash mismatch"},
    {OTA_ERR_DELTA_RESULT_MISMATCH, "OTA_ERR_DELTA_RESULT_MISMATCH", "delta result hash mismatch"},
    {OTA_ERR_DELTA_CORRUPT, "OTA_ERR_DELTA_CORRUPT", "delta patch corrupt"},
    {OTA_ERR_DELTA_TRUNCATED, "OTA_ERR_DELTA_TRUNCATED", "delta patch truncated"},

    {OTA_ERR_MANIFEST_MALFORMED, "OTA_ERR_MANIFEST_MALFORMED", "manifest malformed"},
    {OTA_ERR_MANIFEST_SIG_INVALID, "OTA_ERR_MANIFEST_SIG_INVALID", "manifest signature invalid"},
    {OTA_ERR_MANIFEST_WRONG_DEVICE, "OTA_ERR_MANIFEST_WRONG_DEVICE", "manifest addressed to another device"},
    {OTA_ERR_MANIFEST_EXPIRED, "OTA_ERR_MANIFEST_EXPIRED", "manifest expired"},
    {OTA_ERR_MANIFEST_VERSION, "OTA_ERR_MANIFEST_VERSION", "manifest version unsupported"},
    {OTA_ERR_UPDATE_PAYLOAD_SIZE, "OTA_ERR_UPDATE_PAYLOAD_SIZE", "payload size differs from manifest"},
    {OTA_ERR_UPDATE_PAYLOAD_HASH, "OTA_ERR_UPDATE_PAYLOAD_HASH", "payload digest differs from manifest"},
    {OTA_ERR_UPDATE_STATE, "OTA_ERR_UPDATE_STATE", "update step out of order"},
    {OTA_ERR_MANIFEST_STALE, "OTA_ERR_MANIFEST_STALE", "offer not newer than one already accepted (replayed or revoked)"},
    {OTA_ERR_MANIFEST_DOWNGRADE, "OTA_ERR_MANIFEST_DOWNGRADE", "offer would not upgrade and is not marked as a downgrade"},

    {OTA_ERR_NET, "OTA_ERR_NET", "network error"},
    {OTA_ERR_HTTP, "OTA_ERR_HTTP", "unexpected HTTP status"},
    {OTA_ERR_TLS, "OTA_ERR_TLS", "TLS error"},
    {OTA_ERR_PIN_MISMATCH, "OTA_ERR_PIN_MISMATCH", "server public key does not match pin"},
    {OTA_ERR_PROTOCOL, "OTA_ERR_PROTOCOL", "protocol error"},
    {OTA_ERR_CONFIG, "OTA_ERR_CONFIG", "invalid configuration"},
    {OTA_ERR_DB, "OTA_ERR_DB", "database error"},
    {OTA_ERR_UNTRUSTED_ORIGIN, "OTA_ERR_UNTRUSTED_ORIGIN", "payload URL on an origin not allowed to receive the device token"},
    {OTA_ERR_BOOTENV, "OTA_ERR_BOOTENV", "bootloader environment (GRUB/U-Boot) could not be read or written"},
};

static const struct err_text *lookup(ota_err err)
{
    for (unsigned i = 0; i < sizeof(ERRORS) / sizeof(ERRORS[0]); i++) {
        if (ERRORS[i].code == err)
            return &ERRORS[i];
    }
    return 0;
}

const char *ota_strerror(ota_err err)
{
    const struct err_text *e = lookup(err);
    return e ? e->text : "unknown error";
}

const char *ota_errname(ota_err err)
{
    const struct err_text *e = lookup(err);
    return e ? e->name : "OTA_ERR_UNKNOWN";
}
