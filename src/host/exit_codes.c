// SPDX-License-Identifier: Apache-2.0
/*
 * src/host/exit_codes.c - the meaning of every exit code of exit_codes.h in
 * words, and which programs return it, so each program's --help prints its
 * part of the one table (docs/exit-codes.md lists all of it), and the one
 * mapping from an ota_err to the image/file exit codes.
 */
#include "exit_codes.h"

struct exit_row {
    int code;
    unsigned programs; /* OTA_PROG_* */
    const char *meaning;
};

#define ALL                                                                             \
    (OTA_PROG_OTA | OTA_PROG_SERVER | OTA_PROG_AGENT | OTA_PROG_SIM | OTA_PROG_MCU_FLASH |  \
     OTA_PROG_FLEET)
#define IMG (OTA_PROG_OTA | OTA_PROG_SIM | OTA_PROG_AGENT) /* agent: --provision */

static const struct exit_row ROWS[] = {
    {OTA_EXIT_OK, ALL, "success (ota verify: the image is valid and trusted)"},
    {OTA_EXIT_ERROR, ALL, "refused or failed, reason on stderr; internal error"},
    {OTA_EXIT_USAGE, ALL, "bad command line (unknown option, missing argument, bad value)"},
    {OTA_EXIT_FILE, ALL, "a file (flash, key, image, state) could not be read or written"},
    {OTA_EXIT_KEY,
     OTA_PROG_OTA | OTA_PROG_SIM | OTA_PROG_MCU_FLASH | OTA_PROG_SERVER | OTA_PROG_FLEET,
     "key unusable (not ECDSA P-256 PEM/DER, or no private part to sign)"},
    {OTA_EXIT_MALFORMED, IMG, "image structure invalid (magic, header field, TLV area, duplicate TLV)"},
    {OTA_EXIT_TRUNCATED, IMG, "image truncated (ends before a region its header or TLVs declare)"},
    {OTA_EXIT_TLV_MISSING, IMG, "required TLV missing (SHA-256, signature, or key hash)"},
    {OTA_EXIT_HASH, IMG, "hash mismatch (header, payload or protected TLVs were altered)"},
    {OTA_EXIT_SIGNATURE, IMG, "signature invalid or malformed"},
    {OTA_EXIT_UNKNOWN_KEY, IMG, "signed by a key that is not trusted"},
    {OTA_EXIT_HW_ID, IMG, "hardware id differs (ota verify --hw-id, the device's id)"},
    {OTA_EXIT_ROLLBACK, IMG, "security counter below the floor (rollback)"},
    {OTA_EXIT_TOO_LARGE, IMG, "image larger than the slot"},
    {OTA_EXIT_UNSUPPORTED, IMG, "unsupported feature (e.g. an RSA or X25519 encrypted image)"},
    {OTA_EXIT_CONFIG, OTA_PROG_AGENT | OTA_PROG_SERVER | OTA_PROG_SIM | OTA_PROG_FLEET,
     "configuration invalid (config file or option value)"},
    {OTA_EXIT_ENC_KEY, IMG,
     "encrypted image: no device key given, or its key TLV does not open with it"},
    {OTA_EXIT_AGENT_REBOOT, OTA_PROG_AGENT,
     "an update is installed: reboot to run it"},
    {OTA_EXIT_AGENT_TRIAL_FAILED, OTA_PROG_AGENT,
     "the trial image failed its self-test"},
    {OTA_EXIT_AGENT_POWER_LOST, OTA_PROG_AGENT,
     "the (simulated) flash lost power"},
    {OTA_EXIT_AGENT_UNAUTHORIZED, OTA_PROG_AGENT, "--once: the server answered 401/403"},
    {OTA_EXIT_AGENT_HW_MISMATCH, OTA_PROG_AGENT,
     "--once: the server answered 409 (hardware id mismatch)"},
    {OTA_EXIT_AGENT_UNREACHABLE, OTA_PROG_AGENT,
     "--once: server unreachable (DNS, connect, timeout)"},
    {OTA_EXIT_AGENT_TLS, OTA_PROG_AGENT, "--once: certificate or public-key pin refused"},
    {OTA_EXIT_SERVER_LISTEN, OTA_PROG_SERVER, "listen address unusable or port in use"},
    {OTA_EXIT_SERVER_DATABASE, OTA_PROG_SERVER, "database cannot be opened or migrated"},
    {OTA_EXIT_SIM_RECOVERY, OTA_PROG_SIM,
     "boot: no verifiable image to run, the device stays in recovery"},
};

void ota_exit_codes_print(FILE *f, unsigned program)
{
    size_t i;
    fputs("Exit codes:\n", f);
    for (i = 0; i < sizeof ROWS / sizeof ROWS[0]; i++)
        if (ROWS[i].programs & program)
            fprintf(f, "  %2d  %s\n", ROWS[i].code, ROWS[i].meaning);
    fputs("  (one table for every ota program: docs/exit-codes.md)\n", f);
}

int ota_exit_code(ota_err e)
{
    switch (e) {
    case OTA_OK:
        return OTA_EXIT_OK;
    case OTA_ERR_USAGE:
    case OTA_ERR_VERSION_FORMAT:
        return OTA_EXIT_USAGE;
    case OTA_ERR_FILE:
    case OTA_ERR_IO:
        return OTA_EXIT_FILE;
    case OTA_ERR_KEY_FORMAT:
        return OTA_EXIT_KEY;
    case OTA_ERR_IMAGE_BAD_MAGIC:
    case OTA_ERR_IMAGE_BAD_HEADER:
    case OTA_ERR_IMAGE_TLV_BAD_MAGIC:
    case OTA_ERR_IMAGE_TLV_MALFORMED:
    case OTA_ERR_IMAGE_TLV_DUPLICATE:
    case OTA_ERR_IMAGE_TLV_UNPROTECTED:
    case OTA_ERR_IMAGE_TRAILING_DATA:
        return OTA_EXIT_MALFORMED;
    case OTA_ERR_IMAGE_TRUNCATED:
        return OTA_EXIT_TRUNCATED;
    case OTA_ERR_IMAGE_TLV_MISSING:
        return OTA_EXIT_TLV_MISSING;
    case OTA_ERR_IMAGE_HASH_MISMATCH:
        return OTA_EXIT_HASH;
    case OTA_ERR_IMAGE_SIG_INVALID:
    case OTA_ERR_IMAGE_SIG_MALFORMED:
        return OTA_EXIT_SIGNATURE;
    case OTA_ERR_IMAGE_UNKNOWN_KEY:
        return OTA_EXIT_UNKNOWN_KEY;
    case OTA_ERR_IMAGE_HW_MISMATCH:
        return OTA_EXIT_HW_ID;
    case OTA_ERR_IMAGE_ROLLBACK:
        return OTA_EXIT_ROLLBACK;
    case OTA_ERR_IMAGE_TOO_LARGE:
    case OTA_ERR_TOO_LARGE:
        return OTA_EXIT_TOO_LARGE;
    case OTA_ERR_UNSUPPORTED:
        return OTA_EXIT_UNSUPPORTED;
    case OTA_ERR_IMAGE_ENC_KEY:
    case OTA_ERR_IMAGE_ENC_NO_KEY:
        return OTA_EXIT_ENC_KEY;
    default:
        return OTA_EXIT_ERROR;
    }
}
