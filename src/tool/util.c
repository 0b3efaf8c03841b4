// SPDX-License-Identifier: Apache-2.0
/*
 * src/tool/util.c - helpers shared by the `ota` commands: error messages
 * that name the file, field and offset, number parsing.
 */
#include "tool.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ota/host.h"

void tool_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "ota %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void tool_error_diag(const char *cmd, const char *file, ota_err e,
                     const struct ota_diag *d)
{
    char line[OTA_DIAG_STR_MAX + 128];
    fprintf(stderr, "ota %s: %s: %s\n", cmd, file, ota_err_diag_str(e, d, line, sizeof line));
}

int tool_parse_u32(const char *s, uint32_t max, int allow_suffix, uint32_t *out)
{
    char *end;
    unsigned long long v;
    if (!s || !*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno || end == s)
        return -1;
    if (allow_suffix && (*end == 'K' || *end == 'k')) {
        v *= 1024ull;
        end++;
    } else if (allow_suffix && (*end == 'M' || *end == 'm')) {
        v *= 1024ull * 1024ull;
        end++;
    }
    if (*end != '\0' || v > max)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

const struct ota_crypto *tool_parse_backend(const char *cmd, const char *name)
{
    if (!strcmp(name, "openssl"))
        return ota_crypto_openssl();
    if (!strcmp(name, "mbedtls"))
        return ota_crypto_mbedtls();
    tool_error(cmd, "unknown --backend '%s' (openssl or mbedtls)", name);
    return NULL;
}

int tool_is_help(const char *arg)
{
    return arg && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0);
}
