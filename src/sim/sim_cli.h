// SPDX-License-Identifier: Apache-2.0
/*
 * src/sim/sim_cli.h - shared pieces of the ota-sim command line: exit codes,
 * opening/saving a simulated device file, slot names, error printing.
 */
#ifndef OTA_SIM_CLI_H
#define OTA_SIM_CLI_H

#include <stdio.h>

#include "ota/boot.h"
#include "ota/sim.h"

/* Exit codes: the shared table (OTA_EXIT_*, docs/exit-codes.md). */
#include "exit_codes.h"

#define SIM_COMMAND(name, summary) int sim_cmd_##name(int argc, char **argv);
#include "commands.h"
#undef SIM_COMMAND

/* A simulated device loaded from its flash file. */
struct sim_device {
    struct ota_sim sim;
    struct ota_boot_dev dev;
    struct ota_boot_config cfg;
    int cfg_ok;              /* the bootloader config block decoded */
    const char *path;
    unsigned char buf[4096]; /* hashing scratch */
};

/* Load the flash file; prints the reason and returns an exit code on error. */
int sim_device_open(struct sim_device *d, const char *path);
/* Save it back (atomically); prints the reason on error. */
int sim_device_save(struct sim_device *d);
void sim_device_close(struct sim_device *d);
/* Allocate and load a device (*out is NULL on error); returns 0 or the exit
 * code (reason printed). Pair with sim_device_free(). */
int sim_device_new(struct sim_device **out, const char *path);
/* Close and free what sim_device_new() returned. */
void sim_device_free(struct sim_device *d);
/* Save the device; returns the save's exit code when it failed, else rc. */
int sim_device_save_rc(struct sim_device *d, int rc);
/* Attach the boot device (crypto backend from $OTA_SIM_CRYPTO, default openssl). */
void sim_device_attach(struct sim_device *d);
/* The encryption port of the same backend as the device's crypto. */
const struct ota_crypto_enc *sim_device_enc_crypto(const struct sim_device *d);

/*
 * The simulated device's image decryption key (ota-sim create --enc-key):
 * a PEM file next to the flash file, FLASH.enc-key.pem (mode 0600). It
 * stands for the protected key storage of a real device: outside the flash
 * image, readable only by the update engine. sim_enc_key_path() writes the
 * path (0, or -1 when too long); sim_device_enc_key() loads the key into
 * *out and returns 1, returns 0 when the device has none, or prints why and
 * returns -OTA_EXIT_FILE.
 */
int sim_enc_key_path(const char *flash_path, char *out, size_t cap);
struct ota_enc_privkey;
int sim_device_enc_key(const struct sim_device *d, struct ota_enc_privkey *out);

/* --power-cut N [--torn] [--seed S]: cut power inside this command. */
struct sim_cut_opts {
    long long at;            /* operation index, -1: no cut */
    int torn;
    unsigned long long seed;
};
#define SIM_CUT_LONG_OPTIONS                                                   \
    {"power-cut", required_argument, 0, 'C'}, {"torn", no_argument, 0, 'T'}, \
        {"seed", required_argument, 0, 'S'}
#define SIM_CUT_HELP                                                           \
    "  --power-cut N   cut power before flash operation N (0-based) of this command\n" \
    "  --torn          ...in the middle of operation N instead (partial write/erase)\n" \
    "  --seed S        randomness of the torn operation (default 1)\n"
void sim_cut_init(struct sim_cut_opts *o);
/* Handles option codes 'C', 'T', 'S'. Returns 1 if handled, 0 if not a cut
 * option, -1 on a bad value (message printed). */
int sim_cut_option(struct sim_cut_opts *o, int c, const char *arg, const char *cmd);
/* After option parsing: OTA_EXIT_USAGE when --torn/--seed come without
 * --power-cut, else 0. */
int sim_cut_check(const struct sim_cut_opts *o, const char *cmd);
void sim_cut_arm(struct sim_device *d, const struct sim_cut_opts *o);
/* After the command's flash work: returns 1 and reports when the cut
 * happened (the device lost power: nothing runs any more), 0 otherwise
 * (with a note when a cut was asked for but the command did fewer ops).
 * Powers the device on again either way. */
int sim_cut_finish(struct sim_device *d, const struct sim_cut_opts *o, const char *cmd);

const char *sim_slot_name(int slot); /* "A", "B", or "none" */
/* The slot the image in `slot` is linked for (its LINK_SLOT TLV, per-slot
 * builds): 0, 1, or OTA_LINK_SLOT_ANY (-1) when it has none or does not
 * parse. The simulator refuses to start an image linked for the other slot,
 * as the Cortex-M port refuses a ROM_FIXED image at another address. */
int sim_link_slot(struct sim_device *d, int slot);
int sim_is_help(const char *arg);
/* "ota-sim CMD: what: ERRNAME: text (field at offset N: expected X, found Y)" */
void sim_print_err(const char *cmd, const char *what, int err, const struct ota_diag *d);

#endif
