// SPDX-License-Identifier: Apache-2.0
/*
 * src/host/exit_codes.h - the one table of process exit codes shared by every
 * ota program (ota, ota-server, ota-agent, ota-sim, ota-mcu-flash, ota-fleet), so that a
 * number means the same thing whichever program returns it. Documented in
 * docs/exit-codes.md and each program's --help; never renumber.
 *
 *   0..4    common to all programs
 *   5..14   image / delta verification (ota verify, inspect, delta; ota-sim install)
 *   15      configuration invalid (config file or option value)
 *   16      image verification, continued: encrypted image key
 *   20..29  ota-agent
 *   30..39  ota-server
 *   40..49  ota-sim
 */
#ifndef OTA_HOST_EXIT_CODES_H
#define OTA_HOST_EXIT_CODES_H

#include <stdio.h>

#include "ota/error.h"

enum ota_exit {
    OTA_EXIT_OK = 0,          /* success (for verify: the image is valid) */
    OTA_EXIT_ERROR = 1,       /* refused or failed, reason on stderr; internal error */
    OTA_EXIT_USAGE = 2,       /* bad command line */
    OTA_EXIT_FILE = 3,        /* a file could not be read or written */
    OTA_EXIT_KEY = 4,         /* key file unusable (format, curve, no private part) */

    OTA_EXIT_MALFORMED = 5,   /* image structure invalid (magic, header, TLV areas) */
    OTA_EXIT_TRUNCATED = 6,   /* image ends before a region it declares */
    OTA_EXIT_TLV_MISSING = 7, /* required TLV (hash, signature, key) absent */
    OTA_EXIT_HASH = 8,        /* SHA-256 mismatch: header, payload or protected TLVs altered */
    OTA_EXIT_SIGNATURE = 9,   /* signature invalid or malformed */
    OTA_EXIT_UNKNOWN_KEY = 10,/* signed by a key that is not trusted */
    OTA_EXIT_HW_ID = 11,      /* hardware id differs */
    OTA_EXIT_ROLLBACK = 12,   /* security counter below the floor */
    OTA_EXIT_TOO_LARGE = 13,  /* image does not fit the slot */
    OTA_EXIT_UNSUPPORTED = 14,/* valid but uses a feature this build does not support */

    OTA_EXIT_CONFIG = 15,     /* configuration invalid (config file or option value) */
    OTA_EXIT_ENC_KEY = 16,    /* encrypted image: no device key given, or its key TLV
                               * does not open with it (tampered or another device's) */

    OTA_EXIT_AGENT_REBOOT = 20,       /* an update is installed: reboot to run it */
    OTA_EXIT_AGENT_TRIAL_FAILED = 21, /* the trial image failed its self-test */
    OTA_EXIT_AGENT_POWER_LOST = 22,   /* simulated power cut (ota-sim run) */
    OTA_EXIT_AGENT_UNAUTHORIZED = 23, /* --once: server answered 401/403 */
    OTA_EXIT_AGENT_HW_MISMATCH = 24,  /* --once: server answered 409 (hardware id) */
    OTA_EXIT_AGENT_UNREACHABLE = 25,  /* --once: server unreachable (DNS, connect, timeout) */
    OTA_EXIT_AGENT_TLS = 26,          /* --once: certificate or public-key pin refused */

    OTA_EXIT_SERVER_LISTEN = 30,      /* listen address unusable or port in use */
    OTA_EXIT_SERVER_DATABASE = 31,    /* database cannot be opened or migrated */

    OTA_EXIT_SIM_RECOVERY = 40,       /* boot: nothing verifiable to run, device in recovery */
};

/* The programs, for ota_exit_codes_print(). */
enum ota_program {
    OTA_PROG_OTA = 1u << 0,
    OTA_PROG_SERVER = 1u << 1,
    OTA_PROG_AGENT = 1u << 2,
    OTA_PROG_SIM = 1u << 3,
    OTA_PROG_MCU_FLASH = 1u << 4,
    OTA_PROG_FLEET = 1u << 5,
};

/* The --help block: the codes `program` (an OTA_PROG_*) can return, with
 * their meaning (src/host/exit_codes.c). */
void ota_exit_codes_print(FILE *f, unsigned program);

/* The exit code for an ota_err from image, key or file handling: 0, 2..14,
 * or OTA_EXIT_ERROR for anything else. */
int ota_exit_code(ota_err e);

#endif
