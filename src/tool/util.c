/*
 * src/tool/util.c - helpers shared by the `ota` commands: exit-code mapping,
 * error messages that name the file, field and offset, number and hardware
 * id parsing.
 */
#include "tool.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ota/host.h"

const char ota_exit_codes_help[] =
    "Exit codes:\n"
    "   0  success (verify: the image is valid and trusted)\n"
    "   1  internal or unexpected error\n"
    "   2  bad command line (unknown option, missing argument, bad value)\n"
    "   3  a file could not be read or written\n"
    "   4  key unusable (not ECDSA P-256 PEM/DER, or no private part to sign)\n"
    "   5  image structure invalid (magic, header field, TLV area, duplicate TLV)\n"
    "   6  image truncated (ends before a region its header or TLVs declare)\n"
    "   7  required TLV missing (SHA-256, signature, or key hash)\n"
    "   8  hash mismatch (header, payload or protected TLVs were altered)\n"
    "   9  signature invalid or malformed\n"
    "  10  signed by a key that is not trusted (no --key matches)\n"
    "  11  hardware id differs from --hw-id\n"
    "  12  security counter below --min-security-counter (rollback)\n"
    "  13  image larger than the slot\n"
    "  14  unsupported feature (e.g. an RSA or X25519 encrypted image)\n"
    "  16  encrypted image: no --enc-key given, or its key TLV does not open with it\n";

int tool_exit_code(ota_err e)
{
    switch (e) {
    case OTA_OK:
        return OTA_EXIT_OK;
    case OTA_ERR_USAGE:
    case OTA_ERR_VERSION_FORMAT:
        return OTA_EXIT_USAGE;
    case OTA_ERR_FILE:
    case OTA_ERR_IO:
        return OTA_EXIT_FILE;
    case OTA_ERR_KEY_FORMAT:
        return OTA_EXIT_KEY;
    case OTA_ERR_IMAGE_BAD_MAGIC:
    case OTA_ERR_IMAGE_BAD_HEADER:
    case OTA_ERR_IMAGE_TLV_BAD_MAGIC:
    case OTA_ERR_IMAGE_TLV_MALFORMED:
    case OTA_ERR_IMAGE_TLV_DUPLICATE:
    case OTA_ERR_IMAGE_TLV_UNPROTECTED:
    case OTA_ERR_IMAGE_TRAILING_DATA:
        return OTA_EXIT_MALFORMED;
    case OTA_ERR_IMAGE_TRUNCATED:
        return OTA_EXIT_TRUNCATED;
    case OTA_ERR_IMAGE_TLV_MISSING:
        return OTA_EXIT_TLV_MISSING;
    case OTA_ERR_IMAGE_HASH_MISMATCH:
        return OTA_EXIT_HASH;
    case OTA_ERR_IMAGE_SIG_INVALID:
    case OTA_ERR_IMAGE_SIG_MALFORMED:
        return OTA_EXIT_SIGNATURE;
    case OTA_ERR_IMAGE_UNKNOWN_KEY:
        return OTA_EXIT_UNKNOWN_KEY;
    case OTA_ERR_IMAGE_HW_MISMATCH:
        return OTA_EXIT_HW_ID;
    case OTA_ERR_IMAGE_ROLLBACK:
        return OTA_EXIT_ROLLBACK;
    case OTA_ERR_IMAGE_TOO_LARGE:
    case OTA_ERR_TOO_LARGE:
        return OTA_EXIT_TOO_LARGE;
    case OTA_ERR_UNSUPPORTED:
        return OTA_EXIT_UNSUPPORTED;
    case OTA_ERR_IMAGE_ENC_KEY:
    case OTA_ERR_IMAGE_ENC_NO_KEY:
        return OTA_EXIT_ENC_KEY;
    default:
        return OTA_EXIT_ERROR;
    }
}

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
    fprintf(stderr, "ota %s: %s: %s (%s)", cmd, file, ota_strerror(e), ota_errname(e));
    if (d && d->field) {
        fprintf(stderr, ": %s at offset %lu (0x%lx)", d->field, (unsigned long)d->offset,
                (unsigned long)d->offset);
        if (d->has_values)
            fprintf(stderr, ": expected %lu (0x%lx), found %lu (0x%lx)",
                    (unsigned long)d->expected, (unsigned long)d->expected,
                    (unsigned long)d->found, (unsigned long)d->found);
    }
    fputc('\n', stderr);
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

int tool_parse_hw_id(const char *s, uint8_t out[OTA_HW_ID_MAX])
{
    size_t n;
    if (!s)
        return -1;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        int r = ota_hex_decode(s + 2, out, OTA_HW_ID_MAX);
        return r > 0 ? r : -1;
    }
    n = strlen(s);
    if (n == 0 || n > OTA_HW_ID_MAX)
        return -1;
    memcpy(out, s, n);
    return (int)n;
}

void tool_format_hw_id(const uint8_t *id, size_t len, char *out, size_t outlen)
{
    size_t i;
    int printable = len > 0;
    for (i = 0; i < len; i++)
        if (id[i] < 0x20 || id[i] > 0x7e)
            printable = 0;
    if (printable && len < outlen) {
        memcpy(out, id, len);
        out[len] = '\0';
        return;
    }
    if (outlen < 2 * len + 3) {
        if (outlen)
            out[0] = '\0';
        return;
    }
    out[0] = '0';
    out[1] = 'x';
    ota_hex_encode(id, len, out + 2);
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
