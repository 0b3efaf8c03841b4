// SPDX-License-Identifier: Apache-2.0
/*
 * src/host/errmsg.c - formatting of host helpers' error messages into a
 * caller's buffer (see errmsg.h), shared so every helper truncates and
 * tolerates a NULL buffer the same way.
 */
#include "errmsg.h"

#include <stdarg.h>
#include <stdio.h>

void ota_host_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}
