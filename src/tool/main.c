// SPDX-License-Identifier: Apache-2.0
/*
 * src/tool/main.c - entry point of `ota`, the image tool: global options
 * (--help, --version) and dispatch to one function per subcommand.
 *
 * The command list lives in commands.h; each command is implemented in its
 * own cmd_<name>.c and receives argv starting at the command name.
 */
#include <stdio.h>
#include <string.h>

#include "ota/version.h"
#include "tool.h"

#ifndef OTA_VERSION_STRING
#define OTA_VERSION_STRING "unknown"
#endif

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command COMMANDS[] = {
#define OTA_COMMAND(name, summary) {#name, ota_cmd_##name, summary},
#include "commands.h"
#undef OTA_COMMAND
};

static void usage(FILE *f)
{
    size_t i;
    fprintf(f, "Usage: ota <command> [options] [args]\n"
               "       ota <command> --help\n"
               "       ota --version\n\n"
               "Build, sign, inspect and verify MCUboot-compatible firmware images.\n\n"
               "Commands:\n");
    for (i = 0; i < sizeof(COMMANDS) / sizeof(COMMANDS[0]); i++)
        fprintf(f, "  %-8s  %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(f, "\nExamples:\n"
               "  ota keygen -o key.pem\n"
               "  ota pubkey key.pem --format c > boot_pub_key.c\n"
               "  ota sign --key key.pem --version 1.2.3+4 app.bin app.signed.bin\n"
               "  ota verify --key key.pem app.signed.bin\n"
               "  ota inspect --json app.signed.bin\n\n");
    ota_exit_codes_print(f, OTA_PROG_OTA);
    fprintf(f, "\nDocumentation: docs/tool.md, image format: docs/image-format.md\n");
}

int main(int argc, char **argv)
{
    size_t i;
    if (argc < 2) {
        usage(stderr);
        return OTA_EXIT_USAGE;
    }
    if (tool_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        if (argc > 2 && strcmp(argv[1], "help") == 0) {
            /* `ota help sign` == `ota sign --help` */
            for (i = 0; i < sizeof(COMMANDS) / sizeof(COMMANDS[0]); i++)
                if (strcmp(argv[2], COMMANDS[i].name) == 0) {
                    char *sub[] = {argv[2], (char *)"--help", NULL};
                    return COMMANDS[i].run(2, sub);
                }
        }
        usage(stdout);
        return OTA_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("ota %s\n", OTA_VERSION);
        return OTA_EXIT_OK;
    }
    for (i = 0; i < sizeof(COMMANDS) / sizeof(COMMANDS[0]); i++)
        if (strcmp(argv[1], COMMANDS[i].name) == 0)
            return COMMANDS[i].run(argc - 1, argv + 1);
    fprintf(stderr, "ota: unknown command '%s' (see 'ota --help')\n", argv[1]);
    return OTA_EXIT_USAGE;
}
