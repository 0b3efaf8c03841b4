// SPDX-License-Identifier: Apache-2.0
/*
 * src/host/base64.c - ota_base64_decode(): strict standard base64 (padding
 * required, nothing else accepted) through OpenSSL, for the manifests and
 * no-offer statements that arrive base64-encoded in check-in answers
 * (ota-agent, ota-fleet).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ota/host.h"

int ota_base64_decode(const char *in, uint8_t *out, size_t cap, size_t *len)
{
    size_t n = strlen(in), pad;
    unsigned char *tmp;
    int r;
    if (n == 0 || n % 4 || n > INT_MAX || n / 4 * 3 > cap + 2)
        return -1;
    tmp = malloc(n / 4 * 3 + 1);
    if (!tmp)
        return -1;
    r = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)n);
    pad = (size_t)(in[n - 1] == '=') + (size_t)(in[n - 2] == '=');
    if (r < 0 || (size_t)r < pad || (size_t)r - pad > cap) {
        free(tmp);
        return -1;
    }
    *len = (size_t)r - pad;
    memcpy(out, tmp, *len);
    free(tmp);
    return 0;
}
