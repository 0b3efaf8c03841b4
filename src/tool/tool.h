// SPDX-License-Identifier: Apache-2.0
/*
 * src/tool/tool.h - shared declarations of the `ota` command-line tool:
 * exit codes, command prototypes, and the small helpers every command uses
 * (option parsing of numbers, error printing, mapping ota_err to exit codes).
 */
#ifndef OTA_TOOL_H
#define OTA_TOOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ota/error.h"
#include "ota/image.h"

#include "exit_codes.h" /* enum ota_exit: shared by every program */

/* Command entry points (one file per command: cmd_<name>.c). */
#define OTA_COMMAND(name, summary) int ota_cmd_##name(int argc, char **argv);
#include "commands.h"
#undef OTA_COMMAND

/* "ota <cmd>: <message>\n" on stderr. */
void tool_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print a diag-rich failure: "ota <cmd>: <file>: " and ota_err_diag_str()'s
 * "<strerror> (<ERRNAME>): <field> at offset N: expected .., found ..". */
void tool_error_diag(const char *cmd, const char *file, ota_err e,
                     const struct ota_diag *d);

/* Parse an unsigned number (decimal, 0x hex, optional K/M suffix when
 * allow_suffix) into *out, refusing overflow past max. 0 on success. */
int tool_parse_u32(const char *s, uint32_t max, int allow_suffix, uint32_t *out);

/* Does argv[i] ask for help? */
int tool_is_help(const char *arg);

/* --backend NAME: the crypto backend called "openssl" or "mbedtls"; on any
 * other name prints "ota CMD: unknown --backend ..." and returns NULL. */
const struct ota_crypto *tool_parse_backend(const char *cmd, const char *name);

#endif
