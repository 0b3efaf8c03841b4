// SPDX-License-Identifier: Apache-2.0
/*
 * src/sim/main.c - entry point of `ota-sim`, the device simulator: global
 * options and dispatch to one sim_cmd_<name>() per subcommand (commands.h).
 */
#include <stdio.h>
#include <string.h>

#include "ota/version.h"
#include "sim_cli.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command COMMANDS[] = {
#define SIM_COMMAND(name, summary) {#name, sim_cmd_##name, summary},
#include "commands.h"
#undef SIM_COMMAND
};
#define N_COMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

static void usage(FILE *f)
{
    size_t i;
    fprintf(f, "Usage: ota-sim <command> FLASH [options] [args]\n"
               "       ota-sim <command> --help\n"
               "       ota-sim --version\n\n"
               "Simulate a device with A/B slots on NOR flash: install, boot, confirm, and\n"
               "inspect it. FLASH is the device's flash file (made by 'ota-sim create').\n\n"
               "Commands:\n");
    for (i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-8s  %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(f, "\nExample:\n"
               "  ota keygen -o key.pem && ota pubkey key.pem > pub.pem\n"
               "  ota sign --key key.pem --version 1.0.0 --security-counter 1 app.bin v1.img\n"
               "  ota-sim create dev.flash --key pub.pem\n"
               "  ota-sim install dev.flash v1.img && ota-sim boot dev.flash\n"
               "  ota-sim confirm dev.flash && ota-sim status dev.flash --json\n\n");
    ota_exit_codes_print(f, OTA_PROG_SIM);
    fprintf(f, "\nEnvironment: OTA_SIM_CRYPTO=openssl|mbedtls selects the crypto backend.\n"
               "Documentation: docs/boot.md\n");
}

int main(int argc, char **argv)
{
    size_t i;
    if (argc < 2) {
        usage(stderr);
        return OTA_EXIT_USAGE;
    }
    if (sim_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        if (argc > 2 && strcmp(argv[1], "help") == 0)
            for (i = 0; i < N_COMMANDS; i++)
                if (strcmp(argv[2], COMMANDS[i].name) == 0) {
                    char *sub[] = {argv[2], (char *)"--help", NULL};
                    return COMMANDS[i].run(2, sub);
                }
        usage(stdout);
        return OTA_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("ota-sim %s\n", OTA_VERSION);
        return OTA_EXIT_OK;
    }
    for (i = 0; i < N_COMMANDS; i++)
        if (strcmp(argv[1], COMMANDS[i].name) == 0)
            return COMMANDS[i].run(argc - 1, argv + 1);
    fprintf(stderr, "ota-sim: unknown command '%s' (see 'ota-sim --help')\n", argv[1]);
    return OTA_EXIT_USAGE;
}
