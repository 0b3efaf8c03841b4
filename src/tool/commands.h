// SPDX-License-Identifier: Apache-2.0
/*
 * src/tool/commands.h - the `ota` command table (an X-macro list).
 *
 * Why it exists: one place lists every subcommand. tool.h expands it into
 * prototypes and main.c into the dispatch table, so adding a command is one
 * OTA_COMMAND line here plus its src/tool/cmd_<name>.c (globbed by CMake)
 * defining `int ota_cmd_<name>(int argc, char **argv)`.
 */
OTA_COMMAND(keygen, "generate an ECDSA P-256 signing key")
OTA_COMMAND(pubkey, "print a key's public part (PEM, C array for the bootloader, hash)")
OTA_COMMAND(sign, "wrap a firmware binary into a signed image")
OTA_COMMAND(verify, "check an image's structure, hash, signature and policy")
OTA_COMMAND(inspect, "show an image's header, TLVs, hash and trailer")
OTA_COMMAND(delta, "create, apply or inspect a delta patch between two images")
OTA_COMMAND(smp, "talk to a device's SMP (MCUmgr) server: upload, state, test, confirm, reset")
