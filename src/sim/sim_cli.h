/*
 * src/sim/sim_cli.h - shared pieces of the ota-sim command line: exit codes,
 * opening/saving a simulated device file, slot names, error printing.
 */
#ifndef OTA_SIM_CLI_H
#define OTA_SIM_CLI_H

#include <stdio.h>

#include "ota/boot.h"
#include "ota/sim.h"

/* Exit codes (documented in `ota-sim --help` and docs/boot.md). */
#define SIM_EXIT_OK 0       /* success */
#define SIM_EXIT_FAIL 1     /* the operation was refused or failed; reason on stderr */
#define SIM_EXIT_USAGE 2    /* bad command line */
#define SIM_EXIT_RECOVERY 3 /* boot: nothing verifiable to run, device in recovery */
#define SIM_EXIT_FILE 4     /* a file (flash, key, image) cannot be read or written */

extern const char sim_exit_codes_help[];

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
/* Attach the boot device (crypto backend from $OTA_SIM_CRYPTO, default openssl). */
void sim_device_attach(struct sim_device *d);

const char *sim_slot_name(int slot); /* "A", "B", or "none" */
int sim_is_help(const char *arg);
/* "ota-sim CMD: what: ERRNAME: text (field at offset N: expected X, found Y)" */
void sim_print_err(const char *cmd, const char *what, int err, const struct ota_diag *d);

#endif
