// SPDX-License-Identifier: Apache-2.0
/*
 * console.h - the web console's files, embedded into ota-server at build
 * time (cmake/EmbedConsole.cmake generates console_assets[] from
 * src/server/console/), and the handler that serves them at / and
 * /console/... (console.c, docs/console.md).
 */
#ifndef OTA_SERVER_CONSOLE_H
#define OTA_SERVER_CONSOLE_H

#include <stddef.h>

struct console_asset {
    const char *path;         /* "/console/app.js" */
    const char *content_type;
    const unsigned char *data;
    size_t len;
    const char *etag;         /* quoted, from the file's SHA-256 */
};
/* Terminated by an entry whose path is NULL. */
extern const struct console_asset console_assets[];

#endif
