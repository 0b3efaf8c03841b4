// SPDX-License-Identifier: Apache-2.0
/*
 * config.h - the ota-server configuration file (/etc/ota/server.conf or
 * --config FILE): `key = value` lines whose keys are the long command-line
 * options. This module only splits the file into entries; main.c applies
 * them with the same code as the command line.
 */
#ifndef OTA_SERVER_CONFIG_H
#define OTA_SERVER_CONFIG_H

#include <stddef.h>

struct config_entry {
    const char *key;   /* "listen", "trusted-key", ... (no leading dashes) */
    const char *value; /* the rest of the line after '=', blanks trimmed */
    unsigned line;     /* 1-based line number, for "file:line:" messages */
};

struct config_file {
    char *text;        /* the file's contents, entries point into it */
    struct config_entry *entries;
    size_t n;
};

/* Reads path. Blank lines and lines whose first non-blank character is '#'
 * are skipped; every other line must be `key = value` (the value may be
 * empty and may contain '#' and '='; it is taken literally, no quoting).
 * On failure returns 0 with "path:line: reason" (or "path: reason") in err. */
int config_file_load(const char *path, struct config_file *cf, char *err, size_t errlen);
void config_file_free(struct config_file *cf);

#endif
