// SPDX-License-Identifier: Apache-2.0
/*
 * src/host/errmsg.h - the one way host helpers (image_build.c, key.c) write a
 * failure message into a caller's `char *err, size_t errlen` buffer. Private
 * to the ota_host library.
 */
#ifndef OTA_HOST_ERRMSG_H
#define OTA_HOST_ERRMSG_H

#include <stddef.h>

/* printf into err (if err is non-NULL and errlen > 0), truncating to fit. */
void ota_host_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
