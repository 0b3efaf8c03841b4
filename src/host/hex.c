// SPDX-License-Identifier: Apache-2.0
/*
 * src/host/hex.c - lowercase hex encoding and strict hex decoding.
 *
 * Why it exists: hashes, key hashes and hardware ids are shown to and typed
 * by people (tool output, server API, config files) as hex.
 */
#include "ota/host.h"

void ota_hex_encode(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int ota_hex_decode(const char *in, uint8_t *out, size_t max)
{
    size_t n = 0;
    if (!in)
        return -1;
    while (in[0] != '\0') {
        int hi, lo;
        if (in[1] == '\0')
            return -1; /* odd length */
        hi = nibble(in[0]);
        lo = nibble(in[1]);
        if (hi < 0 || lo < 0 || n >= max || n >= (size_t)0x7fffffff)
            return -1;
        out[n++] = (uint8_t)(hi << 4 | lo);
        in += 2;
    }
    return (int)n;
}
