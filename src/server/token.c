// SPDX-License-Identifier: Apache-2.0
/*
 * token.c - bearer tokens of ota-server: 256 random bits from the kernel
 * CSPRNG, printed as "<prefix>_<hex>". Only SHA-256(token) is ever stored.
 */
#include <string.h>
#include <sys/random.h>

#include "server.h"

int token_new(const char *prefix, char out[TOKEN_STR_MAX], uint8_t hash[OTA_SHA256_LEN])
{
    uint8_t rnd[32];
    size_t got = 0, plen = strlen(prefix);
    if (plen + 1 + 64 + 1 > TOKEN_STR_MAX)
        return 0;
    while (got < sizeof(rnd)) {
        ssize_t n = getrandom(rnd + got, sizeof(rnd) - got, 0);
        if (n <= 0)
            return 0;
        got += (size_t)n;
    }
    memcpy(out, prefix, plen);
    out[plen] = '_';
    ota_hex_encode(rnd, sizeof(rnd), out + plen + 1);
    token_hash(out, hash);
    return 1;
}

void token_hash(const char *token, uint8_t hash[OTA_SHA256_LEN])
{
    ota_sha256(ota_crypto_openssl(), token, strlen(token), hash);
}
